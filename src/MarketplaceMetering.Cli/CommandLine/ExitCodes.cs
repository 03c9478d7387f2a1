namespace MarketplaceMetering.Cli.CommandLine;

/// <summary>The tool's exit codes (documented in docs/cli.md; scripts depend on them: never renumber).</summary>
internal static class ExitCodes
{
    /// <summary>Everything asked for was done: every event delivered (Accepted, or a replayed Duplicate), the listing printed, no difference found.</summary>
    public const int Success = 0;

    /// <summary>The service could not be used: an unexpected answer, or no answer after the retries.</summary>
    public const int ServiceFailure = 1;

    /// <summary>Bad input: an unknown option, a bad value, a bad line in a file. Nothing was sent.</summary>
    public const int BadInput = 2;

    /// <summary>The service or the identity provider refused the credential (401, 403).</summary>
    public const int Unauthorized = 3;

    /// <summary>Some events were not delivered (rejected, expired, failed); the output lists them.</summary>
    public const int PartialDelivery = 4;

    /// <summary><c>metering reconcile</c> found differences.</summary>
    public const int Differences = 5;

    /// <summary>
    /// Standard output could not be written (a full disk, a device error) after the command's work; standard error says
    /// what was done (such as how many events were delivered).
    /// </summary>
    public const int OutputFailed = 6;

    /// <summary>Stopped by Ctrl+C (or SIGTERM) before the end; the output says what was done.</summary>
    public const int Cancelled = 130;
}
