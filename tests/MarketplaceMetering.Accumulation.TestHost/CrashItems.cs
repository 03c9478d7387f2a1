namespace MarketplaceMetering.Accumulation.TestHost;

/// <summary>One usage record of the crash test: which worker records it, for which resource, dimension and hour, and how much.</summary>
public sealed record CrashItem(int Index, int Worker, Guid Resource, string Dimension, int HoursAgo, int Minute, decimal Quantity)
{
    /// <summary>Gets the key the test totals by (hours may shift if the clock's hour turns during the test).</summary>
    public (Guid Resource, string Dimension) Key => (Resource, Dimension);
}

/// <summary>The seeded list both the child and the test build, so the test knows every item's quantity from its index.</summary>
public static class CrashItems
{
    public static IReadOnlyList<CrashItem> Create(int seed, int count, int workers)
    {
        var random = new Random(seed);
        var resources = Enumerable.Range(0, workers).Select(_ => new Guid(random.NextBytes(16))).ToArray();
        return Enumerable.Range(0, count).Select(i => new CrashItem(
            i,
            i % workers,
            resources[i % workers],
            "dim" + random.Next(2),
            1 + random.Next(3),
            random.Next(60),
            random.Next(1, 100) + (random.Next(2) == 0 ? 0m : 0.5m))).ToList();
    }

    private static byte[] NextBytes(this Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}
