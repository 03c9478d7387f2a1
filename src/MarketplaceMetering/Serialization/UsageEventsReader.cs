using System.Globalization;
using System.Text.Json;

namespace MarketplaceMetering.Serialization;

/// <summary>
/// Reads the answer to <c>GET /api/usageEvents</c>, a bare JSON array of daily rows, field by field, so that a bad
/// row is reported by its index and field name. Hand-written over <see cref="JsonDocument"/> rather than a
/// source-generated DTO because the serializer's errors name a JSON path, not what is wrong with which row, and the
/// whole answer is refused anyway: a report with a row missing would silently under-count.
/// </summary>
internal static class UsageEventsReader
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 16 };

    /// <summary>The rows; <see langword="null"/> with <paramref name="problem"/> (a phrase: "row 3's dimension is a number, not text") when the answer is not the documented shape.</summary>
    /// <remarks>
    /// A row that says another offer, plan, dimension, Azure subscription or reconciliation status than
    /// <paramref name="query"/> filters on was not asked for: listed, it would be read as the filtered usage (a row of
    /// another dimension counted as this one's). The answer is refused as any other malformed one. A row that leaves
    /// the field out cannot be checked and is kept.
    /// </remarks>
    public static List<RecordedUsage>? Read(ReadOnlyMemory<byte> body, SecretRedactor redactor, UsageEventQuery query, out string? problem)
    {
        problem = null;
        if (body.Length == 0)
        {
            problem = "the body is empty";
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, Options);
        }
        catch (JsonException)
        {
            problem = "the body is not JSON";
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array)
            {
                problem = "the body is " + TolerantReader.Kind(root) + ", not a list of rows";
                return null;
            }

            var rows = new List<RecordedUsage>(root.GetArrayLength());
            var seen = new Dictionary<RowKey, int>(rows.Capacity);
            var index = 0;
            foreach (var element in root.EnumerateArray())
            {
                var row = ReadRow(element, index, redactor, out problem);
                if (row is null)
                {
                    return null;
                }

                if (NotAsked(row, query, redactor) is { } notAsked)
                {
                    problem = "row " + index.ToString(CultureInfo.InvariantCulture) + " is for " + notAsked;
                    return null;
                }

                // The service lists one row per resource, dimension, day (and plan): the same row twice is a repeat, and
                // summed with its copy (as the reconciler sums a day's rows of several plans) it would double the day.
                var key = new RowKey(row);
                if (seen.TryGetValue(key, out var first))
                {
                    problem = MeteringClientOptions.Format(
                        "rows {0} and {1} are both for resource {2}, dimension '{3}', plan '{4}' on {5:yyyy-MM-dd} ({6}); the service lists one row per resource, dimension and day",
                        first,
                        index,
                        row.UsageResourceId,
                        WireFormat.SafeText(row.Dimension, redactor, 100),
                        WireFormat.SafeText(row.PlanId ?? string.Empty, redactor, 100),
                        row.UsageDate.UtcDateTime,
                        WireFormat.SafeText(row.ReconStatus.ToString(), redactor, 100));
                    return null;
                }

                seen[key] = index;
                rows.Add(row);
                index++;
            }

            return rows;
        }
    }

    /// <summary>What of <paramref name="row"/> differs from a filter of <paramref name="query"/> ("dimension 'dim1', not the 'dim2' asked for"); <see langword="null"/> when it matches.</summary>
    private static string? NotAsked(RecordedUsage row, UsageEventQuery query, SecretRedactor redactor)
    {
        string? Differs(string field, string? value, string? asked) =>
            asked is not null && value is not null && !string.Equals(value, asked, StringComparison.OrdinalIgnoreCase)
                ? field + " '" + WireFormat.SafeText(value, redactor, 100) + "', not the '" + WireFormat.SafeText(asked, redactor, 100) + "' asked for"
                : null;

        return Differs("dimension", row.Dimension, query.Dimension)
            ?? Differs("planId", row.PlanId, query.PlanId)
            ?? Differs("offerId", row.OfferId, query.OfferId)
            ?? Differs("azureSubscriptionId", row.AzureSubscriptionId?.ToString("D"), query.AzureSubscriptionId?.ToString("D"))
            ?? Differs("reconStatus", row.ReconStatus == default ? null : row.ReconStatus.ToString(), query.ReconStatus?.ToString());
    }

    private static RecordedUsage? ReadRow(JsonElement row, int index, SecretRedactor redactor, out string? problem)
    {
        var name = "row " + index.ToString(CultureInfo.InvariantCulture);
        if (row.ValueKind != JsonValueKind.Object)
        {
            problem = name + " is " + TolerantReader.Kind(row) + ", not an object";
            return null;
        }

        var reader = new RowReader(row, name);
        var usageDate = reader.Time("usageDate", required: true);
        var resource = reader.Guid("usageResourceId", required: true);
        var dimension = reader.Text("dimension", required: true);
        var planId = reader.Text("planId");
        var planName = reader.Text("planName");
        var offerId = reader.Text("offerId");
        var offerName = reader.Text("offerName");
        var offerType = reader.Text("offerType");
        var subscription = reader.Guid("azureSubscriptionId");
        var recon = reader.Text("reconStatus");
        var submitted = reader.Quantity("submittedQuantity", required: true);
        var processed = reader.Quantity("processedQuantity");
        var count = reader.Count("submittedCount");
        if (reader.Problem is { } found)
        {
            problem = redactor.Redact(found);
            return null;
        }

        problem = null;
        return new RecordedUsage(
            usageDate!.Value,
            resource!.Value,
            redactor.Redact(dimension!),
            redactor.RedactOrNull(planId),
            redactor.RedactOrNull(planName),
            redactor.RedactOrNull(offerId),
            redactor.RedactOrNull(offerName),
            redactor.RedactOrNull(offerType),
            subscription,
            recon is null ? default : new ReconStatus(redactor.Redact(recon)),
            submitted!.Value,
            processed,
            count);
    }


    /// <summary>What makes a row the same row: resource, dimension, UTC day, plan and status (texts ignoring case).</summary>
    private readonly struct RowKey(RecordedUsage row) : IEquatable<RowKey>
    {
        private readonly Guid _resource = row.UsageResourceId;
        private readonly string _dimension = row.Dimension;
        private readonly DateTime _day = row.UsageDate.UtcDateTime.Date;
        private readonly string? _plan = row.PlanId;
        private readonly ReconStatus _status = row.ReconStatus;

        public bool Equals(RowKey other) =>
            _resource == other._resource
            && _day == other._day
            && string.Equals(_dimension, other._dimension, StringComparison.OrdinalIgnoreCase)
            && string.Equals(_plan, other._plan, StringComparison.OrdinalIgnoreCase)
            && _status == other._status;

        public override bool Equals(object? obj) => obj is RowKey other && Equals(other);

        public override int GetHashCode() =>
            (_resource, _day, StringComparer.OrdinalIgnoreCase.GetHashCode(_dimension), _plan is null ? 0 : StringComparer.OrdinalIgnoreCase.GetHashCode(_plan), _status.GetHashCode()).GetHashCode();
    }

    /// <summary>Reads the fields of one row; the first problem found is kept.</summary>
    private sealed class RowReader(JsonElement row, string name)
    {
        public string? Problem { get; private set; }

        public string? Text(string field, bool required = false)
        {
            if (Value(field, required) is not { } value)
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.String)
            {
                return Fail<string>(field, TolerantReader.Kind(value) + ", not text");
            }

            string? text;
            try
            {
                text = value.GetString();
            }
            catch (InvalidOperationException)
            {
                // An escaped half of a surrogate pair (\uD800) is valid JSON but no string: System.Text.Json refuses to read it.
                return Fail<string>(field, "not valid text");
            }

            return required && string.IsNullOrWhiteSpace(text) ? Fail<string>(field, "empty") : text;
        }

        public DateTimeOffset? Time(string field, bool required = false)
        {
            var text = Text(field, required);
            if (text is null)
            {
                return null;
            }

            return (WireFormat.ParseTime(text) ?? WireFormat.ParseDay(text)) is { } time ? time : Fail(field, "not a time", (DateTimeOffset?)null);
        }

        public Guid? Guid(string field, bool required = false)
        {
            var text = Text(field, required);
            if (text is null || (!required && text.Length == 0))
            {
                return null;
            }

            return WireFormat.ParseGuid(text) is { } id ? id : Fail(field, "not a GUID", (Guid?)null);
        }

        public decimal? Quantity(string field, bool required = false)
        {
            if (Value(field, required) is not { } value)
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number))
            {
                return Fail(field, TolerantReader.Kind(value) + ", not a number", (decimal?)null);
            }

            if (WireFormat.ToDecimal(number) is { } quantity && quantity >= 0)
            {
                return quantity;
            }

            // A total past what a decimal holds (RecordedUsage's quantities are decimals) is a quantity all the same: say so.
            var shown = number.ToString("R", CultureInfo.InvariantCulture);
            return Fail(
                field,
                number > 0 ? shown + ", more than this client can hold (a decimal, at most 79228162514264337593543950335)" : "not a quantity (" + shown + ")",
                (decimal?)null);
        }

        public int? Count(string field)
        {
            if (Value(field, required: false) is not { } value)
            {
                return null;
            }

            return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var count) && count >= 0
                ? count
                : Fail(field, value.ValueKind == JsonValueKind.Number ? "not a count" : TolerantReader.Kind(value) + ", not a number", (int?)null);
        }

        private JsonElement? Value(string field, bool required)
        {
            if (Problem is not null)
            {
                return null;
            }

            // JSON allows a name twice and readers differ on which one counts (this one would take the first, the
            // serializer the last): a row that names a field twice says two things, so the answer is refused.
            JsonElement? found = null;
            foreach (var property in row.EnumerateObject())
            {
                if (string.Equals(property.Name, field, StringComparison.OrdinalIgnoreCase))
                {
                    if (found is not null)
                    {
                        Problem = name + " has " + field + " twice";
                        return null;
                    }

                    found = property.Value;
                }
            }

            if (found is { ValueKind: not JsonValueKind.Null } value)
            {
                return value;
            }

            if (required)
            {
                Problem = name + " has no " + field;
            }

            return null;
        }

        private T? Fail<T>(string field, string what)
            where T : class
        {
            Problem ??= name + "'s " + field + " is " + what;
            return null;
        }

        private T Fail<T>(string field, string what, T none)
        {
            Problem ??= name + "'s " + field + " is " + what;
            return none;
        }
    }
}
