namespace MarketplaceMetering.Cli.Tests.Packaging;

/// <summary>
/// Packs the tool once per test run (<c>dotnet pack -c Release</c>, build output in a folder of its own) and installs
/// it from that local package into a temporary tool path, as a user does:
/// <c>dotnet tool install --tool-path … --add-source … MarketplaceMetering.Cli</c>.
/// </summary>
public sealed class InstalledTool : IAsyncLifetime
{
    public const string PackageId = "MarketplaceMetering.Cli";
    public const string Version = "0.1.0";

    private readonly string _root = Path.Combine(AppContext.BaseDirectory, "tool-" + Guid.NewGuid().ToString("N")[..8]);

    public string PackageDirectory => Path.Combine(_root, "packages");

    public string ToolDirectory => Path.Combine(_root, "tools");

    /// <summary>The installed <c>metering</c> command.</summary>
    public string Command => Path.Combine(ToolDirectory, OperatingSystem.IsWindows() ? "metering.exe" : "metering");

    public async Task InitializeAsync()
    {
        await Succeed(
            "pack",
            "src/MarketplaceMetering.Cli/MarketplaceMetering.Cli.csproj",
            "-c",
            "Release",
            "-o",
            PackageDirectory,
            "--artifacts-path",
            Path.Combine(_root, "artifacts"),
            "-nodeReuse:false");
        await Succeed("tool", "install", "--tool-path", ToolDirectory, "--add-source", PackageDirectory, "--version", Version, PackageId);
    }

    public Task DisposeAsync()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }

        return Task.CompletedTask;
    }

    private static async Task Succeed(params string[] arguments)
    {
        var run = await ToolProcess.RunAsync(ToolProcess.Dotnet(), arguments);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet {string.Join(' ', arguments)} failed:\n{run}");
        }
    }
}
