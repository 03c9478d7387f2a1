namespace MarketplaceMetering.Cli.CommandLine;

/// <summary>A failure the tool explains in one line and ends with <see cref="ExitCode"/>.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.BadInput) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
