using System.Diagnostics;
using System.IO.Compression;
using System.Text;

namespace MarketplaceMetering.Tests.Packaging;

/// <summary>
/// Packs the two shipping projects once for <see cref="PackageTests"/>, the way CI does (<c>CI=true dotnet pack -c
/// Release</c>), as child processes. Everything goes into one folder of its own (build output and intermediate files
/// through <c>--artifacts-path</c>), so packing neither reuses stale Release output of the work tree nor touches the
/// Debug build that the test run itself uses.
/// </summary>
public sealed class PackedPackages : IAsyncLifetime
{
    /// <summary>The projects packed, by package id.</summary>
    public static readonly IReadOnlyDictionary<string, string> Projects = new Dictionary<string, string>
    {
        ["MarketplaceMetering"] = "src/MarketplaceMetering/MarketplaceMetering.csproj",
        ["MarketplaceMetering.Emulator"] = "src/MarketplaceMetering.Emulator/MarketplaceMetering.Emulator.csproj",
        ["MarketplaceMetering.Accumulation"] = "src/MarketplaceMetering.Accumulation/MarketplaceMetering.Accumulation.csproj",
        ["MarketplaceMetering.Accumulation.PostgreSql"] = "src/MarketplaceMetering.Accumulation.PostgreSql/MarketplaceMetering.Accumulation.PostgreSql.csproj",
    };

    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(5);

    // Under the test's own bin folder: inside the repository (so a CI build maps its paths to /_/ like any other) and
    // ignored by git. Short, for Windows paths.
    private readonly string _root = Path.Combine(AppContext.BaseDirectory, "pack-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Where the .nupkg and .snupkg files are.</summary>
    public string OutputDirectory => Path.Combine(_root, "packages");

    /// <summary>Opens <c>{id}.0.1.0.{extension}</c>.</summary>
    public ZipArchive Open(string id, string extension) =>
        ZipFile.OpenRead(Path.Combine(OutputDirectory, $"{id}.{PackageTests.Version}.{extension}"));

    public async Task InitializeAsync()
    {
        foreach (var project in Projects.Values)
        {
            await RunAsync(Dotnet(), "pack", project, "-c", "Release", "-o", OutputDirectory, "--artifacts-path", Path.Combine(_root, "artifacts"), "-nodeReuse:false");
        }
    }

    public Task DisposeAsync()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }

        return Task.CompletedTask;
    }

    /// <summary>Runs a command in the repository root and returns its standard output; fails on a non-zero exit or after the timeout.</summary>
    public static async Task<string> RunAsync(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = Repository.Root(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test host inherits the MSBuild settings of the `dotnet test` that started it; the child starts its own build.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["CI"] = "true";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start " + fileName);
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(PackTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {PackTimeout}:\n{Text(output)}");
        }

        process.WaitForExit(); // flushes the redirected output
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{Text(output)}");
        }

        return Text(output);
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    private static string Text(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    /// <summary>The dotnet host running this SDK (set by the CLI for its children), else the one on PATH.</summary>
    private static string Dotnet() => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
}
