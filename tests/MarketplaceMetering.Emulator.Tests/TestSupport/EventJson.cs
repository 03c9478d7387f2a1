using System.Globalization;

namespace MarketplaceMetering.Emulator.Tests.TestSupport;

/// <summary>Hand-written usage event JSON, as a client would send it.</summary>
internal static class EventJson
{
    public static readonly Guid ResourceA = Guid.Parse("5f5d2b4e-8a51-4bb0-9d0e-0a6c1f5e7a01");
    public static readonly Guid ResourceB = Guid.Parse("0c2b6a61-3f2e-4c8e-a7f5-1d9b8c7e6a02");
    public const string AppUri = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-app/providers/Microsoft.Solutions/applications/contoso-app";

    /// <summary>
    /// One event object. Properties left <see langword="null"/> are omitted; <paramref name="quantity"/> is raw JSON
    /// (<c>"5"</c>, <c>"\"abc\""</c>); the time is written ISO 8601 with a <c>Z</c>.
    /// </summary>
    public static string Event(
        DateTimeOffset? time,
        Guid? resourceId = null,
        string? resourceUri = null,
        string? quantity = "5",
        string? dimension = "dim1",
        string? planId = "plan1",
        bool useResourceA = true)
    {
        var parts = new List<string>();
        if (resourceId is null && resourceUri is null && useResourceA)
        {
            resourceId = ResourceA;
        }

        if (resourceId is { } id)
        {
            parts.Add($"\"resourceId\":\"{id}\"");
        }

        if (resourceUri is not null)
        {
            parts.Add($"\"resourceUri\":\"{resourceUri}\"");
        }

        if (quantity is not null)
        {
            parts.Add($"\"quantity\":{quantity}");
        }

        if (dimension is not null)
        {
            parts.Add($"\"dimension\":\"{dimension}\"");
        }

        if (time is { } t)
        {
            parts.Add($"\"effectiveStartTime\":\"{Iso(t)}\"");
        }

        if (planId is not null)
        {
            parts.Add($"\"planId\":\"{planId}\"");
        }

        return "{" + string.Join(",", parts) + "}";
    }

    public static string Batch(params string[] events) => "{\"request\":[" + string.Join(",", events) + "]}";

    public static string Iso(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);
}
