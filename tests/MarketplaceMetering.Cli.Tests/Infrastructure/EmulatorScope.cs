using System.Globalization;
using System.Text;
using MarketplaceMetering.Emulator;

namespace MarketplaceMetering.Cli.Tests;

/// <summary>An emulator on loopback (real clock, as the tool uses) and the arguments that point the tool at it.</summary>
internal sealed class EmulatorScope : IAsyncDisposable
{
    public const string Token = "cli-test-token-0001";

    private EmulatorScope(MeteringEmulator emulator, string directory)
    {
        Emulator = emulator;
        Directory = directory;
    }

    public MeteringEmulator Emulator { get; }

    /// <summary>A folder for this test's input files, deleted at the end.</summary>
    public string Directory { get; }

    public static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    /// <summary>The start of the previous hour: inside the 24-hour window, never in the future.</summary>
    public static DateTimeOffset LastHour
    {
        get
        {
            var now = Now;
            return new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero).AddHours(-1);
        }
    }

    public static async Task<EmulatorScope> StartAsync(Action<MeteringEmulatorOptions>? configure = null)
    {
        var options = new MeteringEmulatorOptions { Token = Token, Seed = 7 };
        configure?.Invoke(options);
        var emulator = await MeteringEmulator.StartAsync(options);
        var directory = Path.Combine(Path.GetTempPath(), "metering-cli-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(directory);
        return new EmulatorScope(emulator, directory);
    }

    public static Guid Resource(int i) => Guid.Parse(string.Create(CultureInfo.InvariantCulture, $"6f1a2b3c-0000-4000-8000-{i + 1:D12}"));

    /// <summary><paramref name="args"/> followed by --endpoint and --token for this emulator.</summary>
    public string[] Args(params string[] args) => [.. args, "--endpoint", Emulator.Endpoint.ToString(), "--token", Token];

    /// <summary>Writes a file of this test's folder and returns its path.</summary>
    public string File(string name, string content)
    {
        var path = Path.Combine(Directory, name);
        System.IO.File.WriteAllText(path, content, new UTF8Encoding(false));
        return path;
    }

    /// <summary>A CSV of <paramref name="count"/> valid events, each for its own resource, in the last hour.</summary>
    public string Csv(int count, string name = "events.csv", Func<int, decimal>? quantity = null)
    {
        var text = new StringBuilder("resourceId,planId,dimension,quantity,effectiveStartTime\n");
        var hour = LastHour.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        for (var i = 0; i < count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{Resource(i)},plan1,dim1,{quantity?.Invoke(i) ?? i + 1},{hour}\n");
        }

        return File(name, text.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        await Emulator.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
