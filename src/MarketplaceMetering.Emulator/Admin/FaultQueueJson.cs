using System.Text.Json;
using MarketplaceMetering.Emulator.Wire;

namespace MarketplaceMetering.Emulator.Admin;

/// <summary>
/// Reads a fault sequence for the admin API: a JSON array of
/// <c>{"kind": "throttle", "retryAfterSeconds": 2}</c>, <c>{"kind": "serverError", "statusCode": 503}</c>,
/// <c>{"kind": "latency", "milliseconds": 200}</c>, <c>{"kind": "dropAfterAccept"}</c>,
/// <c>{"kind": "respond", "statusCode": 418, "body": "…", "headers": {"name": "value"}}</c> or <c>{"kind": "none"}</c>.
/// </summary>
internal static class FaultQueueJson
{
    public static bool TryRead(JsonElement root, out IReadOnlyList<EmulatorFault> faults, out string? error)
    {
        faults = [];
        error = null;
        if (root.ValueKind != JsonValueKind.Array)
        {
            error = "The fault queue must be a JSON array of faults.";
            return false;
        }

        var read = new List<EmulatorFault>();
        var index = 0;
        foreach (var element in root.EnumerateArray())
        {
            try
            {
                read.Add(ReadFault(element));
            }
            catch (Exception exception) when (exception is FormatException or ArgumentException or InvalidOperationException or OverflowException)
            {
                error = $"Fault {index}: {exception.Message}";
                return false;
            }

            index++;
        }

        faults = read;
        return true;
    }

    private static EmulatorFault ReadFault(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("a fault must be a JSON object.");
        }

        var kind = JsonBody.TryGetProperty(element, "kind", out var kindValue) && kindValue.ValueKind == JsonValueKind.String
            ? kindValue.GetString()!
            : throw new FormatException("\"kind\" is required.");

        return kind.ToUpperInvariant() switch
        {
            "NONE" => EmulatorFault.None,
            "THROTTLE" => EmulatorFault.Throttle(
                Number(element, "retryAfterSeconds") is { } seconds ? TimeSpan.FromSeconds(seconds) : null),
            "SERVERERROR" => EmulatorFault.ServerError((int)(Number(element, "statusCode") ?? 500)),
            "LATENCY" => EmulatorFault.Latency(TimeSpan.FromMilliseconds(
                Number(element, "milliseconds") ?? throw new FormatException("\"milliseconds\" is required for latency."))),
            "DROPAFTERACCEPT" => EmulatorFault.DropAfterAccept(),
            "RESPOND" => EmulatorFault.Respond(
                (int)(Number(element, "statusCode") ?? throw new FormatException("\"statusCode\" is required for respond.")),
                Text(element, "body") ?? string.Empty,
                Headers(element)),
            _ => throw new FormatException($"unknown kind \"{kind}\"."),
        };
    }

    private static double? Number(JsonElement element, string name)
    {
        if (!JsonBody.TryGetProperty(element, name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw new FormatException($"\"{name}\" must be a number.");
        }

        var number = value.GetDouble();
        return number is >= 0 and <= 86_400_000 ? number : throw new FormatException($"\"{name}\" is out of range.");
    }

    private static string? Text(JsonElement element, string name)
    {
        if (!JsonBody.TryGetProperty(element, name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new FormatException($"\"{name}\" must be a string.");
    }

    private static Dictionary<string, string>? Headers(JsonElement element)
    {
        if (!JsonBody.TryGetProperty(element, "headers", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("\"headers\" must be an object of strings.");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var header in value.EnumerateObject())
        {
            headers[header.Name] = header.Value.ValueKind == JsonValueKind.String
                ? header.Value.GetString()!
                : throw new FormatException($"header \"{header.Name}\" must be a string.");
        }

        return headers;
    }
}
