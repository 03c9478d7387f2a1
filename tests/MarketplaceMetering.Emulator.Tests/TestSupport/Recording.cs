using System.Text.Json;

namespace MarketplaceMetering.Emulator.Tests.TestSupport;

/// <summary>
/// One answer recorded from the real service, from Recordings/*.json (see Recordings/README.md for the source): its
/// status, the request-id headers it answered with (when recorded), the headers the client sent, and its body.
/// </summary>
internal sealed record Recording(
    string Name,
    int StatusCode,
    IReadOnlyList<string> RequestHeaderNames,
    IReadOnlyDictionary<string, string> ResponseHeaders,
    JsonElement Body)
{
    private static readonly JsonDocumentOptions Options = new() { CommentHandling = JsonCommentHandling.Skip };

    public static Recording Load(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Recordings", name);
        using var document = JsonDocument.Parse(File.ReadAllText(path), Options);
        var root = document.RootElement;
        var sent = root.TryGetProperty("requestHeaderNames", out var names)
            ? names.EnumerateArray().Select(n => n.GetString()!).ToArray()
            : [];
        var answered = root.TryGetProperty("responseHeaders", out var headers)
            ? headers.EnumerateObject().ToDictionary(h => h.Name, h => h.Value.GetString()!, StringComparer.OrdinalIgnoreCase)
            : new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        return new Recording(name, root.GetProperty("statusCode").GetInt32(), sent, answered, root.GetProperty("responseBody").Clone());
    }

    /// <summary>The recorded body's shape, with its times as <paramref name="style"/> writes them.</summary>
    public IReadOnlyList<string> Shape(WireTimeStyle style) =>
        JsonShape.Of(Body)
            .Select(line => style == WireTimeStyle.NoOffset ? line.Replace(JsonShape.TimeWithZ, JsonShape.TimeWithoutOffset, StringComparison.Ordinal) : line)
            .ToList();
}
