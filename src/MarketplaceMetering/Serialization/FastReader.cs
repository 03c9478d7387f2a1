using System.Text;
using System.Text.Json;

namespace MarketplaceMetering.Serialization;

/// <summary>
/// Reads the common answers (a single event accepted; batch items Accepted, Duplicate with their original, or of an
/// unknown status) with a <see cref="Utf8JsonReader"/> straight from the answer's bytes, allocating nothing per item
/// beyond the result objects a caller receives. Anything else (another status, a missing item, a value of an
/// unexpected type or format, an escaped string, a property name in another case) makes it give up and return
/// <see langword="null"/>: the answer is then read by the DTO and tolerant paths, which hold every rule for odd answers.
/// The two paths must agree wherever this one answers; a test compares them on every canned answer.
/// </summary>
internal static class FastReader
{
    private const int MaxDepth = 32;

    [ThreadStatic]
    private static Item[]? _items;

    /// <summary>The result for a single event's 200 answer, or <see langword="null"/> to read it the slower way.</summary>
    public static UsageEventResult? TryReadSingle(UsageEvent sent, RawResponse response)
    {
        try
        {
            return IsValidUtf8(response.Body) ? ReadSingle(sent, response) : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null; // not JSON, or not UTF-8: the slow path words the error
        }
    }

    /// <summary>One result per sent event for a batch's 200 answer, or <see langword="null"/> to read it the slower way.</summary>
    public static UsageEventResult[]? TryReadBatch(IReadOnlyList<UsageEvent> sent, RawResponse response)
    {
        try
        {
            return IsValidUtf8(response.Body) ? ReadBatch(sent, response) : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Strings this reader skips are never decoded, so it checks the whole body first: the slow path decodes every
    /// string and marks an item with invalid text as malformed, and the two must agree.
    /// </summary>
    private static bool IsValidUtf8(ReadOnlyMemory<byte> body)
    {
#if NET
        return System.Text.Unicode.Utf8.IsValid(body.Span);
#else
        if (!System.Runtime.InteropServices.MemoryMarshal.TryGetArray(body, out var segment))
        {
            return false;
        }

        try
        {
            StrictUtf8.GetCharCount(segment.Array!, segment.Offset, segment.Count);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
#endif
    }

#if !NET
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
#endif

    private static UsageEventResult.Accepted? ReadSingle(UsageEvent sent, RawResponse response)
    {
        var body = response.Body.Span;
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxDepth });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject || !TryReadItem(ref reader, out var item) || !item.StatusRead || reader.Read())
        {
            return null;
        }

        // Only an Accepted that echoes the event exactly; everything else (and its error message) is the slow path's.
        if (item.Status != UsageEventStatus.Accepted || !Echoes(body, sent, item) || item.UsageEventId is not { } id || item.MessageTime is not { } messageTime
            || item.Quantity is not { } held || !WireFormat.SameOnTheWire(sent.Quantity, held))
        {
            return null;
        }

        return new UsageEventResult.Accepted(sent, id, messageTime, item.ResourceId, response.Ids);
    }

