using System.Buffers;
using Microsoft.AspNetCore.Http;

namespace MarketplaceMetering.Emulator.Api;

/// <summary>
/// Reads a request body up to a limit. A longer body is read to its end and thrown away, so the client gets the
/// 400 it should instead of a connection reset while still sending; the server's hard cap stops a runaway body.
/// </summary>
internal static class RequestBodyReader
{
    /// <summary>What the request log keeps of a body.</summary>
    public const int LoggedBytes = 64 * 1024;

    /// <summary>How much more than the limit is drained before the server gives up on the body.</summary>
    public const long DrainAllowance = 64L * 1024 * 1024;

    public static async Task<RequestBody> ReadAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        var keep = Math.Max(limit, LoggedBytes);
        using var kept = new MemoryStream();
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        long total = 0;
        try
        {
            while (true)
            {
                var read = await request.Body.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                var room = (int)Math.Min(read, Math.Max(0, keep - kept.Length));
                kept.Write(buffer, 0, room);
                total += read;
            }
        }
        catch (BadHttpRequestException exception)
        {
            // Kestrel's hard cap (413) or a malformed or stalled body.
            var tooLarge = exception.StatusCode == StatusCodes.Status413PayloadTooLarge;
            return new RequestBody(Trim(kept, limit), tooLarge, Unreadable: !tooLarge);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new RequestBody(Trim(kept, limit), TooLarge: total > limit, Unreadable: false);
    }

    private static ReadOnlyMemory<byte> Trim(MemoryStream kept, int limit)
    {
        var bytes = kept.ToArray();
        return bytes.Length > limit ? bytes.AsMemory(0, Math.Min(bytes.Length, LoggedBytes)) : bytes;
    }
}
