namespace MarketplaceMetering;

/// <summary>
/// The metering service could not be used for the call as a whole: an unexpected HTTP status, an answer that is not
/// the documented JSON, or a transport failure that outlasted the retries. Per-event outcomes are never exceptions;
/// they are <see cref="UsageEventResult"/> values.
/// </summary>
/// <remarks>Messages quote at most a short excerpt of a response body, and never a token or a secret.</remarks>
public class MeteringException : Exception
{
    /// <summary>Creates an exception with a default message.</summary>
    public MeteringException()
        : this("The metering service call failed.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public MeteringException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public MeteringException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception that describes a failed HTTP exchange.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="statusCode">The HTTP status, or <see langword="null"/> when no answer arrived.</param>
    /// <param name="errorCode">The service's error code, if its answer carried one.</param>
    /// <param name="requestId">The <c>x-ms-requestid</c> of the exchange.</param>
    /// <param name="correlationId">The <c>x-ms-correlationid</c> of the exchange.</param>
    /// <param name="isRetryable">Whether calling again later may succeed.</param>
    /// <param name="innerException">The cause, if any.</param>
    public MeteringException(string message, int? statusCode, string? errorCode, string? requestId, string? correlationId, bool isRetryable, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        ErrorCode = errorCode;
        RequestId = requestId;
        CorrelationId = correlationId;
        IsRetryable = isRetryable;
    }

    /// <summary>The HTTP status of the last answer, or <see langword="null"/> when none arrived (connection failure, timeout).</summary>
    public int? StatusCode { get; }

    /// <summary>The service's error code (such as <c>Forbidden</c>), if its answer carried one.</summary>
    public string? ErrorCode { get; }

    /// <summary>The <c>x-ms-requestid</c> of the exchange; quote it to Microsoft support.</summary>
    public string? RequestId { get; }

    /// <summary>The <c>x-ms-correlationid</c> of the exchange.</summary>
    public string? CorrelationId { get; }

    /// <summary>
    /// <see langword="true"/> when the failure is transient (throttling, a server error, a timeout, a broken connection)
    /// and the same call may succeed later. Resubmitting usage is safe: what was recorded comes back as a replayed Duplicate.
    /// </summary>
    public bool IsRetryable { get; }

    /// <summary>
    /// What kind of failure the client saw when the service sent no error code (<c>NoToken</c>, <c>NoAnswer</c>,
    /// <c>Redirect</c>, …): the code a bulk submission gives each event of a failed batch.
    /// </summary>
    internal string? FailureCode { get; init; }
}
