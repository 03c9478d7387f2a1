namespace MarketplaceMetering;

/// <summary>
/// What happened to one usage event. A closed set of cases, one per status the service documents, so a
/// <see langword="switch"/> reads like the service's documentation:
/// <code>
/// switch (result)
/// {
///     case UsageEventResult.Accepted accepted:   Log(accepted.UsageEventId); break;
///     case UsageEventResult.Duplicate { IsReplay: true }: break;          // recorded earlier by this very event
///     case UsageEventResult.Duplicate conflict:  Alert(conflict.Original); break; // the hour holds another quantity
///     case UsageEventResult.Expired:             LostRevenue(result.Event); break;
///     case UsageEventResult.Failure failure:     Log(failure.Code, failure.Message); break;
///     default:                                   Log(result.Status); break; // Unknown: a status newer than this library
/// }
/// </code>
/// The compiler cannot prove the set closed, so keep a <see langword="default"/> (or discard) arm.
/// </summary>
public abstract record UsageEventResult
{
    // A batch answer makes 25 results at a time, so each result stays small: the status follows from the case rather
    // than from a field, and the results of one exchange share one ServiceIds rather than holding two strings each
    // (issue 9: an Accepted result is 72 B rather than 104, with MessageTime held as a UTC DateTime and an absent
    // ResourceUsageId as the all-zero id, which no resource has).
    private readonly ServiceIds _ids;

    private protected UsageEventResult(UsageEvent usageEvent, ServiceIds ids)
    {
        Event = Argument.NotNull(usageEvent);
        _ids = ids ?? ServiceIds.None;
    }

    /// <summary>The outcome, as the service names it.</summary>
    public UsageEventStatus Status => this switch
    {
        Accepted => UsageEventStatus.Accepted,
        Duplicate => UsageEventStatus.Duplicate,
        Expired => UsageEventStatus.Expired,
        ResourceNotFound => UsageEventStatus.ResourceNotFound,
        ResourceNotAuthorized => UsageEventStatus.ResourceNotAuthorized,
        ResourceNotActive => UsageEventStatus.ResourceNotActive,
        InvalidDimension => UsageEventStatus.InvalidDimension,
        InvalidQuantity => UsageEventStatus.InvalidQuantity,
        BadArgument => UsageEventStatus.BadArgument,
        Error => UsageEventStatus.Error,
        _ => UsageEventStatus.Unknown,
    };

    /// <summary>The event that was submitted.</summary>
    public UsageEvent Event { get; }

    /// <summary>The <c>x-ms-requestid</c> of the HTTP exchange that produced this result; quote it to Microsoft support.</summary>
    public string? RequestId => _ids.RequestId;

    /// <summary>The <c>x-ms-correlationid</c> shared by the HTTP calls of the client operation.</summary>
    public string? CorrelationId => _ids.CorrelationId;

    /// <summary>The ids of the exchange, shared by every result it produced.</summary>
    internal ServiceIds Ids => _ids;

    /// <summary>
    /// <see langword="true"/> when the event's usage is recorded for billing: it was accepted now, or it is a Duplicate
    /// whose original is this very event (a replay, typically a retry whose first answer was lost).
    /// </summary>
    public virtual bool IsDelivered => false;

    /// <summary>The event was recorded and will be billed.</summary>
    public sealed record Accepted : UsageEventResult
    {
        private readonly DateTime _messageTime;
        private readonly Guid _resourceUsageId;

        internal Accepted(UsageEvent usageEvent, Guid usageEventId, DateTimeOffset messageTime, Guid? resourceUsageId, ServiceIds ids)
            : base(usageEvent, ids)
        {
            UsageEventId = usageEventId;
            _messageTime = messageTime.UtcDateTime;
            _resourceUsageId = resourceUsageId ?? Guid.Empty;
        }

        /// <summary>The id the service gave the event.</summary>
        public Guid UsageEventId { get; }

        /// <summary>When the service received the event (UTC).</summary>
        public DateTimeOffset MessageTime => new(_messageTime, TimeSpan.Zero);

        /// <summary>
        /// The resource id the service recorded the event under: the SaaS subscription id, or for a managed application
        /// sent by URI its resource usage id, the <c>usageResourceId</c> of the marketplace's usage reports.
        /// <see langword="null"/> when the answer named none, or only the all-zero id, which no resource has.
        /// </summary>
        public Guid? ResourceUsageId => _resourceUsageId == Guid.Empty ? null : _resourceUsageId;

        /// <inheritdoc />
        public override bool IsDelivered => true;
    }

