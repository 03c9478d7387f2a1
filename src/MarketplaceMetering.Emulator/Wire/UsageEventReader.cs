using System.Globalization;
using System.Text.Json;
using MarketplaceMetering.Emulator.Rules;

namespace MarketplaceMetering.Emulator.Wire;

/// <summary>
/// Reads usage event requests leniently, the service's way: property names in any case, <see langword="null"/>
/// for a missing value, and a <see cref="FieldProblem"/> (a <c>BadArgument</c> later) for a value of the wrong type.
/// </summary>
internal static class UsageEventReader
{
    public const int MaxBatchSize = 25;

    /// <summary>The refusal of a quantity the emulator's decimal ledger cannot hold.</summary>
    public const string OutOfRangeMessage =
        "The usageEvent.quantity is out of the range the emulator can record: it keeps quantities as decimals, 1E-28 to 79228162514264337593543950335.";

    /// <summary>Reads one event object.</summary>
    public static UsageEventInput ReadEvent(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return new UsageEventInput(null, null, null, null, null, null, new FieldProblem("usageEvent", "A usage event must be a JSON object."));
        }

        Guid? resourceId = null;
        string? resourceUri = null;
        decimal? quantity = null;
        string? dimension = null;
        DateTimeOffset? effectiveStartTime = null;
        string? planId = null;
        FieldProblem? problem = null;

        void Fail(string target, string message) => problem ??= new FieldProblem(target, message);

        foreach (var property in element.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name.ToUpperInvariant())
            {
                case "RESOURCEID":
                    resourceId = null;
                    if (ReadString(value, "resourceId", Fail) is { } idText)
                    {
                        if (Guid.TryParse(idText, out var id))
                        {
                            resourceId = id;
                        }
                        else
                        {
                            Fail("resourceId", "The usageEvent.resourceId is not a valid GUID.");
                        }
                    }

                    break;

                case "RESOURCEURI":
                    resourceUri = ReadString(value, "resourceUri", Fail);
                    break;

                case "QUANTITY":
                    quantity = null;
                    if (value.ValueKind == JsonValueKind.Number)
                    {
                        if (TryReadServiceQuantity(value, out var number))
                        {
                            quantity = number;
                        }
                        else
                        {
                            Fail("quantity", OutOfRangeMessage);
                        }
                    }
                    else if (value.ValueKind != JsonValueKind.Null)
                    {
                        Fail("quantity", "The usageEvent.quantity must be a number.");
                    }

                    break;

                case "DIMENSION":
                    dimension = ReadString(value, "dimension", Fail);
                    break;

                case "EFFECTIVESTARTTIME":
                    effectiveStartTime = null;
                    if (ReadString(value, "effectiveStartTime", Fail) is { } timeText)
                    {
                        if (WireTime.TryParse(timeText, out var time))
                        {
                            effectiveStartTime = time;
                        }
                        else
                        {
                            Fail("effectiveStartTime", "The usageEvent.effectiveStartTime is not a valid date and time.");
                        }
                    }

                    break;

                case "PLANID":
                    planId = ReadString(value, "planId", Fail);
                    break;

                default:
                    // Unknown properties are ignored, as the service does.
                    break;
            }
        }

        return new UsageEventInput(resourceId, resourceUri, quantity, dimension, effectiveStartTime, planId, problem);
    }

    /// <summary>
    /// Reads a batch body, <c>{"request": [event, …]}</c>, with 1 to 25 events. An element of the wrong shape is
    /// still an event (it fails alone); only a body without a usable <c>request</c> array fails as a whole.
    /// </summary>
    public static bool TryReadBatch(JsonElement root, out IReadOnlyList<UsageEventInput> events, out ServiceError? error)
    {
        events = [];
        error = null;
        if (root.ValueKind != JsonValueKind.Object
            || !JsonBody.TryGetProperty(root, "request", out var request)
            || request.ValueKind != JsonValueKind.Array)
        {
            error = ServiceError.BadRequest(EventStatus.BadArgument, "The request body must be an object with a \"request\" array of usage events.", "request");
            return false;
        }

        var count = request.GetArrayLength();
        if (count is 0 or > MaxBatchSize)
        {
            error = ServiceError.BadRequest(
                EventStatus.BadArgument,
                $"A batch holds 1 to {MaxBatchSize} usage events; this one holds {count}.",
                "request");
            return false;
        }

        events = request.EnumerateArray().Select(ReadEvent).ToArray();
        return true;
    }

    /// <summary>
    /// Reads a quantity as the service holds it: the nearest double to what was sent, as the service writes that double
    /// back (the shortest of 15 or 17 significant digits that reads back as it, so 9.123456789012346 is held and echoed as
    /// 9.1234567890123461, and 0.1 as 0.1), kept in the ledger as that decimal; at the top of the decimal range, where that
    /// double lies past it, the decimal sent. A number past the decimal range, or one above 0 that a decimal rounds to 0
    /// (1e-30), is refused: "must be greater than 0" would be false for it.
    /// </summary>
    private static bool TryReadServiceQuantity(JsonElement value, out decimal quantity)
    {
        quantity = 0;
        if (!value.TryGetDouble(out var nearest) || !double.IsFinite(nearest))
        {
            return false;
        }

        var text = nearest.ToString("G15", CultureInfo.InvariantCulture);
        if (double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture) != nearest)
        {
            text = nearest.ToString("G17", CultureInfo.InvariantCulture);
        }

        if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out quantity))
        {
            return quantity != 0 || nearest <= 0;
        }

        // Past a decimal, only 2^96 is a quantity the ledger can hold: the double nearest to the top of the decimal range
        // (79228162514264337593543950334, say). It holds the decimal sent, which reads back as that double, so an echo
        // still matches what was sent; or, for 2^96 sent as a double's digits (7.922816251426434E+28), the largest
        // decimal, whose double it is.
        if (Math.Abs(nearest) != (double)decimal.MaxValue)
        {
            return false;
        }

        if (!value.TryGetDecimal(out quantity))
        {
            quantity = nearest > 0 ? decimal.MaxValue : decimal.MinValue;
        }

        return true;
    }

    private static string? ReadString(JsonElement value, string target, Action<string, string> fail)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                var text = value.GetString();
                return string.IsNullOrEmpty(text) ? null : text;
            case JsonValueKind.Null:
                return null;
            default:
                fail(target, $"The usageEvent.{target} must be a string.");
                return null;
        }
    }
}
