namespace MarketplaceMetering.Tests;

/// <summary>Builds valid events relative to a clock, so tests state only what matters to them.</summary>
internal static class TestEvents
{
    public static readonly Guid Resource = Guid.Parse("6f1a2b3c-0000-4000-8000-000000000001");

    public const string Plan = "plan1";

    public const string Dimension = "dim1";

    public static UsageEvent At(
        DateTimeOffset effectiveStartTime,
        decimal quantity = 5m,
        Guid? resource = null,
        string dimension = Dimension,
        string plan = Plan) =>
        UsageEvent.ForResourceId(resource ?? Resource, plan, dimension, quantity, effectiveStartTime);

    /// <summary>An event one hour before <paramref name="clock"/>'s now.</summary>
    public static UsageEvent HourAgo(TimeProvider clock, decimal quantity = 5m, Guid? resource = null, string dimension = Dimension, string plan = Plan) =>
        At(clock.GetUtcNow().AddHours(-1), quantity, resource, dimension, plan);

    /// <summary><paramref name="count"/> events for distinct resources, all in the hour before now.</summary>
    public static List<UsageEvent> Distinct(TimeProvider clock, int count, string dimension = Dimension) =>
        Enumerable.Range(0, count).Select(i => HourAgo(clock, quantity: i + 1, resource: ResourceNumber(i), dimension: dimension)).ToList();

    public static Guid ResourceNumber(int i) => Guid.Parse($"6f1a2b3c-0000-4000-8000-{i + 1000:D12}");
}
