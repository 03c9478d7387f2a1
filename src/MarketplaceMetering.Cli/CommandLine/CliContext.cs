namespace MarketplaceMetering.Cli.CommandLine;

/// <summary>What a run of the tool reads and writes: the console streams, the environment and the clock; tests substitute each.</summary>
internal sealed record CliContext
{
    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    /// <summary>Reads an environment variable.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Whether standard output goes to a file or pipe: no colours, no progress bar.</summary>
    public bool IsOutputRedirected { get; init; } = Console.IsOutputRedirected;

    /// <summary>
    /// <see langword="true"/> to treat standard output as an interactive colour terminal (the live progress bar, drawn
    /// in place), <see langword="null"/> to let Spectre.Console detect it. Redirected output and NO_COLOR switch colours
    /// off either way.
    /// </summary>
    public bool? ColorTerminal { get; init; }

    /// <summary>Whether Ctrl+C and SIGTERM cancel the command (off in tests, which cancel through a token).</summary>
    public bool HandleSignals { get; init; } = true;

    /// <summary>Width of tables when output is redirected (a console reports its own).</summary>
    public int RedirectedWidth { get; init; } = 200;

    /// <summary>
    /// The handler the client sends through (a test's, around the network); <see langword="null"/>, as in a real run:
    /// the client's own TLS-enforcing connection pool.
    /// </summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>
    /// Told the number of events <c>batch</c> has read from its file and not yet seen answered, each time it changes
    /// (tests check that it stays bounded, whatever the file's length); <see langword="null"/> in a real run.
    /// </summary>
    public Action<int>? PendingEventsObserved { get; init; }

    /// <summary>
    /// Where <c>batch</c> copies a file that cannot be read twice (a pipe); <see langword="null"/>, as in a real run:
    /// the user's temporary folder (TMPDIR).
    /// </summary>
    public string? TemporaryFolder { get; init; }

    public static CliContext ForConsole() => new() { Out = Console.Out, Error = Console.Error };
}
