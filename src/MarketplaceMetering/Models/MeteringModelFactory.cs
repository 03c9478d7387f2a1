namespace MarketplaceMetering;

/// <summary>
/// Builds every result type, so code that depends on <see cref="MeteringClient"/> can be tested with a mocked client
/// (its service methods are virtual) returning these values, with no reflection.
/// </summary>
public static class MeteringModelFactory
{
    /// <summary>An <see cref="UsageEventResult.Accepted"/> result.</summary>
    /// <param name="usageEvent">The submitted event.</param>
    /// <param name="usageEventId">The service's id for the event; a new GUID when omitted.</param>
    /// <param name="messageTime">When the service received it, kept in UTC; the event's effective start time when omitted.</param>
    /// <param name="resourceUsageId">The resource id the service recorded it under; the event's resource id when omitted. The all-zero id, which no resource has, reads as none (<see cref="UsageEventResult.Accepted.ResourceUsageId"/> is <see langword="null"/>), as in an answer.</param>
    /// <param name="requestId">The <c>x-ms-requestid</c>.</param>
    /// <param name="correlationId">The <c>x-ms-correlationid</c>.</param>
    public static UsageEventResult.Accepted Accepted(
        UsageEvent usageEvent,
        Guid? usageEventId = null,
        DateTimeOffset? messageTime = null,
        Guid? resourceUsageId = null,
        string? requestId = null,
        string? correlationId = null)
    {
        Argument.NotNull(usageEvent);
        return new(usageEvent, usageEventId ?? Guid.NewGuid(), messageTime ?? usageEvent.EffectiveStartTime, resourceUsageId ?? usageEvent.ResourceId, ServiceIds.Of(requestId, correlationId));
    }

    /// <summary>An <see cref="UsageEventResult.Duplicate"/> result; its <see cref="UsageEventResult.Duplicate.IsReplay"/> is computed from <paramref name="original"/>.</summary>
    /// <param name="usageEvent">The submitted event.</param>
    /// <param name="original">The event the service accepted first for the hour; see <see cref="AcceptedUsageEvent(UsageEvent, Guid?, decimal?, DateTimeOffset?)"/> for a replay.</param>
    /// <param name="requestId">The <c>x-ms-requestid</c>.</param>
    /// <param name="correlationId">The <c>x-ms-correlationid</c>.</param>
    public static UsageEventResult.Duplicate Duplicate(UsageEvent usageEvent, AcceptedUsageEvent? original, string? requestId = null, string? correlationId = null)
    {
        Argument.NotNull(usageEvent);
        return new(usageEvent, original, ServiceIds.Of(requestId, correlationId));
    }

    /// <summary>The original accepted event a Duplicate carries.</summary>
    /// <param name="usageEventId">The original's id.</param>
    /// <param name="quantity">The quantity recorded for the hour.</param>
    /// <param name="effectiveStartTime">The original's effective start time.</param>
    /// <param name="resourceId">The resource id the original was recorded under.</param>
    /// <param name="resourceUri">The resource URI the service reports for it.</param>
    /// <param name="planId">The original's plan.</param>
    /// <param name="dimension">The original's dimension.</param>
    /// <param name="messageTime">When the service received the original.</param>
    public static AcceptedUsageEvent AcceptedUsageEvent(
        Guid usageEventId,
        decimal quantity,
        DateTimeOffset effectiveStartTime,
        Guid? resourceId = null,
        string? resourceUri = null,
        string? planId = null,
        string? dimension = null,
        DateTimeOffset? messageTime = null) =>
        new(usageEventId, messageTime, resourceId, resourceUri, planId, dimension, quantity, effectiveStartTime.ToUniversalTime());

    /// <summary>
    /// The original accepted event for <paramref name="usageEvent"/> itself (a replay), or, with a different
    /// <paramref name="quantity"/>, a conflicting first write for the same hour.
    /// </summary>
    /// <param name="usageEvent">The event the original is for.</param>
    /// <param name="usageEventId">The original's id; a new GUID when omitted.</param>
    /// <param name="quantity">The recorded quantity; the event's when omitted.</param>
    /// <param name="messageTime">When the service received the original.</param>
    public static AcceptedUsageEvent AcceptedUsageEvent(UsageEvent usageEvent, Guid? usageEventId = null, decimal? quantity = null, DateTimeOffset? messageTime = null)
    {
        Argument.NotNull(usageEvent);
        return new(
            usageEventId ?? Guid.NewGuid(),
            messageTime,
            usageEvent.ResourceId,
            usageEvent.ResourceUri,
            usageEvent.PlanId,
            usageEvent.Dimension,
            quantity ?? usageEvent.Quantity,
            usageEvent.EffectiveStartTime);
    }

