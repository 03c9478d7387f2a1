using MarketplaceMetering.Emulator.Wire;
using Microsoft.AspNetCore.Http;

namespace MarketplaceMetering.Emulator.Api;

/// <summary>
/// The <c>x-ms-requestid</c> and <c>x-ms-correlationid</c> of a request. Each is echoed when sent. A missing request
/// id is made up (a GUID); a missing correlation id is the request id, so a request that sent neither is answered
/// with one GUID in both, as the real service's recorded answers show. A sent id that an answer's header cannot carry
/// (a control character, non-ASCII) is treated as not sent.
/// </summary>
internal readonly record struct RequestIds(string RequestId, string CorrelationId)
{
    public const string RequestIdHeader = "x-ms-requestid";
    public const string CorrelationIdHeader = "x-ms-correlationid";

    public static RequestIds From(HttpRequest request)
    {
        var requestId = Sent(request, RequestIdHeader) ?? Guid.NewGuid().ToString("D");
        return new RequestIds(requestId, Sent(request, CorrelationIdHeader) ?? requestId);
    }

    private static string? Sent(HttpRequest request, string header)
    {
        var value = request.Headers[header].ToString();
        return string.IsNullOrWhiteSpace(value) || !HeaderText.CanBeSent(value) ? null : value;
    }
}
