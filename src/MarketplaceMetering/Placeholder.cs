namespace MarketplaceMetering;

/// <summary>Placeholder.</summary>
public static class Placeholder
{
}
