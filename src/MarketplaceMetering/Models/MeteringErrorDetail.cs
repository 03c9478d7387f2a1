namespace MarketplaceMetering;

/// <summary>One entry of the <c>details</c> list of a service error.</summary>
/// <param name="Code">The detail's error code, such as <c>BadArgument</c>.</param>
/// <param name="Message">The service's explanation.</param>
/// <param name="Target">The field the detail is about, such as <c>effectiveStartTime</c>.</param>
public sealed record MeteringErrorDetail(string? Code, string? Message, string? Target);
