using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Serialization;

/// <summary>
/// Maps the service's answers to results: the documented shapes, the recorded quirks (a batch Duplicate's original
/// only inside <c>error.additionalInfo.acceptedMessage</c>, times without an offset, long doubles, items in any order)
/// and unknown statuses. Malformed answers become <see cref="MeteringException"/>, never a raw JSON exception.
/// </summary>
internal static class ResponseMapper
{
    private const string EffectiveStartTimeField = "effectiveStartTime";

    /// <summary>The top-level message of the documented 400, which says nothing about the field (its details do).</summary>
    private const string GenericMessage = "One or more errors have occurred.";

    /// <summary>How many of an error's details a message quotes: a hostile answer can list thousands.</summary>
    private const int MaxDetails = 5;

    /// <summary>
    /// The service answers "expired or in future" for both ends of its 24-hour window. An event younger than this by the
    /// client's clock cannot have expired (clocks disagree by minutes, not half a day): the service's clock is behind,
    /// and the event is refused as in its future. That is a retryable <c>Error</c>, not lost revenue.
    /// </summary>
    public static readonly TimeSpan ExpiryPlausibleAfter = TimeSpan.FromHours(12);

    private static readonly Dictionary<string, UsageEventStatus> KnownStatuses = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Accepted"] = UsageEventStatus.Accepted,
        ["Duplicate"] = UsageEventStatus.Duplicate,
        ["Expired"] = UsageEventStatus.Expired,
        ["ResourceNotFound"] = UsageEventStatus.ResourceNotFound,
        ["ResourceNotAuthorized"] = UsageEventStatus.ResourceNotAuthorized,
        ["ResourceNotActive"] = UsageEventStatus.ResourceNotActive,
        ["InvalidDimension"] = UsageEventStatus.InvalidDimension,
        ["InvalidQuantity"] = UsageEventStatus.InvalidQuantity,
        ["BadArgument"] = UsageEventStatus.BadArgument,
        ["Error"] = UsageEventStatus.Error,
    };

    /// <summary>Whether <paramref name="status"/> is a status the service documents (in any case).</summary>
    public static bool IsKnownStatus(string status) => KnownStatuses.ContainsKey(status);

    /// <param name="sent">The event sent.</param>
    /// <param name="response">The service's answer.</param>
    /// <param name="operation">The call, for messages.</param>
    /// <param name="useFastReader"><see langword="false"/> to read with the DTO and tolerant paths only (tests compare the two).</param>
    public static UsageEventResult MapSingle(UsageEvent sent, RawResponse response, string operation, bool useFastReader = true)
    {
        if (response.StatusCode == 200 && useFastReader && FastReader.TryReadSingle(sent, response) is { } fast)
        {
            return fast;
        }

        switch (response.StatusCode)
        {
            case 200:
            {
                var item = WireFormat.Read(response.Body, MeteringJsonContext.Default.UsageEventResponseDto, out var problem)
                    ?? throw Malformed(response, operation, problem!);
                if (EchoMismatch(sent, item, response.Redactor) is { } mismatch)
                {
                    throw NotRetryable(response, MeteringClientOptions.Format(
                        "The metering service answered {0} with HTTP 200, but its answer names {1}. The service echoes what it recorded, so this answer does not show that the event was recorded. Submitting it again is safe: a recorded event comes back as a replayed Duplicate. Request id {2}.",
                        operation,
                        mismatch,
                        response.RequestId));
                }

                var result = MapItem(sent, item, response, out problem);
                return result ?? throw Malformed(response, operation, problem!);
            }

            case 409:
            {
                // A 409 is a Duplicate whatever its body; an unreadable body only costs the original (then a conflict).
                var error = WireFormat.Read(response.Body, MeteringJsonContext.Default.ErrorDto, out _)
                    ?? TolerantReader.ReadError(response.Body, out _);
                return new UsageEventResult.Duplicate(sent, ReadOriginal(error?.AdditionalInfo?.AcceptedMessage, response.Redactor), response.Ids);
            }

            case 400:
            {
                var error = WireFormat.Read(response.Body, MeteringJsonContext.Default.ErrorDto, out var problem)
                    ?? TolerantReader.ReadError(response.Body, out _)
                    ?? throw Malformed(response, operation, problem!);
                return Failure(StatusOf400(error), sent, error, response);
            }

            default:
                throw ToException(response, operation);
        }
    }

    public static BatchUsageEventResult MapBatch(IReadOnlyList<UsageEvent> sent, RawResponse response, string operation, ILogger logger, bool useFastReader = true)
    {
        if (response.StatusCode != 200)
        {
            throw ToException(response, operation);
        }

        if (useFastReader && FastReader.TryReadBatch(sent, response) is { } fast)
        {
            return new BatchUsageEventResult(fast);
        }

        // The typed path reads the documented JSON; an answer it refuses is read item by item, so that one odd item
        // degrades only its own event.
        var answer = WireFormat.Read(response.Body, MeteringJsonContext.Default.BatchUsageEventResponseDto, out var problem)
            ?? TolerantReader.ReadBatch(response.Body, out _)
            ?? throw Malformed(response, operation, problem!);
        if (answer.Result is null)
        {
            throw Malformed(response, operation, "the body has no \"result\" array");
        }

        var items = answer.Result.Where(i => i is not null).Select(i => i!).ToList();
        var taken = new bool[items.Count];
        var results = new UsageEventResult[sent.Count];
        for (var i = 0; i < sent.Count; i++)
        {
            var index = FindItem(sent[i], items, taken);
            if (index < 0)
            {
                Log.BatchItemMissing(logger, response.RequestId, sent[i].ResourceText, sent[i].Dimension, sent[i].Hour);
                results[i] = new UsageEventResult.Error(
                    sent[i],
                    "MissingFromResponse",
                    "The service's answer had no item for this event, so whether it was recorded is unknown. Sending it again is safe: a recorded event comes back as a replayed Duplicate.",
                    target: null,
                    details: null,
                    response.Ids);
                continue;
            }

            taken[index] = true;
            results[i] = MapItem(sent[i], items[index], response, out var itemProblem)
                ?? new UsageEventResult.Unknown(
                    sent[i],
                    response.Redactor.Redact(items[index].Status ?? items[index].RawStatus ?? string.Empty),
                    "MalformedItem",
                    "The service's item for this event could not be read: " + response.Redactor.Redact(itemProblem!) + ". Sending it again is safe: a recorded event comes back as a replayed Duplicate.",
                    target: null,
                    details: null,
                    response.Ids);
        }

        return new BatchUsageEventResult(results);
    }

    /// <summary>
    /// The rows of a usage report; any other status, a body that is not the documented list of rows, or a row that
    /// another offer, plan, dimension, subscription or status than <paramref name="query"/> filters on, is a <see cref="MeteringException"/>.
    /// </summary>
    public static List<RecordedUsage> MapUsageEvents(RawResponse response, string operation, UsageEventQuery query)
    {
        if (response.StatusCode != 200)
        {
            throw ToException(response, operation);
        }

        return UsageEventsReader.Read(response.Body, response.Redactor, query, out var problem)
            ?? throw Malformed(response, operation, problem!);
    }

    /// <summary>The exception for an answer that is not a per-event outcome: 401/403, an unexpected status.</summary>
    public static MeteringException ToException(RawResponse response, string operation)
    {
        var error = response.BodyTruncated ? null : WireFormat.Read(response.Body, MeteringJsonContext.Default.ErrorDto, out _);
        var redactor = response.Redactor;
        var serviceSays = error?.Message is { Length: > 0 } said
            ? " The service said: " + Quote(said, redactor) + (error.Code is { Length: > 0 } code ? " (" + Quote(code, redactor) + ")." : ".") + DetailsSaid(error, redactor)
            : " Body: " + WireFormat.Excerpt(response.Body, redactor, response.BodyTruncated);

        if (response.StatusCode is 401 or 403)
        {
            return new MeteringAuthorizationException(
                MeteringClientOptions.Format(
                    "The metering service refused {0} with HTTP {1}.{2} Likely causes: the token is for another tenant or app registration than the one in the offer's technical configuration in Partner Center; the token was issued for another resource than the marketplace's ({3}); or the resource was bought under another publisher app (a managed application must use its own managed identity or the app named in its plan). Request id {4}.",
                    operation,
                    response.StatusCode,
                    serviceSays,
                    MeteringClient.Scope,
                    response.RequestId),
                response.StatusCode,
                redactor.RedactOrNull(error?.Code),
                response.RequestId,
                response.CorrelationId);
        }

        var retryable = RetryPolicy.IsTransientStatus(response.StatusCode);
        return new MeteringException(
            MeteringClientOptions.Format(
                "The metering service answered {0} with HTTP {1}{2}.{3}{4} Request id {5}.",
                operation,
                response.StatusCode,
                string.IsNullOrEmpty(response.ReasonPhrase) ? string.Empty : " " + response.ReasonPhrase,
                serviceSays,
                !retryable ? string.Empty
                    : response.RetryStoppedBecause is { } why ? " The failure is transient; retrying stopped because " + why + "."
                    : " The failure is transient and outlasted the retries; submitting again later is safe.",
                response.RequestId),
            response.StatusCode,
            redactor.RedactOrNull(error?.Code),
            response.RequestId,
            response.CorrelationId,
            retryable);
    }

    /// <summary>
    /// The details of an error, as <c> Details: 'target': 'message'; …</c> (the first few): the documented 400 names what
    /// was wrong only there, under a top-level "One or more errors have occurred.".
    /// </summary>
    private static string DetailsSaid(ErrorDto error, SecretRedactor redactor)
    {
        var said = error.Details?
            .Where(d => d is not null && (!string.IsNullOrWhiteSpace(d.Message) || !string.IsNullOrWhiteSpace(d.Target)))
            .Take(MaxDetails)
            .Select(d => (string.IsNullOrWhiteSpace(d!.Target) ? string.Empty : Quote(d.Target!, redactor) + ": ") + Quote(d.Message ?? string.Empty, redactor))
            .ToList();
        return said is { Count: > 0 } ? " Details: " + string.Join("; ", said) + "." : string.Empty;
    }

    private static MeteringException Malformed(RawResponse response, string operation, string problem) => NotRetryable(
        response,
        MeteringClientOptions.Format(
            "The metering service answered {0} with HTTP {1}, but {2}. Body: {3} Request id {4}.",
            operation,
            response.StatusCode,
            problem,
            WireFormat.Excerpt(response.Body, response.Redactor, response.BodyTruncated),
            response.RequestId));

    private static MeteringException NotRetryable(RawResponse response, string message) =>
        new(message, response.StatusCode, errorCode: null, response.RequestId, response.CorrelationId, isRetryable: false);

    /// <summary>Maps one answer item; <see langword="null"/> with <paramref name="problem"/> when the item cannot be read.</summary>
    private static UsageEventResult? MapItem(UsageEvent sent, UsageEventResponseDto item, RawResponse response, out string? problem)
    {
        problem = item.Problem;
        if (problem is not null)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(item.Status))
        {
            problem = "it has no status";
            return null;
        }

        var redactor = response.Redactor;
        if (!KnownStatuses.TryGetValue(item.Status!, out var status))
        {
            var error = item.Error;
            return new UsageEventResult.Unknown(sent, redactor.Redact(item.Status!), redactor.RedactOrNull(error?.Code), redactor.RedactOrNull(error?.Message), redactor.RedactOrNull(error?.Target), Details(error, redactor), response.Ids);
        }

        switch (status)
        {
            case UsageEventStatus.Accepted:
                if (WireFormat.ParseGuid(item.UsageEventId) is not { } id)
                {
                    problem = "its status is Accepted but its usageEventId is missing or not a GUID";
                    return null;
                }

                if (WireFormat.ParseTime(item.MessageTime) is not { } messageTime)
                {
                    problem = "its status is Accepted but its messageTime is missing or not a time";
                    return null;
                }

                if (item.Quantity is { } held && !WireFormat.SameOnTheWire(sent.Quantity, held))
                {
                    // The service echoes what it recorded: this item is not proof that this event's quantity was.
                    return new UsageEventResult.Error(
                        sent,
                        "QuantityMismatch",
                        MeteringClientOptions.Format(
                            "The service's item for this event says Accepted with quantity {0}, not the {1} sent, so whether this event was recorded is unknown. Sending it again is safe: a recorded event comes back as a Duplicate carrying what the service holds.",
                            WireFormat.ShortestRoundTrip(held),
                            sent.Quantity.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        "quantity",
                        details: null,
                        response.Ids);
                }

                return new UsageEventResult.Accepted(sent, id, messageTime, WireFormat.ParseGuid(item.ResourceId), response.Ids);

            case UsageEventStatus.Duplicate:
                return new UsageEventResult.Duplicate(sent, ReadOriginal(item.Error?.AdditionalInfo?.AcceptedMessage, redactor), response.Ids);

            default:
                var failure = item.Error ?? new ErrorDto { Code = item.Status };
                return Failure(status, sent, failure, response);
        }
    }

    /// <summary>
    /// What a single-event 200 names differently from the event sent (resource, plan, dimension, hour, quantity), in
    /// words; <see langword="null"/> when it echoes the event. A resource sent by URI is compared by URI: the service
    /// answers it with a resource usage id that differs from anything sent.
    /// </summary>
    private static string? EchoMismatch(UsageEvent sent, UsageEventResponseDto item, SecretRedactor redactor)
    {
        string Names(string field, string? theirs, string ours) =>
            field + " " + (theirs is null ? "(missing)" : "'" + redactor.Redact(theirs.Length > 100 ? theirs.Remove(100) + "…" : theirs) + "'") + " where the event has '" + ours + "'";

        if (sent.ResourceUri is { } uri)
        {
            if (!string.Equals(uri, item.ResourceUri, StringComparison.OrdinalIgnoreCase))
            {
                return Names("resourceUri", item.ResourceUri, uri);
            }
        }
        else if (WireFormat.ParseGuid(item.ResourceId) != sent.ResourceId)
        {
            return Names("resourceId", item.ResourceId, sent.ResourceText);
        }

        if (!string.Equals(sent.PlanId, item.PlanId, StringComparison.OrdinalIgnoreCase))
        {
            return Names("planId", item.PlanId, sent.PlanId);
        }

        if (!string.Equals(sent.Dimension, item.Dimension, StringComparison.OrdinalIgnoreCase))
        {
            return Names("dimension", item.Dimension, sent.Dimension);
        }

        if (WireFormat.ParseTime(item.EffectiveStartTime) is not { } time || UsageEventKey.HourOf(time) != sent.Hour)
        {
            return Names("effectiveStartTime", item.EffectiveStartTime, WireFormat.FormatTime(sent.EffectiveStartTime)) + " (another hour)";
        }

        if (item.Quantity is { } held && !WireFormat.SameOnTheWire(sent.Quantity, held))
        {
            return Names("quantity", WireFormat.ShortestRoundTrip(held), sent.Quantity.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return null;
    }

    private static UsageEventResult Failure(UsageEventStatus status, UsageEvent sent, ErrorDto error, RawResponse response)
    {
        var redactor = response.Redactor;
        var details = Details(error, redactor);
        var (message, target) = SpecificError(error);
        (message, target) = (redactor.RedactOrNull(message), redactor.RedactOrNull(target));
        var (code, ids) = (redactor.RedactOrNull(error.Code), response.Ids);
        if (status == UsageEventStatus.Expired && response.ReceivedAt is { } now && now - sent.EffectiveStartTime < ExpiryPlausibleAfter)
        {
            return new UsageEventResult.Error(
                sent,
                "EffectiveStartTimeInFuture",
                MeteringClientOptions.Format(
                    "The service refused effectiveStartTime {0} as expired or in the future, but by this machine's clock it is {1}: it cannot have expired, so the service's clock is behind this machine's and the event is in its future. Submit it again in a few minutes. The service said: {2}",
                    WireFormat.FormatTime(sent.EffectiveStartTime),
                    sent.EffectiveStartTime > now ? MeteringClientOptions.Format("{0:g} ahead", sent.EffectiveStartTime - now) : MeteringClientOptions.Format("only {0:g} old", now - sent.EffectiveStartTime),
                    message ?? code ?? "(nothing)"),
                EffectiveStartTimeField,
                details,
                ids);
        }

        return status switch
        {
            UsageEventStatus.Expired => new UsageEventResult.Expired(sent, code, message, target, details, ids),
            UsageEventStatus.ResourceNotFound => new UsageEventResult.ResourceNotFound(sent, code, message, target, details, ids),
            UsageEventStatus.ResourceNotAuthorized => new UsageEventResult.ResourceNotAuthorized(sent, code, message, target, details, ids),
            UsageEventStatus.ResourceNotActive => new UsageEventResult.ResourceNotActive(sent, code, message, target, details, ids),
            UsageEventStatus.InvalidDimension => new UsageEventResult.InvalidDimension(sent, code, message, target, details, ids),
            UsageEventStatus.InvalidQuantity => new UsageEventResult.InvalidQuantity(sent, code, message, target, details, ids),
            UsageEventStatus.Error => new UsageEventResult.Error(sent, code, message, target, details, ids),
            _ => new UsageEventResult.BadArgument(sent, code, message, target, details, ids),
        };
    }

    /// <summary>
    /// The message and target that say what was wrong. The documented 400 names the field only in its details
    /// (<c>{"code": "BadArgument", "message": "One or more errors have occurred.", "target": "usageEventRequest",
    /// "details": [{"code", "message": "The resourceId is required.", "target": "ResourceId"}]}</c>): when the top level
    /// names none of the details' fields, the details' messages (the first few) are the message (after the top level's own,
    /// unless that is the generic one) and the first detail's field is the target. Otherwise the top level says it already.
    /// </summary>
    private static (string? Message, string? Target) SpecificError(ErrorDto error)
    {
        var details = error.Details?.Where(d => d is not null && !string.IsNullOrWhiteSpace(d.Message)).Select(d => d!).ToList() ?? [];
        // A detail names the top level's field only when both name one: two that name none say nothing alike.
        if (details.Count == 0 || details.Any(d => !string.IsNullOrWhiteSpace(d.Target) && string.Equals(d.Target, error.Target, StringComparison.OrdinalIgnoreCase)))
        {
            return (error.Message, error.Target);
        }

        var said = string.Join(" ", details.Take(MaxDetails).Select(d => d.Message!.Trim()));
        var top = error.Message?.Trim();
        var message = string.IsNullOrEmpty(top) || string.Equals(top, GenericMessage, StringComparison.OrdinalIgnoreCase)
            ? said
            : top + " " + said;
        return (message, details.FirstOrDefault(d => !string.IsNullOrWhiteSpace(d.Target))?.Target ?? error.Target);
    }

    /// <summary>
    /// A 400 for one event: Expired when it is about effectiveStartTime; else the status its code names, or a
    /// detail's code names; else BadArgument.
    /// </summary>
    private static UsageEventStatus StatusOf400(ErrorDto error)
    {
        var details = error.Details?.Where(d => d is not null).Select(d => d!).ToList() ?? [];
        if (IsEffectiveStartTime(error.Target) || details.Any(d => IsEffectiveStartTime(d.Target)))
        {
            return UsageEventStatus.Expired;
        }

        if (FailureStatus(error.Code) is { } named && named != UsageEventStatus.BadArgument)
        {
            return named;
        }

        foreach (var detail in details)
        {
            if (FailureStatus(detail.Code) is { } fromDetail && fromDetail != UsageEventStatus.BadArgument)
            {
                return fromDetail;
            }
        }

        return UsageEventStatus.BadArgument;
    }

    private static UsageEventStatus? FailureStatus(string? code) =>
        code is not null && KnownStatuses.TryGetValue(code, out var status) && status is not (UsageEventStatus.Accepted or UsageEventStatus.Duplicate)
            ? status
            : null;

    private static bool IsEffectiveStartTime(string? target) =>
        target is not null && (string.Equals(target, EffectiveStartTimeField, StringComparison.OrdinalIgnoreCase)
            || target.EndsWith("." + EffectiveStartTimeField, StringComparison.OrdinalIgnoreCase));

    private static AcceptedUsageEvent? ReadOriginal(UsageEventResponseDto? original, SecretRedactor redactor)
    {
        if (original is null
            || WireFormat.ParseGuid(original.UsageEventId) is not { } id
            || WireFormat.ToDecimal(original.Quantity) is not { } quantity
            || WireFormat.ParseTime(original.EffectiveStartTime) is not { } effectiveStartTime)
        {
            return null;
        }

        return new AcceptedUsageEvent(
            id,
            WireFormat.ParseTime(original.MessageTime),
            WireFormat.ParseGuid(original.ResourceId),
            redactor.RedactOrNull(original.ResourceUri),
            redactor.RedactOrNull(original.PlanId),
            redactor.RedactOrNull(original.Dimension),
            quantity,
            effectiveStartTime);
    }

    /// <summary>Finds the unused item for <paramref name="sent"/>: same resource (the URI when one was sent), plan, dimension and hour.</summary>
    private static int FindItem(UsageEvent sent, List<UsageEventResponseDto> items, bool[] taken)
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (!taken[i] && Matches(sent, items[i]))
            {
                return i;
            }
        }

        return -1;
    }

    private static bool Matches(UsageEvent sent, UsageEventResponseDto item) =>
        sent.IsSameSlot(WireFormat.ParseGuid(item.ResourceId), item.ResourceUri, item.PlanId, item.Dimension, WireFormat.ParseTime(item.EffectiveStartTime));

    private static MeteringErrorDetail[] Details(ErrorDto? error, SecretRedactor redactor) =>
        error?.Details?.Where(d => d is not null).Select(d => new MeteringErrorDetail(redactor.RedactOrNull(d!.Code), redactor.RedactOrNull(d.Message), redactor.RedactOrNull(d.Target))).ToArray() ?? [];

    // Masked, cut and freed of control characters: a line break would forge a log line, an ESC sequence would act on the
    // terminal that shows the message.
    private static string Quote(string text, SecretRedactor redactor) => "'" + WireFormat.SafeText(text, redactor, 200) + "'";
}
