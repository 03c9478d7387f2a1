using MarketplaceMetering.Cli.CommandLine;

namespace MarketplaceMetering.Cli.Tests;

/// <summary>What one run of the tool did.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error)
{
    /// <summary>Standard error's lines, without blank ones.</summary>
    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {ExitCode}\n--- out ---\n{Out}\n--- error ---\n{Error}";
}

/// <summary>Runs the tool in process, as its Main does, with captured output, a given environment and output redirected (no colours, no progress bar).</summary>
internal static class CliRunner
{
    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(args, environment: null);

    public static async Task<CliResult> RunAsync(string[] args, IReadOnlyDictionary<string, string>? environment, TextWriter? output = null, bool redirected = true, bool? colorTerminal = null, HttpMessageHandler? handler = null, Action<int>? pendingEventsObserved = null, string? temporaryFolder = null, CancellationToken cancellationToken = default)
    {
        var error = new StringWriter();
        var captured = output ?? new StringWriter();
        var context = new CliContext
        {
            Out = captured,
            Error = error,
            Environment = name => environment is not null && environment.TryGetValue(name, out var value) ? value : null,
            IsOutputRedirected = redirected,
            ColorTerminal = colorTerminal,
            HandleSignals = false,
            HttpHandler = handler,
            PendingEventsObserved = pendingEventsObserved,
            TemporaryFolder = temporaryFolder,
        };

        var exitCode = await MeteringCli.RunAsync(args, context, cancellationToken);
        return new CliResult(exitCode, captured.ToString()!, error.ToString());
    }
}
