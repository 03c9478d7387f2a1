namespace MarketplaceMetering;

/// <summary>
/// The service's deduplication key: resource, dimension and UTC calendar hour. Resource URIs (Azure resource ids) and
/// dimensions compare case-insensitively, so two events the service could treat as one never travel in one batch.
/// </summary>
internal readonly struct UsageEventKey : IEquatable<UsageEventKey>
{
    private UsageEventKey(string resource, string dimension, DateTimeOffset hour)
    {
        Resource = resource;
        Dimension = dimension;
        Hour = hour;
    }

    public string Resource { get; }

    public string Dimension { get; }

    public DateTimeOffset Hour { get; }

    public static UsageEventKey Of(UsageEvent usageEvent) =>
        new(usageEvent.ResourceUri ?? usageEvent.ResourceId!.Value.ToString("D"), usageEvent.Dimension, usageEvent.Hour);

    public static DateTimeOffset HourOf(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    public bool Equals(UsageEventKey other) =>
        string.Equals(Resource, other.Resource, StringComparison.OrdinalIgnoreCase)
        && string.Equals(Dimension, other.Dimension, StringComparison.OrdinalIgnoreCase)
        && Hour == other.Hour;

    public override bool Equals(object? obj) => obj is UsageEventKey other && Equals(other);

    public override int GetHashCode()
    {
        unchecked
        {
            var hash = StringComparer.OrdinalIgnoreCase.GetHashCode(Resource ?? string.Empty);
            hash = (hash * 397) ^ StringComparer.OrdinalIgnoreCase.GetHashCode(Dimension ?? string.Empty);
            return (hash * 397) ^ Hour.GetHashCode();
        }
    }

    public override string ToString() => $"{Resource} / {Dimension} / {Hour:yyyy-MM-ddTHH}:00Z";
}
