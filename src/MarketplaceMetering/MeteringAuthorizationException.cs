namespace MarketplaceMetering;

/// <summary>
/// The service refused the caller (HTTP 403, or a 401 again after the client fetched a fresh token), or the identity
/// provider definitely refused the credential (<see cref="MeteringException.StatusCode"/> is then <see langword="null"/>).
/// Retrying does not help: the credential, the app registration or the resource's publisher app has to change. (A
/// token that could not be obtained for a reason that may pass is a retryable <see cref="MeteringException"/> instead.)
/// </summary>
public sealed class MeteringAuthorizationException : MeteringException
{
    /// <summary>Creates an exception with a default message.</summary>
    public MeteringAuthorizationException()
        : this("The metering service refused the caller.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public MeteringAuthorizationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public MeteringAuthorizationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception that describes a refused HTTP exchange.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="statusCode">The HTTP status (403 or 401), or <see langword="null"/> when the token could not be obtained.</param>
    /// <param name="errorCode">The service's error code, if its answer carried one.</param>
    /// <param name="requestId">The <c>x-ms-requestid</c> of the exchange.</param>
    /// <param name="correlationId">The <c>x-ms-correlationid</c> of the exchange.</param>
    /// <param name="innerException">The cause, if any.</param>
    public MeteringAuthorizationException(string message, int? statusCode, string? errorCode, string? requestId, string? correlationId, Exception? innerException = null)
        : base(message, statusCode, errorCode, requestId, correlationId, isRetryable: false, innerException)
    {
    }
}
