namespace MarketplaceMetering;

/// <summary>
/// The service's deduplication key: resource, dimension and UTC calendar hour. Resource URIs (Azure resource ids) and
/// dimensions compare case-insensitively, so two events the service could treat as one never travel in one batch.
/// Holds the event's own values (no text is built per key); <see cref="ToString"/> writes it for messages only.
/// </summary>
internal readonly struct UsageEventKey : IEquatable<UsageEventKey>
{
    private UsageEventKey(Guid resourceId, string? resourceUri, string dimension, DateTimeOffset hour)
    {
        ResourceId = resourceId;
        ResourceUri = resourceUri;
        Dimension = dimension;
        Hour = hour;
    }

    /// <summary>The resource id, when the event names its resource by id (else <see cref="Guid.Empty"/>).</summary>
    public Guid ResourceId { get; }

    /// <summary>The resource URI, when the event names its resource by URI.</summary>
    public string? ResourceUri { get; }

    public string Dimension { get; }

    public DateTimeOffset Hour { get; }

    public static UsageEventKey Of(UsageEvent usageEvent) =>
        new(usageEvent.ResourceUri is null ? usageEvent.ResourceId!.Value : Guid.Empty, usageEvent.ResourceUri, usageEvent.Dimension, usageEvent.Hour);

    /// <summary>Whether two events have the same key, without building either key.</summary>
    public static bool Same(UsageEvent a, UsageEvent b) =>
        (a.ResourceUri is { } uri ? string.Equals(uri, b.ResourceUri, StringComparison.OrdinalIgnoreCase) : b.ResourceUri is null && a.ResourceId == b.ResourceId)
        && string.Equals(a.Dimension, b.Dimension, StringComparison.OrdinalIgnoreCase)
        && a.Hour == b.Hour;

    public static DateTimeOffset HourOf(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerHour), TimeSpan.Zero);
    }

    public bool Equals(UsageEventKey other) =>
        ResourceId == other.ResourceId
        && string.Equals(ResourceUri, other.ResourceUri, StringComparison.OrdinalIgnoreCase)
        && string.Equals(Dimension, other.Dimension, StringComparison.OrdinalIgnoreCase)
        && Hour == other.Hour;

    public override bool Equals(object? obj) => obj is UsageEventKey other && Equals(other);

    public override int GetHashCode()
    {
        unchecked
        {
            var hash = ResourceUri is null ? ResourceId.GetHashCode() : StringComparer.OrdinalIgnoreCase.GetHashCode(ResourceUri);
            hash = (hash * 397) ^ StringComparer.OrdinalIgnoreCase.GetHashCode(Dimension ?? string.Empty);
            return (hash * 397) ^ Hour.GetHashCode();
        }
    }

    // The hour in the invariant (Gregorian) form the wire uses: the thread's culture could write it in another calendar.
    public override string ToString() =>
        (ResourceUri ?? ResourceId.ToString("D")) + " / " + Dimension + " / " + Hour.ToString("yyyy-MM-dd'T'HH", System.Globalization.CultureInfo.InvariantCulture) + ":00Z";
}
