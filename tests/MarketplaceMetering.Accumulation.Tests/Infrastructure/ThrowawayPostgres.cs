using System.Diagnostics;
using System.Text.RegularExpressions;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// A PostgreSQL cluster of a test's own, started with .ci/postgres.sh, that the test can stop (as a crash would:
/// immediate mode) and start again on the same port and data. Only where the PostgreSQL tests run (MM_POSTGRES set, which
/// means the script's PostgreSQL is installed); skipped otherwise, as they are.
/// </summary>
internal sealed partial class ThrowawayPostgres : IAsyncDisposable
{
    private readonly string _script;
    private readonly string _folder;
    private readonly string _bin;
    private readonly int _port;

    private ThrowawayPostgres(string script, string folder, int port, string connectionString)
    {
        _script = script;
        _folder = folder;
        _port = port;
        _bin = File.ReadAllText(Path.Combine(folder, "bin")).Trim();
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    public static async Task<ThrowawayPostgres> StartAsync()
    {
        _ = PostgresServer.ConnectionString(); // skips (or fails, when required) as every PostgreSQL test does
        var script = FindScript();
        var (output, error) = await RunAsync("bash", script);
        var folder = FolderPattern().Match(error) is { Success: true } match ? match.Groups[1].Value : throw new InvalidOperationException("postgres.sh did not name its folder: " + error);
        var connectionString = output.Trim() + ";Timeout=60;Command Timeout=60";
        var port = int.Parse(PortPattern().Match(connectionString).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        return new ThrowawayPostgres(script, folder, port, connectionString);
    }

    /// <summary>Stops the server at once, as a crash or a kill would (no checkpoint, connections cut).</summary>
    public Task StopAsync() => PgCtlAsync("-D", Path.Combine(_folder, "data"), "-m", "immediate", "-w", "stop");

    /// <summary>Starts the stopped server again on the same port and data (it recovers from its write-ahead log).</summary>
    public Task StartAgainAsync() => PgCtlAsync(
        "-D", Path.Combine(_folder, "data"), "-l", Path.Combine(_folder, "server.log"), "-w", "-t", "60",
        "-o", $"-c listen_addresses=127.0.0.1 -p {_port} -k {_folder} -c max_connections=200", "start");

    public async ValueTask DisposeAsync() => await RunAsync("bash", _script, "stop", _folder);

    private Task PgCtlAsync(params string[] arguments) => Environment.UserName == "root"
        ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, "pg_ctl"), .. arguments])
        : RunAsync(Path.Combine(_bin, "pg_ctl"), arguments);

    private static string FindScript()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var script = Path.Combine(folder.FullName, ".ci", "postgres.sh");
            if (File.Exists(script))
            {
                return script;
            }
        }

        throw new InvalidOperationException(".ci/postgres.sh not found above " + AppContext.BaseDirectory);
    }

    private static async Task<(string Output, string Error)> RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited {process.ExitCode}: {await error}");
        }

        return (await output, await error);
    }

    [GeneratedRegex(@"\(folder ([^)]+)\)")]
    private static partial Regex FolderPattern();

    [GeneratedRegex(@"Port=(\d+)")]
    private static partial Regex PortPattern();
}
