namespace MarketplaceMetering;

/// <summary>Decides whether a Duplicate's original is the submitted event itself (a replay) or a different first write.</summary>
internal static class DuplicateClassifier
{
    // The service stores quantities as doubles and may echo them with more digits than were sent
    // (9.123456789012346 comes back as 9.1234567890123461): compare to a relative billing-irrelevant tolerance.
    private const double RelativeTolerance = 1e-9;

    public static bool Matches(UsageEvent sent, AcceptedUsageEvent original) =>
        sent.IsSameSlot(original.ResourceId, original.ResourceUri, original.PlanId, original.Dimension, original.EffectiveStartTime)
        && QuantitiesEqual(sent.Quantity, original.Quantity);

    public static bool QuantitiesEqual(decimal a, decimal b)
    {
        if (a == b)
        {
            return true;
        }

        var x = (double)a;
        var y = (double)b;
        return Math.Abs(x - y) <= RelativeTolerance * Math.Max(1.0, Math.Max(Math.Abs(x), Math.Abs(y)));
    }
}
