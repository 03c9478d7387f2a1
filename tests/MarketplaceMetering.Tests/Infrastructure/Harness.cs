using Azure.Core;
using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;

namespace MarketplaceMetering.Tests;

/// <summary>
/// An emulator on loopback and a client pointed at it, sharing one test clock (a FakeTimeProvider). Retries wait no time by default
/// (<c>Retry.Delay = 0</c>), so tests about delays set their own and move the clock.
/// </summary>
internal sealed class Harness : IAsyncDisposable
{
    private Harness(MeteringEmulator emulator, MeteringClient client, TestClock clock)
    {
        Emulator = emulator;
        Client = client;
        Clock = clock;
    }

    public MeteringEmulator Emulator { get; }

    public MeteringClient Client { get; }

    public TestClock Clock { get; }

    public static async Task<Harness> StartAsync(
        Action<MeteringEmulatorOptions>? emulator = null,
        Action<MeteringClientOptions>? client = null,
        Func<MeteringEmulator, TokenCredential>? credential = null,
        TestClock? clock = null)
    {
        clock ??= new TestClock();
        var emulatorOptions = new MeteringEmulatorOptions { TimeProvider = clock, Seed = 42 };
        emulator?.Invoke(emulatorOptions);
        var started = await MeteringEmulator.StartAsync(emulatorOptions);

        var options = new MeteringClientOptions { Endpoint = started.Endpoint, TimeProvider = clock };
        options.Retry.Delay = TimeSpan.Zero;
        client?.Invoke(options);
        var meteringClient = new MeteringClient(credential?.Invoke(started) ?? started.Credential, options);
        return new Harness(started, meteringClient, clock);
    }

    public UsageEvent HourAgo(decimal quantity = 5m, Guid? resource = null, string dimension = TestEvents.Dimension, string plan = TestEvents.Plan) =>
        TestEvents.HourAgo(Clock, quantity, resource, dimension, plan);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Emulator.DisposeAsync();
    }
}
