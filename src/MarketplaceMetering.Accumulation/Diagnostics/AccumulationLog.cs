using Microsoft.Extensions.Logging;

namespace MarketplaceMetering;

/// <summary>The accumulation layer's log messages (event ids 100 and up; the core client uses 1 to 99).</summary>
internal static partial class AccumulationLog
{
    [LoggerMessage(100, LogLevel.Error, "Writing {Count} usage sums to the ledger failed; they stay in memory and are written with the next commit. Writes have failed since {OutageStart:o}: {Failures} since the previous entry of this kind, which is logged at most once a minute while writes fail (event id 119 follows when a write succeeds again).")]
    public static partial void CommitFailed(ILogger logger, int count, DateTimeOffset outageStart, int failures, Exception exception);

    [LoggerMessage(119, LogLevel.Information, "Writing usage to the ledger succeeded again after failing for {Duration} (since {OutageStart:o}; {Failures} failed writes).")]
    public static partial void CommitRecovered(ILogger logger, TimeSpan duration, DateTimeOffset outageStart, int failures);

    [LoggerMessage(101, LogLevel.Critical, "The recorder stopped with {Count} usage sums it could not write to the ledger: that usage is lost. Each sum is logged with event id 118, to be recorded again by hand.")]
    public static partial void LostOnDispose(ILogger logger, int count, Exception? exception);

    [LoggerMessage(118, LogLevel.Critical, "Usage LOST: {Resource} / {Plan} / {Dimension} for {Hour:o}, quantity {Quantity}, could not be written to the ledger before the recorder stopped. To bill it, record it again for that hour (RecordAsync with at: {Hour:o}) before {Deadline:o}.")]
    public static partial void LostSum(ILogger logger, string resource, string plan, string dimension, DateTimeOffset hour, decimal quantity, DateTimeOffset deadline);

    [LoggerMessage(102, LogLevel.Information, "Usage of {Resource} / {Dimension} for {FromHour:o} arrived after that hour was sent; {Quantity} moved into {IntoHour:o}.")]
    public static partial void CarriedForward(ILogger logger, string resource, string dimension, DateTimeOffset fromHour, DateTimeOffset intoHour, decimal quantity);

    [LoggerMessage(103, LogLevel.Error, "Usage EXPIRED unsent: {Resource} / {Plan} / {Dimension} for {Hour:o}, quantity {Quantity}, passed its deadline {Deadline:o}; it can no longer be billed.")]
    public static partial void Expired(ILogger logger, string resource, string plan, string dimension, DateTimeOffset hour, decimal quantity, DateTimeOffset deadline);

    [LoggerMessage(104, LogLevel.Warning, "Usage not yet delivered is near its deadline: {Resource} / {Plan} / {Dimension} for {Hour:o}, quantity {Quantity}, must be sent before {Deadline:o} ({Detail}).")]
    public static partial void NearDeadline(ILogger logger, string resource, string plan, string dimension, DateTimeOffset hour, decimal quantity, DateTimeOffset deadline, string detail);

    [LoggerMessage(105, LogLevel.Error, "CONFLICT: the service already held {Resource} / {Dimension} for {Hour:o} with another quantity; {Quantity} recorded here was not billed as recorded ({Detail}).")]
    public static partial void Conflict(ILogger logger, string resource, string dimension, DateTimeOffset hour, decimal quantity, string detail);

    [LoggerMessage(106, LogLevel.Error, "The service refused {Resource} / {Plan} / {Dimension} for {Hour:o} (quantity {Quantity}): {Detail}. Resending does not fix this; the row is marked Failed.")]
    public static partial void Refused(ILogger logger, string resource, string plan, string dimension, DateTimeOffset hour, decimal quantity, string detail);

    [LoggerMessage(107, LogLevel.Information, "Flushed {Claimed} hours: {Delivered} delivered, {Retrying} to retry, {Conflicts} conflicts, {Failed} refused, {Expired} expired, {Superseded} taken over by another instance (its lease ended mid-send).")]
    public static partial void Flushed(ILogger logger, int claimed, int delivered, int retrying, int conflicts, int failed, int expired, int superseded);

