namespace MarketplaceMetering.Emulator.Rules;

/// <summary>The status strings the service answers a usage event with.</summary>
internal static class EventStatus
{
    public const string Accepted = "Accepted";
    public const string Duplicate = "Duplicate";
    public const string Expired = "Expired";
    public const string ResourceNotFound = "ResourceNotFound";
    public const string ResourceNotAuthorized = "ResourceNotAuthorized";
    public const string ResourceNotActive = "ResourceNotActive";
    public const string InvalidDimension = "InvalidDimension";
    public const string InvalidQuantity = "InvalidQuantity";
    public const string BadArgument = "BadArgument";
}
