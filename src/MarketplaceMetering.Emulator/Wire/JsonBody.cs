using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;

namespace MarketplaceMetering.Emulator.Wire;

/// <summary>Builds JSON bodies with <see cref="Utf8JsonWriter"/> and parses them with <see cref="JsonDocument"/>.</summary>
internal static class JsonBody
{
    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 32 };

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>Writes one JSON value and returns its UTF-8 bytes.</summary>
    public static byte[] Write(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            write(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Parses a body; <see langword="null"/> when it is not UTF-8 JSON. A byte order mark is skipped.</summary>
    public static JsonDocument? TryParse(ReadOnlyMemory<byte> body)
    {
        if (body.Span.StartsWith(Utf8Bom))
        {
            body = body[Utf8Bom.Length..];
        }

        // The reader checks UTF-8 inside strings only when they are read; refuse bad bytes up front instead.
        if (!Utf8.IsValid(body.Span))
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, ParseOptions);
        }
        catch (JsonException)
        {
            return null;
        }

        // Escapes such as "\ud800" (a lone surrogate) parse, but fail when the string is read: refuse them here too.
        if (!HasOnlyReadableStrings(document.RootElement))
        {
            document.Dispose();
            return null;
        }

        return document;
    }

    private static bool HasOnlyReadableStrings(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    return true;
                case JsonValueKind.Array:
                    return element.EnumerateArray().All(HasOnlyReadableStrings);
                case JsonValueKind.Object:
                    return element.EnumerateObject().All(property => property.Name is not null && HasOnlyReadableStrings(property.Value));
                default:
                    return true;
            }
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Finds a property by name, ignoring case (the service reads names case-insensitively).</summary>
    public static bool TryGetProperty(JsonElement obj, string name, out JsonElement value)
    {
        var found = false;
        value = default;
        foreach (var property in obj.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                // The last one wins, as in most JSON readers.
                value = property.Value;
                found = true;
            }
        }

        return found;
    }

    /// <summary>Writes a quantity the way the service does: always with a decimal point (<c>5.0</c>, not <c>5</c>).</summary>
    public static void WriteQuantity(Utf8JsonWriter writer, string name, decimal quantity) =>
        writer.WriteNumber(name, quantity.Scale == 0 ? quantity * 1.0m : quantity);
}
