using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// A SQLite ledger in a temp folder, the emulator on loopback, a client, a recorder and a flusher, all on one test
/// clock (a FakeTimeProvider): the recorder's durability interval and the flusher's grace pass only when a test moves
/// the clock. Logs go to a FakeLogCollector.
/// </summary>
internal sealed class AccumulationHarness : IAsyncDisposable
{
    private AccumulationHarness(string folder, TestClock clock, MeteringEmulator emulator, MeteringClient client, UsageAccumulationOptions options, FakeLogCollector logs, ILoggerFactory loggerFactory, UsageLedger? ledger)
    {
        Folder = folder;
        Clock = clock;
        Emulator = emulator;
        Client = client;
        Options = options;
        Logs = logs;
        LoggerFactory = loggerFactory;
        Ledger = ledger ?? new SqliteUsageLedger(Path.Combine(folder, "usage.db"));
        Recorder = new UsageRecorder(Ledger, options);
        Flusher = new UsageFlusher(Ledger, client, options);
    }

    public string Folder { get; }

    public TestClock Clock { get; }

    public MeteringEmulator Emulator { get; }

    public MeteringClient Client { get; }

    public UsageAccumulationOptions Options { get; }

    public FakeLogCollector Logs { get; }

    public ILoggerFactory LoggerFactory { get; }

    public UsageLedger Ledger { get; }

    /// <summary>The SQLite file, when the ledger is the default one.</summary>
    public string SqlitePath => ((SqliteUsageLedger)Ledger).Path;

    public UsageRecorder Recorder { get; }

    public UsageFlusher Flusher { get; }

    /// <summary>A window wide enough to hold every hour a test touches.</summary>
    public DateTimeOffset From => Clock.GetUtcNow().AddDays(-3);

    public DateTimeOffset To => Clock.GetUtcNow().AddDays(3);

    public static async Task<AccumulationHarness> StartAsync(Action<UsageAccumulationOptions>? configure = null, TestClock? clock = null, UsageLedger? ledger = null, Action<MeteringEmulatorOptions>? emulatorOptions = null)
    {
        clock ??= new TestClock();
        var folder = Directory.CreateTempSubdirectory("mm-accumulation-").FullName;
        var serviceOptions = new MeteringEmulatorOptions { TimeProvider = clock, Seed = 7 };
        emulatorOptions?.Invoke(serviceOptions);
        var emulator = await MeteringEmulator.StartAsync(serviceOptions);
        var clientOptions = new MeteringClientOptions { Endpoint = emulator.Endpoint, TimeProvider = clock };
        clientOptions.Retry.Delay = TimeSpan.Zero;
        var client = new MeteringClient(emulator.Credential, clientOptions);
        var logs = new FakeLogCollector();
        var loggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(logs)));
        var options = new UsageAccumulationOptions { TimeProvider = clock, LoggerFactory = loggerFactory, InstanceName = "test" };
        configure?.Invoke(options);
        return new AccumulationHarness(folder, clock, emulator, client, options, logs, loggerFactory, ledger);
    }

    /// <summary>Everything the ledger holds, oldest hour first.</summary>
    public Task<IReadOnlyList<UsageLedgerEntry>> EntriesAsync(UsageLedgerState? state = null) => Ledger.GetEntriesAsync(From, To, state);

    /// <summary>The start of the hour <paramref name="hoursAgo"/> hours before the current one.</summary>
    public DateTimeOffset HourAgo(int hoursAgo)
    {
        var now = Clock.GetUtcNow();
        return new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(-hoursAgo);
    }

    public async ValueTask DisposeAsync()
    {
        await Recorder.DisposeAsync();
        Flusher.Dispose();
        await Ledger.DisposeAsync();
        Client.Dispose();
        await Emulator.DisposeAsync();
        LoggerFactory.Dispose();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A file still open elsewhere; the temp folder is cleaned by the OS.
        }
    }
}
