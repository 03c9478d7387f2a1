namespace MarketplaceMetering;

/// <summary>
/// An answer read in full inside its attempt, so a connection that breaks mid-body is retried like any other. Its body
/// may live in a buffer rented from the shared pool: <see cref="Dispose"/> returns it, once the answer has been mapped
/// (or, for an attempt that is retried, when the retry is decided).
/// </summary>
internal sealed class RawResponse : IDisposable
{
    private byte[]? _rented;
    private ReadOnlyMemory<byte> _body;

    public RawResponse(
        int statusCode,
        string? reasonPhrase,
        ReadOnlyMemory<byte> body,
        string requestId,
        string correlationId,
        TimeSpan? retryAfter,
        SecretRedactor? redactor = null,
        DateTimeOffset? receivedAt = null,
        bool bodyTruncated = false)
    {
        StatusCode = statusCode;
        ReasonPhrase = reasonPhrase;
        _body = body;
        Ids = new ServiceIds(requestId, correlationId);
        RetryAfter = retryAfter;
        Redactor = redactor ?? SecretRedactor.Shapeless;
        ReceivedAt = receivedAt;
        BodyTruncated = bodyTruncated;
    }

    public int StatusCode { get; }

    public string? ReasonPhrase { get; }

    /// <summary>The body; empty once disposed.</summary>
    public ReadOnlyMemory<byte> Body => _body;

    /// <summary>Whether <see cref="Body"/> holds only the start of a body too large to read (kept for an excerpt).</summary>
    public bool BodyTruncated { get; }

    /// <summary>The service's <c>x-ms-requestid</c>, or the one the client sent.</summary>
    public string RequestId => Ids.RequestId!;

    /// <summary>The service's <c>x-ms-correlationid</c>, or the one the client sent.</summary>
    public string CorrelationId => Ids.CorrelationId!;

    /// <summary>Both ids, once, for the results made from this answer to share.</summary>
    public ServiceIds Ids { get; }

    public TimeSpan? RetryAfter { get; }

    /// <summary>Masks the client's secrets in whatever is taken from this answer into a message or a result.</summary>
    public SecretRedactor Redactor { get; }

    /// <summary>When the answer arrived, by the client's clock; <see langword="null"/> when unknown.</summary>
    public DateTimeOffset? ReceivedAt { get; }

    /// <summary>Why retrying stopped before the retries ran out (a long Retry-After, the events' deadline), if it did.</summary>
    public string? RetryStoppedBecause { get; set; }

    /// <summary>Makes the response own <paramref name="rented"/>, a pooled buffer holding its body.</summary>
    public RawResponse WithRentedBuffer(byte[]? rented)
    {
        _rented = rented;
        return this;
    }

    public void Dispose()
    {
        var rented = Interlocked.Exchange(ref _rented, null);
        if (rented is not null)
        {
            _body = default;
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
