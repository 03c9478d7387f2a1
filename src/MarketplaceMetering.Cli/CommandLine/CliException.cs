namespace MarketplaceMetering.Cli.CommandLine;

/// <summary>A failure the tool explains in one line and ends with <see cref="ExitCode"/>.</summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.BadInput) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>
    /// For a file that could not be opened or read (not one whose content is wrong), the reason, one line without the
    /// rest of the message; <see langword="null"/> otherwise.
    /// </summary>
    public string? ReadFailure { get; init; }
}
