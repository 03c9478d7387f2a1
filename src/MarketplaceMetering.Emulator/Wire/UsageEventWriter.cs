using System.Text.Json;
using MarketplaceMetering.Emulator.Rules;

namespace MarketplaceMetering.Emulator.Wire;

/// <summary>Writes the answers to usage events, with the service's shapes and quirks.</summary>
internal static class UsageEventWriter
{
    public const string DuplicateMessage = "This usage event already exist.";
    public const string ConflictCode = "Conflict";

    /// <summary>The status and body answering <c>POST /api/usageEvent</c>.</summary>
    public static (int StatusCode, byte[] Body) Single(UsageEventOutcome outcome) => outcome switch
    {
        UsageEventOutcome.Accepted accepted => (200, JsonBody.Write(w => WriteEvent(w, accepted.Entry, accepted.AnswerUri, EventStatus.Accepted, withOffset: true))),
        UsageEventOutcome.Duplicate duplicate => (409, JsonBody.Write(w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("additionalInfo");
            w.WritePropertyName("acceptedMessage");
            WriteEvent(w, duplicate.Original, duplicate.AnswerUri, EventStatus.Duplicate, withOffset: true);
            w.WriteEndObject();
            w.WriteString("message", DuplicateMessage);
            w.WriteString("code", ConflictCode);
            w.WriteEndObject();
        })),
        // The service reports an expired event as a generic BadArgument whose detail names the time.
        UsageEventOutcome.Rejected { Code: EventStatus.Expired } expired => (400, ServiceErrorWriter.ToJson(new ServiceError(
            EventStatus.BadArgument,
            "One or more errors have occurred.",
            "usageEventRequest",
            [new ServiceErrorDetail(EventStatus.BadArgument, expired.Target, expired.Message)]))),
        UsageEventOutcome.Rejected rejected => (400, ServiceErrorWriter.ToJson(ServiceError.WithDetail(rejected.Code, rejected.Message, rejected.Target))),
        _ => throw new InvalidOperationException($"Unknown outcome {outcome.GetType().Name}."),
    };

    /// <summary>
    /// The body answering <c>POST /api/batchUsageEvent</c>: <c>{"count": n, "result": [item, …]}</c>, with item
    /// times written without an offset.
    /// </summary>
    public static byte[] Batch(IReadOnlyList<UsageEventOutcome> outcomes) => JsonBody.Write(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("count", outcomes.Count);
        w.WriteStartArray("result");
        foreach (var outcome in outcomes)
        {
            WriteBatchItem(w, outcome);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static void WriteBatchItem(Utf8JsonWriter w, UsageEventOutcome outcome)
    {
        switch (outcome)
        {
            case UsageEventOutcome.Accepted accepted:
                WriteEvent(w, accepted.Entry, accepted.AnswerUri, EventStatus.Accepted, withOffset: false);
                break;

            case UsageEventOutcome.Duplicate duplicate:
                // No usageEventId of its own: the original is only in error.additionalInfo.acceptedMessage.
                w.WriteStartObject();
                w.WriteString("status", EventStatus.Duplicate);
                w.WriteString("resourceId", duplicate.ResourceId);
                w.WriteString("resourceUri", duplicate.AnswerUri);
                WriteSentFields(w, duplicate.Input);
                w.WriteStartObject("error");
                w.WriteString("code", ConflictCode);
                w.WriteString("message", DuplicateMessage);
                w.WriteStartObject("additionalInfo");
                w.WritePropertyName("acceptedMessage");
                WriteEvent(w, duplicate.Original, duplicate.AnswerUri, EventStatus.Duplicate, withOffset: false);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndObject();
                break;

            case UsageEventOutcome.Rejected rejected:
                w.WriteStartObject();
                w.WriteString("status", rejected.Code);
                WriteNullableString(w, "resourceId", rejected.Input.ResourceId?.ToString("D"));
                WriteNullableString(w, "resourceUri", rejected.Input.ResourceUri);
                WriteSentFields(w, rejected.Input);
                w.WritePropertyName("error");
                ServiceErrorWriter.Write(w, ServiceError.WithDetail(rejected.Code, rejected.Message, rejected.Target));
                w.WriteEndObject();
                break;

            default:
                throw new InvalidOperationException($"Unknown outcome {outcome.GetType().Name}.");
        }
    }

    /// <summary>Writes an accepted event: <c>{"usageEventId", "status", "messageTime", "resourceId", "resourceUri", "quantity", "dimension", "effectiveStartTime", "planId"}</c>.</summary>
    private static void WriteEvent(Utf8JsonWriter w, LedgerEntry entry, string answerUri, string status, bool withOffset)
    {
        w.WriteStartObject();
        w.WriteString("usageEventId", entry.UsageEventId);
        w.WriteString("status", status);
        w.WriteString("messageTime", WireTime.Format(entry.MessageTime, withOffset));
        w.WriteString("resourceId", entry.ResourceId);
        w.WriteString("resourceUri", answerUri);
        JsonBody.WriteQuantity(w, "quantity", entry.Quantity);
        w.WriteString("dimension", entry.Dimension);
        w.WriteString("effectiveStartTime", WireTime.Format(entry.EffectiveStartTime, withOffset));
        w.WriteString("planId", entry.PlanId);
        w.WriteEndObject();
    }

    private static void WriteSentFields(Utf8JsonWriter w, UsageEventInput input)
    {
        JsonBody.WriteQuantity(w, "quantity", input.Quantity);
        WriteNullableString(w, "dimension", input.Dimension);
        WriteNullableString(w, "effectiveStartTime", input.EffectiveStartTime is { } time ? WireTime.Format(time, withOffset: false) : null);
        WriteNullableString(w, "planId", input.PlanId);
    }

    private static void WriteNullableString(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }
}