    /// <summary>An <see cref="UsageEventResult.Expired"/> result.</summary>
    /// <param name="usageEvent">The submitted event.</param>
    /// <param name="code">The error code.</param>
    /// <param name="message">The error message.</param>
    /// <param name="target">The field the error is about.</param>
    /// <param name="details">The error's details.</param>
    /// <param name="requestId">The <c>x-ms-requestid</c>.</param>
    /// <param name="correlationId">The <c>x-ms-correlationid</c>.</param>
    public static UsageEventResult.Expired Expired(UsageEvent usageEvent, string? code = "BadArgument", string? message = null, string? target = "effectiveStartTime", IEnumerable<MeteringErrorDetail>? details = null, string? requestId = null, string? correlationId = null) =>
        new(Require(usageEvent), code, message, target, details?.ToArray(), ServiceIds.Of(requestId, correlationId));

    /// <summary>A <see cref="UsageEventResult.ResourceNotFound"/> result.</summary>
    /// <inheritdoc cref="Expired" path="/param"/>
    public static UsageEventResult.ResourceNotFound ResourceNotFound(UsageEvent usageEvent, string? code = "ResourceNotFound", string? message = null, string? target = null, IEnumerable<MeteringErrorDetail>? details = null, string? requestId = null, string? correlationId = null) =>
        new(Require(usageEvent), code, message, target, details?.ToArray(), ServiceIds.Of(requestId, correlationId));

    /// <summary>A <see cref="UsageEventResult.ResourceNotAuthorized"/> result.</summary>
    /// <inheritdoc cref="Expired" path="/param"/>
    public static UsageEventResult.ResourceNotAuthorized ResourceNotAuthorized(UsageEvent usageEvent, string? code = "ResourceNotAuthorized", string? message = null, string? target = null, IEnumerable<MeteringErrorDetail>? details = null, string? requestId = null, string? correlationId = null) =>
        new(Require(usageEvent), code, message, target, details?.ToArray(), ServiceIds.Of(requestId, correlationId));

    /// <summary>A <see cref="UsageEventResult.ResourceNotActive"/> result.</summary>
    /// <inheritdoc cref="Expired" path="/param"/>
    public static UsageEventResult.ResourceNotActive ResourceNotActive(UsageEvent usageEvent, string? code = "ResourceNotActive", string? message = null, string? target = null, IEnumerable<MeteringErrorDetail>? details = null, string? requestId = null, string? correlationId = null) =>
        new(Require(usageEvent), code, message, target, details?.ToArray(), ServiceIds.Of(requestId, correlationId));

    /// <summary>An <see cref="UsageEventResult.InvalidDimension"/> result.</summary>
    /// <inheritdoc cref="Expired" path="/param"/>
    public static UsageEventResult.InvalidDimension InvalidDimension(UsageEvent usageEvent, string? code = "InvalidDimension", string? message = null, string? target = "dimension", IEnumerable<MeteringErrorDetail>? details = null, string? requestId = null, string? correlationId = null) =>
        new(Require(usageEvent), code, message, target, details?.ToArray(), ServiceIds.Of(requestId, correlationId));

    /// <summary>An <see cref="UsageEventResult.InvalidQuantity"/> result.</summary>
    /// <inheritdoc cref="Expired" path="/param"/>
    public static UsageEventResult.InvalidQuantity InvalidQuantity(UsageEvent usageEvent, string? code = "InvalidQuantity", string? message = null, string? target = "quantity", IEnumerable<MeteringErrorDetail>? details = null, string? requestId = null, string? correlationId = null) =>
        new(Require(usageEvent), code, message, target, details?.ToArray(), ServiceIds.Of(requestId, correlationId));

    /// <summary>A <see cref="UsageEventResult.BadArgument"/> result.</summary>
    /// <inheritdoc cref="Expired" path="/param"/>
    public static UsageEventResult.BadArgument BadArgument(UsageEvent usageEvent, string? code = "BadArgument", string? message = null, string? target = null, IEnumerable<MeteringErrorDetail>? details = null, string? requestId = null, string? correlationId = null) =>
        new(Require(usageEvent), code, message, target, details?.ToArray(), ServiceIds.Of(requestId, correlationId));

