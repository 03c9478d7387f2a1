using System.Globalization;
using System.Text.Json;

namespace MarketplaceMetering.Serialization;

/// <summary>
/// Reads an answer the typed (source-generated) path refused, property by property, so one odd value degrades only
/// the item that holds it: a value of the wrong JSON type is dropped and noted in the item's
/// <see cref="UsageEventResponseDto.Problem"/>, and the rest of the item (what it needs to be matched to its event)
/// is still read. Hand-written because System.Text.Json's serializer fails a whole document on the first mistyped
/// value; this path runs only for answers that are not the documented JSON.
/// </summary>
internal static class TolerantReader
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 32 };

    /// <summary>Reads a batch answer; <see langword="null"/> with <paramref name="problem"/> when it is not JSON or has no <c>result</c> array.</summary>
    public static BatchUsageEventResponseDto? ReadBatch(ReadOnlyMemory<byte> body, out string? problem)
    {
        using var document = Parse(body, out problem);
        if (document is null)
        {
            return null;
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object || Property(document.RootElement, "result") is not { ValueKind: JsonValueKind.Array } result)
        {
            problem = "the body has no \"result\" array";
            return null;
        }

        var items = new List<UsageEventResponseDto?>(result.GetArrayLength());
        foreach (var element in result.EnumerateArray())
        {
            // Something that is not an object names no event: it cannot be matched, and is left out.
            items.Add(element.ValueKind == JsonValueKind.Object ? ReadItem(element) : null);
        }

        return new BatchUsageEventResponseDto { Result = items };
    }

    /// <summary>Reads an error body (400, 409); <see langword="null"/> with <paramref name="problem"/> when it is not a JSON object.</summary>
    public static ErrorDto? ReadError(ReadOnlyMemory<byte> body, out string? problem)
    {
        using var document = ParseObject(body, out problem);
        return document is null ? null : ReadError(document.RootElement, []);
    }

    private static JsonDocument? ParseObject(ReadOnlyMemory<byte> body, out string? problem)
    {
        var document = Parse(body, out problem);
        if (document is not null && document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            problem = "the body is not a JSON object";
            return null;
        }

        return document;
    }

    private static JsonDocument? Parse(ReadOnlyMemory<byte> body, out string? problem)
    {
        problem = null;
        if (body.Length == 0)
        {
            problem = "the body is empty";
            return null;
        }

        try
        {
            return JsonDocument.Parse(body, Options);
        }
        catch (JsonException)
        {
            problem = "the body is not JSON";
            return null;
        }
    }

    private static UsageEventResponseDto ReadItem(JsonElement item)
    {
        var problems = new List<string>();
        var dto = new UsageEventResponseDto
        {
            UsageEventId = Text(item, "usageEventId", problems),
            MessageTime = Text(item, "messageTime", problems),
            ResourceId = Text(item, "resourceId", problems),
            ResourceUri = Text(item, "resourceUri", problems),
            Quantity = Number(item, "quantity", problems),
            Dimension = Text(item, "dimension", problems),
            EffectiveStartTime = Text(item, "effectiveStartTime", problems),
            PlanId = Text(item, "planId", problems),
        };

        if (Property(item, "status") is { } status)
        {
            if (status.ValueKind == JsonValueKind.String)
            {
                dto.Status = Text(item, "status", problems);
            }
            else if (status.ValueKind != JsonValueKind.Null)
            {
                dto.RawStatus = status.GetRawText();
                problems.Add("its status is " + Kind(status) + ", not text");
            }
        }

        if (Property(item, "error") is { } error)
        {
            if (error.ValueKind == JsonValueKind.Object)
            {
                dto.Error = ReadError(error, problems);
            }
            else if (error.ValueKind != JsonValueKind.Null)
            {
                problems.Add("its error is " + Kind(error) + ", not an object");
            }
        }

        dto.Problem = problems.Count == 0 ? null : string.Join("; ", problems);
        return dto;
    }

    private static ErrorDto ReadError(JsonElement error, List<string> problems)
    {
        var dto = new ErrorDto
        {
            Code = Text(error, "code", problems),
            Message = Text(error, "message", problems),
            Target = Text(error, "target", problems),
        };

        if (Property(error, "details") is { } details)
        {
            if (details.ValueKind == JsonValueKind.Array)
            {
                dto.Details = [];
                foreach (var detail in details.EnumerateArray())
                {
                    dto.Details.Add(detail.ValueKind == JsonValueKind.Object
                        ? new ErrorDetailDto { Code = Text(detail, "code", problems), Message = Text(detail, "message", problems), Target = Text(detail, "target", problems) }
                        : null);
                }
            }
            else if (details.ValueKind != JsonValueKind.Null)
            {
                problems.Add("its error details are " + Kind(details) + ", not a list");
            }
        }

        if (Property(error, "additionalInfo") is { ValueKind: JsonValueKind.Object } info
            && Property(info, "acceptedMessage") is { ValueKind: JsonValueKind.Object } accepted)
        {
            // A malformed original only costs the original (the Duplicate then counts as a conflict), not the item.
            var original = ReadItem(accepted);
            dto.AdditionalInfo = new AdditionalInfoDto { AcceptedMessage = original.Problem is null ? original : null };
        }

        return dto;
    }

    private static string? Text(JsonElement owner, string name, List<string> problems)
    {
        if (Property(owner, name) is not { } value || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            try
            {
                return value.GetString();
            }
            catch (InvalidOperationException)
            {
                problems.Add("its " + name + " is not valid UTF-8 text");
                return null;
            }
        }

        problems.Add("its " + name + " is " + Kind(value) + ", not text");
        return null;
    }

    private static double? Number(JsonElement owner, string name, List<string> problems)
    {
        if (Property(owner, name) is not { } value || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number))
        {
            return number;
        }

        if (value.ValueKind == JsonValueKind.String
            && double.TryParse(Text(owner, name, problems), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
        {
            return parsed;
        }

        problems.Add("its " + name + " is " + Kind(value) + ", not a number");
        return null;
    }

    /// <summary>The property named <paramref name="name"/>, compared case-insensitively as the typed path does.</summary>
    private static JsonElement? Property(JsonElement owner, string name)
    {
        foreach (var property in owner.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
    }

    /// <summary>What a JSON value is, in words, for messages about unexpected shapes (also used by UsageEventsReader).</summary>
    internal static string Kind(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "text",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
