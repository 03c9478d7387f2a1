namespace MarketplaceMetering;

/// <summary>
/// The <c>x-ms-requestid</c> and <c>x-ms-correlationid</c> of one HTTP exchange, made once per answer and shared by
/// every result it produced, so a 25-event batch holds the two ids once rather than in each result. A record, so
/// results with the same ids compare equal whether or not they share the instance.
/// </summary>
internal sealed record ServiceIds(string? RequestId, string? CorrelationId)
{
    /// <summary>No ids: results the client made without an exchange (an event refused before it was sent).</summary>
    public static ServiceIds None { get; } = new(null, null);

    /// <summary>The ids, or <see cref="None"/> when there are none, without allocating for that case.</summary>
    public static ServiceIds Of(string? requestId, string? correlationId) =>
        requestId is null && correlationId is null ? None : new(requestId, correlationId);
}
