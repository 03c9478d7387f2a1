using System.Text;
using MarketplaceMetering.Emulator.Wire;
using Microsoft.AspNetCore.Http;

namespace MarketplaceMetering.Emulator.Api;

/// <summary>An answer decided but not yet written: status, body and any extra headers.</summary>
internal sealed record ApiResponse(int StatusCode, ReadOnlyMemory<byte> Body, IReadOnlyDictionary<string, string>? Headers = null)
{
    public const string JsonContentType = "application/json; charset=utf-8";

    public static ApiResponse Error(int statusCode, ServiceError error) => new(statusCode, ServiceErrorWriter.ToJson(error));

    public static ApiResponse Json(int statusCode, byte[] body) => new(statusCode, body);

    public static ApiResponse NoContent() => new(StatusCodes.Status204NoContent, ReadOnlyMemory<byte>.Empty);

    public static ApiResponse Text(int statusCode, string body, IReadOnlyDictionary<string, string>? headers) =>
        new(statusCode, Encoding.UTF8.GetBytes(body), headers);

    public async Task WriteAsync(HttpContext context, RequestIds ids, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.StatusCode = StatusCode;
        response.Headers[RequestIds.RequestIdHeader] = ids.RequestId;
        response.Headers[RequestIds.CorrelationIdHeader] = ids.CorrelationId;
        if (StatusCode != StatusCodes.Status204NoContent)
        {
            response.ContentType = JsonContentType;
        }

        if (Headers is not null)
        {
            foreach (var (name, value) in Headers)
            {
                if (string.Equals(name, "Content-Length", StringComparison.OrdinalIgnoreCase)
                    || string.Equals(name, "Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                {
                    // Framing stays the server's business.
                    continue;
                }

                response.Headers[name] = value;
            }
        }

        if (StatusCode == StatusCodes.Status204NoContent || Body.IsEmpty)
        {
            response.ContentLength = 0;
            return;
        }

        response.ContentLength = Body.Length;
        await response.Body.WriteAsync(Body, cancellationToken).ConfigureAwait(false);
    }
}
