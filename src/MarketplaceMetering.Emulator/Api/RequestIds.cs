using Microsoft.AspNetCore.Http;

namespace MarketplaceMetering.Emulator.Api;

/// <summary>The <c>x-ms-requestid</c> and <c>x-ms-correlationid</c> of a request: echoed when sent, made up otherwise.</summary>
internal readonly record struct RequestIds(string RequestId, string CorrelationId)
{
    public const string RequestIdHeader = "x-ms-requestid";
    public const string CorrelationIdHeader = "x-ms-correlationid";

    public static RequestIds From(HttpRequest request) =>
        new(ValueOrNew(request, RequestIdHeader), ValueOrNew(request, CorrelationIdHeader));

    private static string ValueOrNew(HttpRequest request, string header)
    {
        var value = request.Headers[header].ToString();
        return string.IsNullOrWhiteSpace(value) ? Guid.NewGuid().ToString("D") : value;
    }
}
