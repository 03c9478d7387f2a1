using Microsoft.Extensions.Logging;

namespace MarketplaceMetering;

/// <summary>The client's log messages. None of them carries a token, a secret or a response body.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "Sending {Method} {Path} (request {RequestId}, correlation {CorrelationId}, attempt {Attempt}).")]
    public static partial void Sending(ILogger logger, string method, string path, string requestId, string correlationId, int attempt);

    [LoggerMessage(2, LogLevel.Debug, "{Method} {Path} answered {StatusCode} in {ElapsedMilliseconds} ms (request {RequestId}).")]
    public static partial void Received(ILogger logger, string method, string path, int statusCode, long elapsedMilliseconds, string requestId);

    [LoggerMessage(3, LogLevel.Warning, "{Method} {Path} failed ({Reason}); retry {Retry} of {MaxRetries} in {DelayMilliseconds} ms (request {RequestId}).")]
    public static partial void Retrying(ILogger logger, string method, string path, string reason, int retry, int maxRetries, long delayMilliseconds, string requestId);

    [LoggerMessage(4, LogLevel.Warning, "{Method} {Path} failed ({Reason}); not retrying: {WhyNot} (request {RequestId}).")]
    public static partial void NotRetrying(ILogger logger, string method, string path, string reason, string whyNot, string requestId);

    [LoggerMessage(5, LogLevel.Information, "Acquired a metering service token from {Credential}; it expires at {ExpiresOn:o}.")]
    public static partial void TokenAcquired(ILogger logger, string credential, DateTimeOffset expiresOn);

    [LoggerMessage(6, LogLevel.Warning, "Refreshing the metering service token from {Credential} in the background failed ({ErrorType}); using the current one until it expires at {ExpiresOn:o}, trying again in {RetryDelay}.")]
    public static partial void TokenRefreshFailed(ILogger logger, string credential, DateTimeOffset expiresOn, string errorType, TimeSpan retryDelay);

    [LoggerMessage(9, LogLevel.Warning, "Getting a metering service token from {Credential} failed ({ErrorType}; may pass: {Transient}): {Reason}")]
    public static partial void TokenFetchFailed(ILogger logger, string credential, string errorType, bool transient, string reason);

    [LoggerMessage(10, LogLevel.Information, "The metering service rejected the token from {Credential}; it is evicted and a fresh one will be fetched.")]
    public static partial void TokenRejected(ILogger logger, string credential);

    [LoggerMessage(11, LogLevel.Information, "{Method} {Path} answered 401; sending it once more with a fresh token (request {RequestId}).")]
    public static partial void ResendingAfter401(ILogger logger, string method, string path, string requestId);

    [LoggerMessage(12, LogLevel.Warning, "The metering service token from {Credential} expires at {ExpiresOn:o} (refresh hint {RefreshOn:o}), too soon by this machine's clock; it is kept for {Kept} rather than fetched again on every call. Check the machine's clock, or the expiry the credential sets.")]
    public static partial void TokenLifetimeTooShort(ILogger logger, string credential, DateTimeOffset expiresOn, DateTimeOffset refreshOn, TimeSpan kept);

    [LoggerMessage(8, LogLevel.Warning, "A batch of {Count} events failed (HTTP {StatusCode}, request {RequestId}); each event is reported as Error.")]
    public static partial void BatchFailed(ILogger logger, int count, int statusCode, string requestId);

    [LoggerMessage(7, LogLevel.Warning, "The batch answer (request {RequestId}) had no item for {Resource} / {Dimension} / {Hour:o}; reported as Error.")]
    public static partial void BatchItemMissing(ILogger logger, string requestId, string resource, string dimension, DateTimeOffset hour);
}
