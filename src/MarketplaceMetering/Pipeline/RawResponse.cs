namespace MarketplaceMetering;

/// <summary>An answer read in full inside its attempt, so a connection that breaks mid-body is retried like any other.</summary>
internal sealed class RawResponse
{
    public RawResponse(int statusCode, string? reasonPhrase, byte[] body, string requestId, string correlationId, TimeSpan? retryAfter)
    {
        StatusCode = statusCode;
        ReasonPhrase = reasonPhrase;
        Body = body;
        RequestId = requestId;
        CorrelationId = correlationId;
        RetryAfter = retryAfter;
    }

    public int StatusCode { get; }

    public string? ReasonPhrase { get; }

    public byte[] Body { get; }

    /// <summary>The service's <c>x-ms-requestid</c>, or the one the client sent.</summary>
    public string RequestId { get; }

    /// <summary>The service's <c>x-ms-correlationid</c>, or the one the client sent.</summary>
    public string CorrelationId { get; }

    public TimeSpan? RetryAfter { get; }

    /// <summary>Why retrying stopped before the retries ran out (a long Retry-After, the events' deadline), if it did.</summary>
    public string? RetryStoppedBecause { get; set; }
}
