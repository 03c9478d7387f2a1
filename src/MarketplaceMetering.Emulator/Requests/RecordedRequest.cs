namespace MarketplaceMetering.Emulator;

/// <summary>One <c>/api</c> request the emulator received, for assertions on what a client sent.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="Path">The path, e.g. <c>/api/usageEvent</c>.</param>
/// <param name="QueryString">The query string with its leading <c>?</c>, or empty.</param>
/// <param name="Headers">The request headers, with case-insensitive names; repeated headers joined with <c>", "</c>.</param>
/// <param name="Body">The first 64 KiB of the body, decoded as UTF-8.</param>
/// <param name="ReceivedAt">When the request arrived, by the emulator's clock.</param>
/// <param name="ResponseStatus">
/// The status answered; <see langword="null"/> while the answer is not decided yet, or when none was sent (the
/// connection was dropped by a fault, or the client went away).
/// </param>
public sealed record RecordedRequest(
    string Method,
    string Path,
    string QueryString,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    DateTimeOffset ReceivedAt,
    int? ResponseStatus);