    /// <summary>
    /// An event for the same resource, dimension and UTC hour was already recorded. The service deduplicates whatever the
    /// quantity, so check <see cref="IsReplay"/>: a replay means this event's usage is billed; a conflict means the hour
    /// holds a different first write and this event's usage is not billed.
    /// </summary>
    public sealed record Duplicate : UsageEventResult
    {
        internal Duplicate(UsageEvent usageEvent, AcceptedUsageEvent? original, ServiceIds ids)
            : this(usageEvent, original, ids, original is not null && DuplicateClassifier.Matches(usageEvent, original))
        {
        }

        private Duplicate(UsageEvent usageEvent, AcceptedUsageEvent? original, ServiceIds ids, bool isReplay)
            : base(usageEvent, ids)
        {
            Original = original;
            IsReplay = isReplay;
        }

        /// <summary>
        /// The event the service accepted first for the hour (its <c>acceptedMessage</c>);
        /// <see langword="null"/> when the service did not send it, in which case the duplicate counts as a conflict.
        /// </summary>
        public AcceptedUsageEvent? Original { get; }

        /// <summary>
        /// <see langword="true"/> when <see cref="Original"/> is this event: same resource, plan, dimension, hour and quantity.
        /// The usage is billed; nothing to do. <see langword="false"/> for a conflicting first write: the quantity billed
        /// for the hour is <see cref="AcceptedUsageEvent.Quantity"/> of the original, not this event's.
        /// </summary>
        /// <remarks>
        /// Quantities are compared as exactly as the wire allows: the service stores the double nearest to the decimal
        /// sent, so the original matches when its quantity is that very double. No tolerance is applied: an original of
        /// 1,000,000,000,000 is a conflict for an event of 1,000,000,000,900. Only quantities that differ beyond a
        /// double's 15–17 significant digits, which nobody can tell apart on the wire, count as the same.
        /// <para>
        /// In a bulk submission (<c>SubmitUsageEventsAsync</c>), an event given more than once is recorded once: when
        /// the original is the event that an earlier input of the same call was accepted as (or found as a replay), this
        /// Duplicate is a conflict, not a replay, since its own attempt recorded nothing. The list overload applies this
        /// to every repeat; the stream overload only to repeats read while the earlier one's batch was still unanswered.
        /// </para>
        /// </remarks>
        public bool IsReplay { get; }

        /// <summary>The opposite of <see cref="IsReplay"/>: the hour was taken by a different event.</summary>
        public bool IsConflict => !IsReplay;

        /// <inheritdoc />
        public override bool IsDelivered => IsReplay;

        /// <summary>
        /// This replay as a conflict: its original is what another event of the same bulk submission was delivered as,
        /// so this event's own attempt recorded nothing.
        /// </summary>
        internal Duplicate AsRepeat() => new(Event, Original, Ids, isReplay: false);

        /// <summary>
        /// A conflict for <paramref name="usageEvent"/>, whose own attempt ended as an Error while another event of the
        /// same bulk submission was delivered as <paramref name="original"/>.
        /// </summary>
        internal static Duplicate Repeat(UsageEvent usageEvent, AcceptedUsageEvent original, ServiceIds ids) =>
            new(usageEvent, original, ids, isReplay: false);
    }

    /// <summary>The service (or, after exhausting retries, the client) could not record the event. Carries the service's error.</summary>
    public abstract record Failure : UsageEventResult
    {
        private protected Failure(UsageEvent usageEvent, string? code, string? message, string? target, IReadOnlyList<MeteringErrorDetail>? details, ServiceIds ids)
            : base(usageEvent, ids)
        {
            Code = code;
            Message = string.IsNullOrEmpty(message) ? $"The service answered {Status} for the event." : message!;
            Target = target;
            Details = details ?? [];
        }

        /// <summary>The error code, such as <c>BadArgument</c>.</summary>
        public string? Code { get; }

        /// <summary>
        /// The explanation from the service (or from the client, for a failure to deliver). When the service names the
        /// field only in the error's <c>details</c>, under a generic "One or more errors have occurred." (as its documented
        /// 400 does), this is the details' messages.
        /// </summary>
        public string Message { get; }

        /// <summary>
        /// The field the error is about, such as <c>effectiveStartTime</c>: the first detail's when the top level of the
        /// service's error names none of the details' fields (such as <c>usageEventRequest</c>).
        /// </summary>
        public string? Target { get; }

        /// <summary>The error's <c>details</c> list.</summary>
        public IReadOnlyList<MeteringErrorDetail> Details { get; }
    }

    /// <summary>
    /// The effective start time is more than 24 hours old: this usage can no longer be billed. (When the service calls
    /// an event "expired or in future" that is not old by the client's clock, its clock is behind and the result is a
    /// retryable <see cref="Error"/> with code <c>EffectiveStartTimeInFuture</c> instead.)
    /// </summary>
    public sealed record Expired : Failure
    {
        internal Expired(UsageEvent usageEvent, string? code, string? message, string? target, IReadOnlyList<MeteringErrorDetail>? details, ServiceIds ids)
            : base(usageEvent, code, message, target, details, ids)
        {
        }
    }

