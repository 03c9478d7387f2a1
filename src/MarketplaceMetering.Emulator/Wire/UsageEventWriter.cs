using System.Text.Json;
using MarketplaceMetering.Emulator.Rules;

namespace MarketplaceMetering.Emulator.Wire;

/// <summary>
/// Writes the answers to usage events with the shapes recorded from the real service (see
/// tests/MarketplaceMetering.Emulator.Tests/Recordings): no property written as <see langword="null"/>, the
/// original of a duplicate in <c>additionalInfo.acceptedMessage</c>, times in the configured style.
/// </summary>
internal static class UsageEventWriter
{
    public const string DuplicateMessage = "This usage event already exist.";
    public const string ConflictCode = "Conflict";

    /// <summary>The status and body answering <c>POST /api/usageEvent</c>.</summary>
    public static (int StatusCode, byte[] Body) Single(UsageEventOutcome outcome, WireTimeStyle style) => outcome switch
    {
        UsageEventOutcome.Accepted accepted => (200, JsonBody.Write(w => WriteEvent(w, accepted.Entry, accepted.AnswerUri, EventStatus.Accepted, style))),
        UsageEventOutcome.Duplicate duplicate => (409, JsonBody.Write(w => WriteConflict(w, duplicate, style))),
        // Every 400 is the documented generic BadArgument whose detail names the field; an expired event's detail
        // says BadArgument too (the service has no Expired code for a single event), the others their status.
        UsageEventOutcome.Rejected { Code: EventStatus.Expired } expired => (400, ServiceErrorWriter.ToJson(
            ServiceError.BadRequest(EventStatus.BadArgument, expired.Message, expired.Target))),
        // A resource of another publisher is a 403 with the same body as a bad token: the service says no more.
        UsageEventOutcome.Rejected { Code: EventStatus.ResourceNotAuthorized } => (403, ServiceErrorWriter.Forbidden()),
        UsageEventOutcome.Rejected rejected => (400, ServiceErrorWriter.ToJson(ServiceError.BadRequest(rejected.Code, rejected.Message, rejected.Target))),
        _ => throw new InvalidOperationException($"Unknown outcome {outcome.GetType().Name}."),
    };

    /// <summary>The body answering <c>POST /api/batchUsageEvent</c>: <c>{"result": [item, …], "count": n}</c>.</summary>
    public static byte[] Batch(IReadOnlyList<UsageEventOutcome> outcomes, WireTimeStyle style) => JsonBody.Write(w =>
    {
        w.WriteStartObject();
        w.WriteStartArray("result");
        foreach (var outcome in outcomes)
        {
            WriteBatchItem(w, outcome, style);
        }

        w.WriteEndArray();
        w.WriteNumber("count", outcomes.Count);
        w.WriteEndObject();
    });

    private static void WriteBatchItem(Utf8JsonWriter w, UsageEventOutcome outcome, WireTimeStyle style)
    {
        switch (outcome)
        {
            case UsageEventOutcome.Accepted accepted:
                WriteEvent(w, accepted.Entry, accepted.AnswerUri, EventStatus.Accepted, style);
                break;

            case UsageEventOutcome.Duplicate duplicate:
                // No usageEventId of its own: the original is only in error.additionalInfo.acceptedMessage. The item's
                // messageTime is when this duplicate was refused; the rest repeats what was sent.
                w.WriteStartObject();
                w.WriteString("status", EventStatus.Duplicate);
                w.WriteString("messageTime", WireTime.Format(duplicate.MessageTime, style));
                w.WritePropertyName("error");
                WriteConflict(w, duplicate, style);
                WriteSentFields(w, duplicate.Input, style);
                w.WriteEndObject();
                break;

            case UsageEventOutcome.Rejected rejected:
                w.WriteStartObject();
                w.WriteString("status", rejected.Code);
                w.WritePropertyName("error");
                ServiceErrorWriter.Write(w, ServiceError.WithDetail(rejected.Code, rejected.Message, rejected.Target));
                WriteSentFields(w, rejected.Input, style);
                w.WriteEndObject();
                break;

            default:
                throw new InvalidOperationException($"Unknown outcome {outcome.GetType().Name}.");
        }
    }

    /// <summary>
    /// The conflict object, the whole 409 body and a batch Duplicate item's <c>error</c>:
    /// <c>{"additionalInfo": {"acceptedMessage": original}, "message", "code"}</c>.
    /// </summary>
    private static void WriteConflict(Utf8JsonWriter w, UsageEventOutcome.Duplicate duplicate, WireTimeStyle style)
    {
        w.WriteStartObject();
        w.WriteStartObject("additionalInfo");
        w.WritePropertyName("acceptedMessage");
        WriteEvent(w, duplicate.Original, duplicate.AnswerUri, EventStatus.Duplicate, style);
        w.WriteEndObject();
        w.WriteString("message", DuplicateMessage);
        w.WriteString("code", ConflictCode);
        w.WriteEndObject();
    }

    /// <summary>Writes an accepted event: <c>{"usageEventId", "status", "messageTime", "resourceId", "resourceUri", "quantity", "dimension", "effectiveStartTime", "planId"}</c>.</summary>
    private static void WriteEvent(Utf8JsonWriter w, LedgerEntry entry, string answerUri, string status, WireTimeStyle style)
    {
        w.WriteStartObject();
        w.WriteString("usageEventId", entry.UsageEventId);
        w.WriteString("status", status);
        w.WriteString("messageTime", WireTime.Format(entry.MessageTime, style));
        w.WriteString("resourceId", entry.ResourceId);
        w.WriteString("resourceUri", answerUri);
        JsonBody.WriteQuantity(w, "quantity", entry.Quantity);
        w.WriteString("dimension", entry.Dimension);
        w.WriteString("effectiveStartTime", WireTime.Format(entry.EffectiveStartTime, style));
        w.WriteString("planId", entry.PlanId);
        w.WriteEndObject();
    }

    /// <summary>
    /// Repeats the fields of the event as sent, leaving out those it did not carry (or carried unreadable): the
    /// service writes no <see langword="null"/>s, so a Duplicate item names only the identifier that was sent.
    /// </summary>
    private static void WriteSentFields(Utf8JsonWriter w, UsageEventInput input, WireTimeStyle style)
    {
        if (input.ResourceId is { } resourceId)
        {
            w.WriteString("resourceId", resourceId);
        }

        WriteIfPresent(w, "resourceUri", input.ResourceUri);
        if (input.Quantity is { } quantity)
        {
            JsonBody.WriteQuantity(w, "quantity", quantity);
        }

        WriteIfPresent(w, "dimension", input.Dimension);
        WriteIfPresent(w, "effectiveStartTime", input.EffectiveStartTime is { } time ? WireTime.Format(time, style) : null);
        WriteIfPresent(w, "planId", input.PlanId);
    }

    private static void WriteIfPresent(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }
}
