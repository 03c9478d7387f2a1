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

    public static UsageEventResult MapSingle(UsageEvent sent, RawResponse response, string operation)
    {
        switch (response.StatusCode)
        {
            case 200:
            {
                var item = WireFormat.Read(response.Body, MeteringJsonContext.Default.UsageEventResponseDto, out var problem)
                    ?? throw Malformed(response, operation, problem!);
                var result = MapItem(sent, item, response, out problem);
                return result ?? throw Malformed(response, operation, problem!);
            }

            case 409:
            {
                var error = WireFormat.Read(response.Body, MeteringJsonContext.Default.ErrorDto, out var problem)
                    ?? throw Malformed(response, operation, problem!);
                return new UsageEventResult.Duplicate(sent, ReadOriginal(error.AdditionalInfo?.AcceptedMessage), response.RequestId, response.CorrelationId);
            }

            case 400:
            {
                var error = WireFormat.Read(response.Body, MeteringJsonContext.Default.ErrorDto, out var problem)
                    ?? throw Malformed(response, operation, problem!);
                return Failure(StatusOf400(error), sent, error, response);
            }

            default:
                throw ToException(response, operation);
        }
    }

    public static BatchUsageEventResult MapBatch(IReadOnlyList<UsageEvent> sent, RawResponse response, string operation, ILogger logger)
    {
        if (response.StatusCode != 200)
        {
            throw ToException(response, operation);
        }

        var answer = WireFormat.Read(response.Body, MeteringJsonContext.Default.BatchUsageEventResponseDto, out var problem)
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
                    response.RequestId,
                    response.CorrelationId);
                continue;
            }

            taken[index] = true;
            results[i] = MapItem(sent[i], items[index], response, out var itemProblem)
                ?? new UsageEventResult.Unknown(
                    sent[i],
                    items[index].Status ?? string.Empty,
                    "MalformedItem",
                    "The service's item for this event could not be read: " + itemProblem + ". Sending it again is safe: a recorded event comes back as a replayed Duplicate.",
                    target: null,
                    details: null,
                    response.RequestId,
                    response.CorrelationId);
        }

        return new BatchUsageEventResult(results);
    }

    /// <summary>The exception for an answer that is not a per-event outcome: 401/403, an unexpected status.</summary>
    public static MeteringException ToException(RawResponse response, string operation)
    {
        var error = WireFormat.Read(response.Body, MeteringJsonContext.Default.ErrorDto, out _);
        var serviceSays = error?.Message is { Length: > 0 } said
            ? " The service said: " + Quote(said) + (error.Code is { Length: > 0 } code ? " (" + code + ")." : ".")
            : " Body: " + WireFormat.Excerpt(response.Body);

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
                error?.Code,
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
            error?.Code,
            response.RequestId,
            response.CorrelationId,
            retryable);
    }

    private static MeteringException Malformed(RawResponse response, string operation, string problem) => new(
        MeteringClientOptions.Format(
            "The metering service answered {0} with HTTP {1}, but {2}. Body: {3} Request id {4}.",
            operation,
            response.StatusCode,
            problem,
            WireFormat.Excerpt(response.Body),
            response.RequestId),
        response.StatusCode,
        errorCode: null,
        response.RequestId,
        response.CorrelationId,
        isRetryable: false);

    /// <summary>Maps one answer item; <see langword="null"/> with <paramref name="problem"/> when the item cannot be read.</summary>
    private static UsageEventResult? MapItem(UsageEvent sent, UsageEventResponseDto item, RawResponse response, out string? problem)
    {
        problem = null;
        if (string.IsNullOrWhiteSpace(item.Status))
        {
            problem = "it has no status";
            return null;
        }

        if (!KnownStatuses.TryGetValue(item.Status!, out var status))
        {
            var error = item.Error;
            return new UsageEventResult.Unknown(sent, item.Status!, error?.Code, error?.Message, error?.Target, Details(error), response.RequestId, response.CorrelationId);
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

                return new UsageEventResult.Accepted(sent, id, messageTime, WireFormat.ParseGuid(item.ResourceId), response.RequestId, response.CorrelationId);

            case UsageEventStatus.Duplicate:
                return new UsageEventResult.Duplicate(sent, ReadOriginal(item.Error?.AdditionalInfo?.AcceptedMessage), response.RequestId, response.CorrelationId);

            default:
                var failure = item.Error ?? new ErrorDto { Code = item.Status };
                return Failure(status, sent, failure, response);
        }
    }

    private static UsageEventResult Failure(UsageEventStatus status, UsageEvent sent, ErrorDto error, RawResponse response)
    {
        var details = Details(error);
        var (code, message, target, requestId, correlationId) = (error.Code, error.Message, error.Target, response.RequestId, response.CorrelationId);
        return status switch
        {
            UsageEventStatus.Expired => new UsageEventResult.Expired(sent, code, message, target, details, requestId, correlationId),
            UsageEventStatus.ResourceNotFound => new UsageEventResult.ResourceNotFound(sent, code, message, target, details, requestId, correlationId),
            UsageEventStatus.ResourceNotAuthorized => new UsageEventResult.ResourceNotAuthorized(sent, code, message, target, details, requestId, correlationId),
            UsageEventStatus.ResourceNotActive => new UsageEventResult.ResourceNotActive(sent, code, message, target, details, requestId, correlationId),
            UsageEventStatus.InvalidDimension => new UsageEventResult.InvalidDimension(sent, code, message, target, details, requestId, correlationId),
            UsageEventStatus.InvalidQuantity => new UsageEventResult.InvalidQuantity(sent, code, message, target, details, requestId, correlationId),
            UsageEventStatus.Error => new UsageEventResult.Error(sent, code, message, target, details, requestId, correlationId),
            _ => new UsageEventResult.BadArgument(sent, code, message, target, details, requestId, correlationId),
        };
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

    private static AcceptedUsageEvent? ReadOriginal(UsageEventResponseDto? original)
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
            original.ResourceUri,
            original.PlanId,
            original.Dimension,
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

    private static MeteringErrorDetail[] Details(ErrorDto? error) =>
        error?.Details?.Where(d => d is not null).Select(d => new MeteringErrorDetail(d!.Code, d.Message, d.Target)).ToArray() ?? [];

    private static string Quote(string text) =>
        "'" + WireFormat.Redact(text.Length > 200 ? text.Remove(200) + "…" : text).Replace('\r', ' ').Replace('\n', ' ') + "'";
}
