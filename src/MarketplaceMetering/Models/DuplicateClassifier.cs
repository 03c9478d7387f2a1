using MarketplaceMetering.Serialization;

namespace MarketplaceMetering;

/// <summary>
/// Decides whether a Duplicate's original is the submitted event itself (a replay) or a different first write: the
/// same resource (its URI when one was sent), plan, dimension and hour, and the same quantity as exactly as the wire
/// allows. The client writes the decimal's exact text; the service stores the nearest double and echoes that double
/// (9.123456789012346 comes back as 9.1234567890123461). So the quantities are equal when the service's double for
/// what this event sent equals the double it echoed. No tolerance: 1e12 + 900 after 1e12 is a conflict.
/// </summary>
internal static class DuplicateClassifier
{
    public static bool Matches(UsageEvent sent, AcceptedUsageEvent original) =>
        sent.IsSameSlot(original.ResourceId, original.ResourceUri, original.PlanId, original.Dimension, original.EffectiveStartTime)
        && WireFormat.SameOnTheWire(sent.Quantity, original.Quantity);
}