    /// <summary>The resource is unknown to the marketplace.</summary>
    public sealed record ResourceNotFound : Failure
    {
        internal ResourceNotFound(UsageEvent usageEvent, string? code, string? message, string? target, IReadOnlyList<MeteringErrorDetail>? details, ServiceIds ids)
            : base(usageEvent, code, message, target, details, ids)
        {
        }
    }

    /// <summary>The caller's app may not report usage for this resource.</summary>
    public sealed record ResourceNotAuthorized : Failure
    {
        internal ResourceNotAuthorized(UsageEvent usageEvent, string? code, string? message, string? target, IReadOnlyList<MeteringErrorDetail>? details, ServiceIds ids)
            : base(usageEvent, code, message, target, details, ids)
        {
        }
    }

    /// <summary>The resource's subscription is not in Subscribed status.</summary>
    public sealed record ResourceNotActive : Failure
    {
        internal ResourceNotActive(UsageEvent usageEvent, string? code, string? message, string? target, IReadOnlyList<MeteringErrorDetail>? details, ServiceIds ids)
            : base(usageEvent, code, message, target, details, ids)
        {
        }
    }

    /// <summary>The dimension is not defined on the resource's plan.</summary>
    public sealed record InvalidDimension : Failure
    {
        internal InvalidDimension(UsageEvent usageEvent, string? code, string? message, string? target, IReadOnlyList<MeteringErrorDetail>? details, ServiceIds ids)
            : base(usageEvent, code, message, target, details, ids)
        {
        }
    }

    /// <summary>The service does not accept the quantity.</summary>
    public sealed record InvalidQuantity : Failure
    {
        internal InvalidQuantity(UsageEvent usageEvent, string? code, string? message, string? target, IReadOnlyList<MeteringErrorDetail>? details, ServiceIds ids)
            : base(usageEvent, code, message, target, details, ids)
        {
        }
    }

    /// <summary>The service rejected a field of the event; <see cref="Failure.Target"/> names it.</summary>
    public sealed record BadArgument : Failure
    {
        internal BadArgument(UsageEvent usageEvent, string? code, string? message, string? target, IReadOnlyList<MeteringErrorDetail>? details, ServiceIds ids)
            : base(usageEvent, code, message, target, details, ids)
        {
        }
    }

    /// <summary>
    /// The service failed to process the event, or the client could not deliver it. Whether the event may have been
    /// recorded anyway is unknown: sending it again is safe, since a recorded event comes back as a replayed Duplicate.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Justification = "Named as the service's status 'Error'; the public contract fixes this name.")]
    public sealed record Error : Failure
    {
        internal Error(UsageEvent usageEvent, string? code, string? message, string? target, IReadOnlyList<MeteringErrorDetail>? details, ServiceIds ids, int? statusCode = null)
            : base(usageEvent, code, message, target, details, ids)
        {
            StatusCode = statusCode;
        }

        /// <summary>
        /// The HTTP status the whole call ended with, when the client could not deliver the event: in a bulk
        /// submission, 401 or 403 when the service refused the caller (nothing more is sent after it), or the last
        /// status of a call whose retries ran out (a 5xx or a 429). <see langword="null"/> when the service answered for
        /// the event itself (an item of a batch answer), when no answer came at all (the network failed or the call
        /// timed out), and for an event a bulk submission did not send because the service had refused the caller
        /// earlier (its <see cref="Failure.Code"/> is <c>NotSent</c>).
        /// </summary>
        /// <example>
        /// <code>
        /// if (result is UsageEventResult.Error { StatusCode: 401 or 403 })
        /// {
        ///     // the credential is refused: fix it before sending again
        /// }
        /// </code>
        /// </example>
        public int? StatusCode { get; }
    }

    /// <summary>
    /// A status this version of the library does not know (the service adds statuses over time), or an item the
    /// client could not read. Never an exception: the raw text is kept.
    /// </summary>
    public sealed record Unknown : UsageEventResult
    {
        internal Unknown(UsageEvent usageEvent, string rawStatus, string? code, string? message, string? target, IReadOnlyList<MeteringErrorDetail>? details, ServiceIds ids)
            : base(usageEvent, ids)
        {
            RawStatus = rawStatus ?? string.Empty;
            Code = code;
            Message = message;
            Target = target;
            Details = details ?? [];
        }

        /// <summary>The status text the service sent.</summary>
        public string RawStatus { get; }

        /// <summary>The error code that came with the status, if any.</summary>
        public string? Code { get; }

        /// <summary>The message that came with the status, if any.</summary>
        public string? Message { get; }

        /// <summary>The field the status is about, if any.</summary>
        public string? Target { get; }

        /// <summary>The error's <c>details</c> list, if any.</summary>
        public IReadOnlyList<MeteringErrorDetail> Details { get; }
    }
}
