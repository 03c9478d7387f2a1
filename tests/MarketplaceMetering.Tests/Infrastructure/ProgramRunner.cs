using System.Diagnostics;

namespace MarketplaceMetering.Tests;

/// <summary>Runs one of the repository's programs from its build output, as <c>dotnet run --project</c> runs it.</summary>
internal static class ProgramRunner
{
    /// <summary>Where a project of the repository was built, in the configuration these tests were built in.</summary>
    public static string BuildOutput(params string[] projectFolder)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        return Path.Combine([Repository.Root(), .. projectFolder, "bin", configuration, "net10.0"]);
    }

    /// <summary>Runs <paramref name="dll"/> with <paramref name="arguments"/>; its exit code and everything it wrote (standard output, then standard error).</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string dll, string[] arguments, TimeSpan timeout, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo("dotnet", [dll, .. arguments])
        {
            WorkingDirectory = Path.GetTempPath(), // appsettings.json must be found next to the program, not in the working directory
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException(Path.GetFileName(dll) + " did not exit within " + timeout + ": " + await stdout + await stderr);
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