    /// <summary>An <see cref="UsageEventResult.Error"/> result.</summary>
    /// <param name="usageEvent">The submitted event.</param>
    /// <param name="code">The error code.</param>
    /// <param name="message">The error message.</param>
    /// <param name="target">The field the error is about.</param>
    /// <param name="details">The error's details.</param>
    /// <param name="requestId">The <c>x-ms-requestid</c>.</param>
    /// <param name="correlationId">The <c>x-ms-correlationid</c>.</param>
    /// <param name="statusCode">The HTTP status of a call that failed as a whole (<see cref="UsageEventResult.Error.StatusCode"/>).</param>
    public static UsageEventResult.Error Error(UsageEvent usageEvent, string? code = "Error", string? message = null, string? target = null, IEnumerable<MeteringErrorDetail>? details = null, string? requestId = null, string? correlationId = null, int? statusCode = null) =>
        new(Require(usageEvent), code, message, target, details?.ToArray(), ServiceIds.Of(requestId, correlationId), statusCode);

    /// <summary>An <see cref="UsageEventResult.Unknown"/> result, for a status newer than this library.</summary>
    /// <param name="usageEvent">The submitted event.</param>
    /// <param name="rawStatus">The status text the service sent.</param>
    /// <param name="code">The error code, if any.</param>
    /// <param name="message">The message, if any.</param>
    /// <param name="target">The field, if any.</param>
    /// <param name="details">The error's details, if any.</param>
    /// <param name="requestId">The <c>x-ms-requestid</c>.</param>
    /// <param name="correlationId">The <c>x-ms-correlationid</c>.</param>
    public static UsageEventResult.Unknown Unknown(UsageEvent usageEvent, string rawStatus, string? code = null, string? message = null, string? target = null, IEnumerable<MeteringErrorDetail>? details = null, string? requestId = null, string? correlationId = null) =>
        new(Require(usageEvent), rawStatus, code, message, target, details?.ToArray(), ServiceIds.Of(requestId, correlationId));

    /// <summary>A batch result holding <paramref name="results"/> in the given order.</summary>
    /// <param name="results">One result per submitted event.</param>
    public static BatchUsageEventResult BatchUsageEventResult(IEnumerable<UsageEventResult> results)
    {
        Argument.NotNull(results);
        return new(results.ToArray());
    }

    /// <summary>A bulk result holding <paramref name="results"/> in the given order, with their summary.</summary>
    /// <param name="results">One result per submitted event.</param>
    public static BulkUsageEventResult BulkUsageEventResult(IEnumerable<UsageEventResult> results)
    {
        var list = Argument.NotNull(results).ToArray();
        return new(list, UsageEventSummary.Create(list));
    }

    private static UsageEvent Require(UsageEvent usageEvent) => Argument.NotNull(usageEvent);

    /// <summary>A row of what the marketplace recorded, as <see cref="MeteringClient.GetUsageEventsAsync"/> returns it.</summary>
    /// <param name="usageDate">The day of the usage; its UTC date is kept.</param>
    /// <param name="usageResourceId">The resource the usage was recorded under.</param>
    /// <param name="dimension">The dimension.</param>
    /// <param name="submittedQuantity">The quantity submitted for the day.</param>
    /// <param name="processedQuantity">The quantity processed for the day, if known.</param>
    /// <param name="reconStatus">The reconciliation status; <see cref="ReconStatus.Accepted"/> when omitted.</param>
    /// <param name="planId">The plan.</param>
    /// <param name="planName">The plan's display name.</param>
    /// <param name="offerId">The offer.</param>
    /// <param name="offerName">The offer's display name.</param>
    /// <param name="offerType">The kind of offer.</param>
    /// <param name="azureSubscriptionId">The Azure subscription of the resource.</param>
    /// <param name="submittedCount">How many events were submitted for the day.</param>
    public static RecordedUsage RecordedUsage(
        DateTimeOffset usageDate,
        Guid usageResourceId,
        string dimension,
        decimal submittedQuantity,
        decimal? processedQuantity = null,
        ReconStatus? reconStatus = null,
        string? planId = null,
        string? planName = null,
        string? offerId = null,
        string? offerName = null,
        string? offerType = null,
        Guid? azureSubscriptionId = null,
        int? submittedCount = null)
    {
        Argument.NotNull(dimension);
        return new(
            new DateTimeOffset(usageDate.UtcDateTime.Date, TimeSpan.Zero),
            usageResourceId,
            dimension,
            planId,
            planName,
            offerId,
            offerName,
            offerType,
            azureSubscriptionId,
            reconStatus ?? MarketplaceMetering.ReconStatus.Accepted,
            submittedQuantity,
            processedQuantity,
            submittedCount);
    }
}