    [LoggerMessage(110, LogLevel.Error, "{Problem}")]
    public static partial void UnreadableRow(ILogger logger, string problem);

    [LoggerMessage(108, LogLevel.Error, "Flushing usage failed; the next flush tries again.")]
    public static partial void FlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(109, LogLevel.Warning, "Sending {Count} hours did not complete ({Reason}); they go back to the ledger as open and are sent again.")]
    public static partial void Released(ILogger logger, int count, string reason);

    [LoggerMessage(111, LogLevel.Warning, "The outcome of sending {Count} hours was not recorded: this instance's claim on them ended (LeaseDuration {LeaseDuration}) before the send finished, and another instance took them. That instance records and reports them; raise LeaseDuration if sends take this long.")]
    public static partial void Superseded(ILogger logger, int count, TimeSpan leaseDuration);

    [LoggerMessage(112, LogLevel.Warning, "The outcome of sending {Count} hours was not recorded: another instance took them while this instance's claim on them had not ended by its own clock. The instances' clocks differ; this flush's counts may include those hours.")]
    public static partial void SupersededEarly(ILogger logger, int count);

    [LoggerMessage(114, LogLevel.Warning, "Sending {Count} hours was stopped {Margin} before this instance's claim on them would have ended (LeaseDuration {LeaseDuration}): the service answered too slowly for the claim's {MaxRowsPerClaim} rows at most to be sent within it, and letting the claim end would have let another instance send them again. What the service answered was recorded; these hours are open again and go with the next flush. Lower MaxRowsPerClaim or raise LeaseDuration.")]
    public static partial void LeaseEnding(ILogger logger, int count, TimeSpan margin, TimeSpan leaseDuration, int maxRowsPerClaim);

    [LoggerMessage(116, LogLevel.Error, "Claiming {Count} hours took {ClaimDuration} by this instance's clock, which left no time to send them: sending a claim stops {Margin} before its lease ends (LeaseDuration {LeaseDuration}). None was sent; the rows still this instance's are open again, and every flush claims and releases them the same way, sending nothing, until they expire, as long as a claim takes this long. Raise LeaseDuration well above how long the ledger takes to claim up to {MaxRowsPerClaim} rows (MaxRowsPerClaim), or find out why the ledger is this slow.")]
    public static partial void ClaimLeftNoTimeToSend(ILogger logger, int count, TimeSpan claimDuration, TimeSpan margin, TimeSpan leaseDuration, int maxRowsPerClaim);

    [LoggerMessage(117, LogLevel.Warning, "The MeteringClient the usage flusher sends through was not registered with AddMarketplaceMeteringClient, and nothing configures MeteringClientOptions in the service collection, so the flusher cannot see the client's settings: it assumes MaxConcurrency {MaxConcurrency} (the client's default) when it sizes its submissions, and it did not check at start-up that LeaseDuration {LeaseDuration} is more than twice the client's longest send ((Retry.MaxRetries + 1) × NetworkTimeout + Retry.MaxRetries × Retry.MaxDelay); a lease that ends mid-send lets another instance send the same usage again. To have them read and checked, register the client with AddMarketplaceMeteringClient, or configure the options it is built with through services.Configure<MeteringClientOptions>(...).")]
    public static partial void ClientSettingsUnseen(ILogger logger, int maxConcurrency, TimeSpan leaseDuration);

    [LoggerMessage(115, LogLevel.Warning, "The outcome of sending {Count} hours was not recorded: this instance's claim on them ended (LeaseDuration {LeaseDuration}) while the outcomes were being saved, and another instance took them. That instance records and reports them; this flush's counts may include those hours. Saving to the ledger is slow; raise LeaseDuration if it takes this long.")]
    public static partial void LeaseEndedWhileSaving(ILogger logger, int count, TimeSpan leaseDuration);

    [LoggerMessage(113, LogLevel.Critical, "The usage recorder's writer stopped after an unexpected error: no usage can be made durable any more, and every RecordAsync, SaveAsync and Record call fails. Usage recorded in memory and not yet written is lost; restart the process.")]
    public static partial void WriterStopped(ILogger logger, Exception exception);
}