    private static UsageEventResult[]? ReadBatch(IReadOnlyList<UsageEvent> sent, RawResponse response)
    {
        var body = response.Body.Span;
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = MaxDepth });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        var items = _items ??= new Item[32];
        var count = 0;
        var sawResult = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("result"u8))
            {
                if (sawResult || !reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                {
                    return null;
                }

                sawResult = true;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject || !TryReadItem(ref reader, out var item) || !item.StatusRead)
                    {
                        return null;
                    }

                    if (count == items.Length)
                    {
                        Array.Resize(ref items, items.Length * 2);
                        _items = items;
                    }

                    items[count++] = item;
                }
            }
            else if (IsNamed(ref reader, ResultName) || !reader.Read() || !reader.TrySkip())
            {
                // "result" in another case is read by the slow path (case-insensitive, the last one given): give up.
                return null;
            }
        }

        if (!sawResult || reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            return null;
        }

        try
        {
            return Map(body, sent, items, count, response);
        }
        finally
        {
            Array.Clear(items, 0, count);
        }
    }

    private static UsageEventResult[]? Map(ReadOnlySpan<byte> body, IReadOnlyList<UsageEvent> sent, Item[] items, int count, RawResponse response)
    {
        var results = new UsageEventResult[sent.Count];
        for (var i = 0; i < sent.Count; i++)
        {
            // The service answers in the order sent, so the item at the same position is tried first; any other order
            // still matches, by a scan.
            var match = -1;
            if (i < count && !items[i].Taken && SameSlot(body, sent[i], items[i]))
            {
                match = i;
            }
            else
            {
                for (var k = 0; k < count; k++)
                {
                    if (!items[k].Taken && SameSlot(body, sent[i], items[k]))
                    {
                        match = k;
                        break;
                    }
                }
            }

            if (match < 0)
            {
                return null; // missing from the answer: the slow path reports and logs it
            }

            items[match].Taken = true;
            var item = items[match];
            switch (item.Status)
            {
                case UsageEventStatus.Accepted when item.UsageEventId is { } id && item.MessageTime is { } messageTime
                                                     && (item.Quantity is not { } held || WireFormat.SameOnTheWire(sent[i].Quantity, held)):
                    results[i] = new UsageEventResult.Accepted(sent[i], id, messageTime, item.ResourceId, response.Ids);
                    break;
                case UsageEventStatus.Duplicate:
                    results[i] = new UsageEventResult.Duplicate(sent[i], Original(body, sent[i], item, response.Redactor), response.Ids);
                    break;
                case UsageEventStatus.Unknown when !item.HasError && item.RawStatus is { } raw:
                    results[i] = new UsageEventResult.Unknown(sent[i], response.Redactor.Redact(raw), null, null, null, null, response.Ids);
                    break;
                default:
                    return null;
            }
        }

        return results;
    }

    private static AcceptedUsageEvent? Original(ReadOnlySpan<byte> body, UsageEvent sent, in Item item, SecretRedactor redactor)
    {
        if (item.Original is not { } original)
        {
            return null;
        }

        if (original.UsageEventId is not { } id || WireFormat.ToDecimal(original.Quantity) is not { } quantity || original.EffectiveStartTime is not { } time)
        {
            return null;
        }

        return new AcceptedUsageEvent(
            id,
            original.MessageTime,
            original.ResourceId,
            redactor.RedactOrNull(TextOrSame(body, original.ResourceUri, sent.ResourceUri)),
            redactor.RedactOrNull(TextOrSame(body, original.PlanId, sent.PlanId)),
            redactor.RedactOrNull(TextOrSame(body, original.Dimension, sent.Dimension)),
            quantity,
            time);
    }

    /// <summary>Reads one item object (the reader on its <c>{</c>) to its <c>}</c>; <see langword="false"/> at the first surprise.</summary>
    private static bool TryReadItem(ref Utf8JsonReader reader, out Item item)
    {
        item = default;
        var seen = 0;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return true;
            }

            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                return false;
            }

            // A member given twice is read by the slow path as its last value (a later "error": null drops a
            // Duplicate's original): give up rather than answer from a value the slow path overwrites.
            var known = KnownIndex(ref reader);
            if (known >= 0)
            {
                if ((seen & (1 << known)) != 0)
                {
                    return false;
                }

                seen |= 1 << known;
            }

            if (reader.ValueTextEquals("status"u8))
            {
                if (!reader.Read() || !TryStatus(ref reader, ref item))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("usageEventId"u8))
            {
                if (!reader.Read() || !TryGuid(ref reader, out item.UsageEventId))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("messageTime"u8))
            {
                if (!reader.Read() || !TryTime(ref reader, out item.MessageTime))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("resourceId"u8))
            {
                if (!reader.Read() || !TryGuid(ref reader, out item.ResourceId))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("resourceUri"u8))
            {
                if (!reader.Read() || !TryRange(ref reader, out item.ResourceUri))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("quantity"u8))
            {
                if (!reader.Read() || !TryNumber(ref reader, out item.Quantity))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("dimension"u8))
            {
                if (!reader.Read() || !TryRange(ref reader, out item.Dimension))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("planId"u8))
            {
                if (!reader.Read() || !TryRange(ref reader, out item.PlanId))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("effectiveStartTime"u8))
            {
                if (!reader.Read() || !TryTime(ref reader, out item.EffectiveStartTime))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                if (!reader.Read() || !TryError(ref reader, ref item))
                {
                    return false;
                }
            }
            else if (IsKnownInAnotherCase(ref reader) || !reader.Read() || !reader.TrySkip())
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>
    /// An <c>error</c>: <see langword="null"/>, or an object whose <c>additionalInfo.acceptedMessage</c> (a Duplicate's
    /// original) is read; its other members are not needed by the statuses this reader maps, and are skipped.
    /// </summary>
    private static bool TryError(ref Utf8JsonReader reader, ref Item item)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        if (item.HasError)
        {
            return false; // a second "error": the slow path reads the last one
        }

        item.HasError = true;
        var sawAdditionalInfo = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("additionalInfo"u8))
            {
                if (sawAdditionalInfo)
                {
                    return false; // given twice: the slow path reads the last one
                }

                sawAdditionalInfo = true;
                if (!reader.Read())
                {
                    return false;
                }

                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("acceptedMessage"u8))
                    {
                        if (item.Original is not null || !reader.Read() || reader.TokenType != JsonTokenType.StartObject || !TryReadOriginal(ref reader, out var original))
                        {
                            return false;
                        }

                        item.Original = original;
                    }
                    else if (IsNamed(ref reader, AcceptedMessageName) || !reader.Read() || !reader.TrySkip())
                    {
                        return false;
                    }
                }

                if (reader.TokenType != JsonTokenType.EndObject)
                {
                    return false;
                }
            }
            else if (IsNamed(ref reader, DetailsName) || IsNamed(ref reader, AdditionalInfoName))
            {
                // Details go into failure results, which this reader leaves to the slow path; and a member named in
                // another case is read by the slow path (case-insensitive), so give up.
                return false;
            }
            else if (!reader.Read() || !reader.TrySkip())
            {
                return false;
            }
        }

        return reader.TokenType == JsonTokenType.EndObject;
    }

    private static bool TryReadOriginal(ref Utf8JsonReader reader, out OriginalFields original)
    {
        original = default;
        if (!TryReadItem(ref reader, out var item) || item.HasError)
        {
            return false;
        }

        original = new OriginalFields(item.UsageEventId, item.MessageTime, item.ResourceId, item.ResourceUri, item.PlanId, item.Dimension, item.Quantity, item.EffectiveStartTime);
        return true;
    }

    private static bool TryStatus(ref Utf8JsonReader reader, ref Item item)
    {
        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
        {
            return false;
        }

        item.StatusRead = true;
        if (reader.ValueTextEquals("Accepted"u8))
        {
            item.Status = UsageEventStatus.Accepted;
            return true;
        }

        if (reader.ValueTextEquals("Duplicate"u8))
        {
            item.Status = UsageEventStatus.Duplicate;
            return true;
        }

        // A documented failure status (in any case) is the slow path's; only a status nobody documents is read here.
        var text = reader.GetString()!;
        if (string.IsNullOrWhiteSpace(text) || ResponseMapper.IsKnownStatus(text))
        {
            return false;
        }

        item.Status = UsageEventStatus.Unknown;
        item.RawStatus = text;
        return true;
    }

    private static bool TryGuid(ref Utf8JsonReader reader, out Guid? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || !reader.TryGetGuid(out var guid))
        {
            return false;
        }

        value = guid;
        return true;
    }

    /// <summary>An ISO 8601 time; one without an offset is UTC, as the batch answer writes them.</summary>
    private static bool TryTime(ref Utf8JsonReader reader, out DateTimeOffset? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
        {
            return false;
        }

        var text = reader.ValueSpan;
        if (!WireFormat.IsWireTime(text))
        {
            return false; // not the wire's shape: the slow path finds no time in it either
        }

        var dot = text.IndexOf((byte)'.');
        if (dot >= 0 && FractionDigits(text.Slice(dot + 1)) > 7)
        {
            return false; // finer than a tick: the two paths round it differently
        }

        var hasOffset = text.Length > 19 && (text[text.Length - 1] is (byte)'Z' or (byte)'z' || text[text.Length - 6] is (byte)'+' or (byte)'-');
        if (hasOffset)
        {
            if (!reader.TryGetDateTimeOffset(out var withOffset))
            {
                return false;
            }

            value = withOffset.ToUniversalTime();
            return true;
        }

        if (!reader.TryGetDateTime(out var local) || local.Kind != DateTimeKind.Unspecified)
        {
            return false;
        }

        value = new DateTimeOffset(local.Ticks, TimeSpan.Zero);
        return true;
    }

    private static int FractionDigits(ReadOnlySpan<byte> text)
    {
        var n = 0;
        while (n < text.Length && text[n] is >= (byte)'0' and <= (byte)'9')
        {
            n++;
        }

        return n;
    }

    private static bool TryNumber(ref Utf8JsonReader reader, out double? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var number))
        {
            return false;
        }

        value = number;
        return true;
    }

    /// <summary>A string's place in the body, compared without making a string of it.</summary>
    private static bool TryRange(ref Utf8JsonReader reader, out Place? value)
    {
        value = null;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return true;
        }

        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || reader.HasValueSequence)
        {
            return false;
        }

        value = new Place((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
        return true;
    }

    /// <summary>A documented property name in another case: the slow path reads names case-insensitively, so give up.</summary>
    private static bool IsKnownInAnotherCase(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length > 32)
        {
            return true;
        }

        var name = reader.ValueSpan;
        foreach (var known in KnownNames)
        {
            if (name.Length == known.Length && AsciiEqualsIgnoreCase(name, known))
            {
                return true;
            }
        }

        return false;
    }

    private const string ResultName = "result";
    private const string AcceptedMessageName = "acceptedMessage";
    private const string AdditionalInfoName = "additionalInfo";
    private const string DetailsName = "details";

    /// <summary>Whether the property name is <paramref name="name"/> in any case (or escaped, which could be anything).</summary>
    private static bool IsNamed(ref Utf8JsonReader reader, string name) =>
        reader.ValueIsEscaped || reader.HasValueSequence || (reader.ValueSpan.Length == name.Length && AsciiEqualsIgnoreCase(reader.ValueSpan, name));

    private static bool AsciiEqualsIgnoreCase(ReadOnlySpan<byte> utf8, string ascii)
    {
        for (var i = 0; i < utf8.Length; i++)
        {
            if ((utf8[i] | 0x20) != (ascii[i] | 0x20))
            {
                return false;
            }
        }

        return true;
    }

    private static readonly string[] KnownNames =
        ["status", "usageEventId", "messageTime", "resourceId", "resourceUri", "quantity", "dimension", "planId", "effectiveStartTime", "error"];

    /// <summary>The index in <see cref="KnownNames"/> of the property name the reader is on (exact case), or -1.</summary>
    private static int KnownIndex(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            return -1;
        }

        var name = reader.ValueSpan;
        for (var i = 0; i < KnownNames.Length; i++)
        {
            if (name.Length == KnownNames[i].Length && name.SequenceEqual(KnownNamesUtf8[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static readonly byte[][] KnownNamesUtf8 = KnownNames.Select(n => Encoding.UTF8.GetBytes(n)).ToArray();

    private static bool SameSlot(ReadOnlySpan<byte> body, UsageEvent sent, in Item item)
    {
        var sameResource = sent.ResourceUri is { } uri
            ? TextEquals(body, item.ResourceUri, uri)
            : item.ResourceId == sent.ResourceId;
        return sameResource
            && TextEquals(body, item.PlanId, sent.PlanId)
            && TextEquals(body, item.Dimension, sent.Dimension)
            && item.EffectiveStartTime is { } time
            && UsageEventKey.HourOf(time) == sent.Hour;
    }

    private static bool Echoes(ReadOnlySpan<byte> body, UsageEvent sent, in Item item) => SameSlot(body, sent, item);

    /// <summary>Compares a string in the body with <paramref name="expected"/>, ignoring case, as the slow path does.</summary>
    private static bool TextEquals(ReadOnlySpan<byte> body, Place? place, string expected)
    {
        if (place is not { } p)
        {
            return false;
        }

        var utf8 = body.Slice(p.Start, p.Length);
#if NET
        if (utf8.Length <= 512)
        {
            Span<char> chars = stackalloc char[utf8.Length];
            var length = Encoding.UTF8.GetChars(utf8, chars);
            return chars.Slice(0, length).Equals(expected.AsSpan(), StringComparison.OrdinalIgnoreCase);
        }
#endif
        return string.Equals(Utf8(utf8), expected, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The text at <paramref name="place"/>: <paramref name="same"/> itself when the text is exactly that (a replay's
    /// original repeats the plan and dimension sent), else a new string.
    /// </summary>
    private static string? TextOrSame(ReadOnlySpan<byte> body, Place? place, string? same)
    {
        if (place is not { } p)
        {
            return null;
        }

        var utf8 = body.Slice(p.Start, p.Length);
#if NET
        if (same is not null && utf8.Length <= 512)
        {
            Span<char> chars = stackalloc char[utf8.Length];
            var length = Encoding.UTF8.GetChars(utf8, chars);
            if (chars.Slice(0, length).SequenceEqual(same.AsSpan()))
            {
                return same;
            }
        }
#endif
        return Utf8(utf8);
    }

    private static string Utf8(ReadOnlySpan<byte> bytes)
    {
#if NET
        return Encoding.UTF8.GetString(bytes);
#else
        return Encoding.UTF8.GetString(bytes.ToArray());
#endif
    }

    /// <summary>Where a string's UTF-8 bytes are in the body.</summary>
    private readonly record struct Place(int Start, int Length);

    /// <summary>What was read of one item: values, and places of strings in the body.</summary>
    private struct Item
    {
        public bool StatusRead;
        public UsageEventStatus Status;
        public string? RawStatus;
        public Guid? UsageEventId;
        public DateTimeOffset? MessageTime;
        public Guid? ResourceId;
        public Place? ResourceUri;
        public double? Quantity;
        public Place? Dimension;
        public Place? PlanId;
        public DateTimeOffset? EffectiveStartTime;
        public bool HasError;
        public OriginalFields? Original;
        public bool Taken;
    }

    private readonly record struct OriginalFields(
        Guid? UsageEventId,
        DateTimeOffset? MessageTime,
        Guid? ResourceId,
        Place? ResourceUri,
        Place? PlanId,
        Place? Dimension,
        double? Quantity,
        DateTimeOffset? EffectiveStartTime);
}
