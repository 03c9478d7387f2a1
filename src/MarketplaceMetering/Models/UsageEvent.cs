using System.Globalization;

namespace MarketplaceMetering;

/// <summary>
/// One usage event: a quantity of one custom meter dimension, consumed by one resource during the hour that
/// <see cref="EffectiveStartTime"/> falls in. Create one with <see cref="ForResourceId"/> (SaaS offers, or a managed
/// application's resource usage id) or <see cref="ForResourceUri"/> (a managed application's resource id).
/// </summary>
/// <remarks>
/// <para>
/// The service keeps one event per resource, dimension and UTC calendar hour: sum the usage of an hour and send it once.
/// It accepts events whose <see cref="EffectiveStartTime"/> lies within the past 24 hours.
/// </para>
/// <para>
/// An instance is always well formed: the factory methods throw <see cref="ArgumentException"/> naming the bad
/// argument. Whether the event is still inside the 24-hour window is checked when it is submitted, against the
/// client's <see cref="MeteringClientOptions.TimeProvider"/>.
/// </para>
/// </remarks>
public sealed record UsageEvent
{
    private UsageEvent(Guid? resourceId, string? resourceUri, string planId, string dimension, decimal quantity, DateTimeOffset effectiveStartTime)
    {
        ResourceId = resourceId;
        ResourceUri = resourceUri;
        PlanId = planId;
        Dimension = dimension;
        Quantity = quantity;
        EffectiveStartTime = effectiveStartTime.ToUniversalTime();
    }

    /// <summary>
    /// The SaaS subscription id (or a managed application's resource usage id) the usage belongs to;
    /// <see langword="null"/> when the event names its resource by <see cref="ResourceUri"/>.
    /// </summary>
    public Guid? ResourceId { get; }

    /// <summary>
    /// The managed application's resource id (<c>/subscriptions/…/providers/Microsoft.Solutions/applications/…</c>);
    /// <see langword="null"/> when the event names its resource by <see cref="ResourceId"/>.
    /// </summary>
    public string? ResourceUri { get; }

    /// <summary>The plan the resource is subscribed to.</summary>
    public string PlanId { get; }

    /// <summary>The custom meter dimension, as defined on the plan.</summary>
    public string Dimension { get; }

    /// <summary>The number of units consumed in the hour; always greater than zero.</summary>
    public decimal Quantity { get; }

    /// <summary>When the usage happened, in UTC. The service files it under the calendar hour this time falls in.</summary>
    public DateTimeOffset EffectiveStartTime { get; }

    /// <summary>Creates an event for a resource named by its id: a SaaS subscription id, or a managed application's resource usage id.</summary>
    /// <param name="resourceId">The SaaS subscription id or resource usage id. Must not be <see cref="Guid.Empty"/>.</param>
    /// <param name="planId">The plan the resource is subscribed to. Must not be empty.</param>
    /// <param name="dimension">The custom meter dimension. Must not be empty.</param>
    /// <param name="quantity">The units consumed in the hour. Must be greater than zero.</param>
    /// <param name="effectiveStartTime">When the usage happened; any offset, converted to UTC.</param>
    /// <exception cref="ArgumentException">An argument is empty or holds a lone UTF-16 surrogate, or <paramref name="resourceId"/> is <see cref="Guid.Empty"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="quantity"/> is zero or negative.</exception>
    public static UsageEvent ForResourceId(Guid resourceId, string planId, string dimension, decimal quantity, DateTimeOffset effectiveStartTime)
    {
        if (resourceId == Guid.Empty)
        {
            throw new ArgumentException("The resource id must not be Guid.Empty: pass the SaaS subscription id or the managed application's resource usage id.", nameof(resourceId));
        }

        return Create(resourceId, null, planId, dimension, quantity, effectiveStartTime);
    }

    /// <summary>Creates an event for a managed application named by its Azure resource id.</summary>
    /// <param name="resourceUri">
    /// The managed application's resource id, such as
    /// <c>/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Solutions/applications/{name}</c>.
    /// </param>
    /// <param name="planId">The plan the resource is subscribed to. Must not be empty.</param>
    /// <param name="dimension">The custom meter dimension. Must not be empty.</param>
    /// <param name="quantity">The units consumed in the hour. Must be greater than zero.</param>
    /// <param name="effectiveStartTime">When the usage happened; any offset, converted to UTC.</param>
    /// <exception cref="ArgumentException">An argument is empty or holds a lone UTF-16 surrogate, or <paramref name="resourceUri"/> is not an Azure resource id.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="quantity"/> is zero or negative.</exception>
    public static UsageEvent ForResourceUri(string resourceUri, string planId, string dimension, decimal quantity, DateTimeOffset effectiveStartTime)
    {
        if (string.IsNullOrWhiteSpace(resourceUri))
        {
            throw new ArgumentException("The resource URI must not be empty: pass the managed application's resource id.", nameof(resourceUri));
        }

        if (!resourceUri.StartsWith("/subscriptions/", StringComparison.OrdinalIgnoreCase) || ContainsWhiteSpace(resourceUri))
        {
            throw new ArgumentException(
                "The resource URI must be an Azure resource id such as '/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Solutions/applications/{name}'.",
                nameof(resourceUri));
        }

        ThrowIfLoneSurrogate(resourceUri, nameof(resourceUri), "resource URI");

        return Create(null, resourceUri, planId, dimension, quantity, effectiveStartTime);
    }

    /// <summary>The calendar hour (UTC) the service files this event under.</summary>
    internal DateTimeOffset Hour => UsageEventKey.HourOf(EffectiveStartTime);

    /// <summary>
    /// Whether an event the service echoes (a batch item, a Duplicate's original) is for this event's slot: the same
    /// resource (its URI when this event was sent by URI), plan, dimension and UTC hour. Missing values never match.
    /// </summary>
    internal bool IsSameSlot(Guid? resourceId, string? resourceUri, string? planId, string? dimension, DateTimeOffset? effectiveStartTime)
    {
        var sameResource = ResourceUri is { } uri
            ? string.Equals(uri, resourceUri, StringComparison.OrdinalIgnoreCase)
            : resourceId == ResourceId;

        return sameResource
            && string.Equals(PlanId, planId, StringComparison.OrdinalIgnoreCase)
            && string.Equals(Dimension, dimension, StringComparison.OrdinalIgnoreCase)
            && effectiveStartTime is { } time
            && UsageEventKey.HourOf(time) == Hour;
    }

    /// <summary>How the resource is named, for messages: its id or its URI.</summary>
    internal string ResourceText => ResourceUri ?? ResourceId!.Value.ToString("D");

    private static UsageEvent Create(Guid? resourceId, string? resourceUri, string planId, string dimension, decimal quantity, DateTimeOffset effectiveStartTime)
    {
        if (string.IsNullOrWhiteSpace(planId))
        {
            throw new ArgumentException("The plan id must not be empty.", nameof(planId));
        }

        if (string.IsNullOrWhiteSpace(dimension))
        {
            throw new ArgumentException("The dimension must not be empty.", nameof(dimension));
        }

        ThrowIfLoneSurrogate(planId, nameof(planId), "plan id");
        ThrowIfLoneSurrogate(dimension, nameof(dimension), "dimension");

        if (quantity <= 0)
        {
            throw new ArgumentOutOfRangeException(
                nameof(quantity),
                quantity,
                string.Format(CultureInfo.InvariantCulture, "The quantity must be greater than zero; it was {0}.", quantity));
        }

        return new UsageEvent(resourceId, resourceUri, planId, dimension, quantity, effectiveStartTime);
    }

    /// <summary>
    /// JSON cannot carry a lone UTF-16 surrogate: the writer would send U+FFFD in its place, so the service would record
    /// (and bill) other text than the event's, and its answer would never match the event.
    /// </summary>
    private static void ThrowIfLoneSurrogate(string value, string paramName, string what)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                throw new ArgumentException(
                    string.Format(CultureInfo.InvariantCulture, "The {0} holds a lone UTF-16 surrogate (U+{1:X4} at index {2}), which JSON cannot carry: the service would record other text than this.", what, (int)value[i], i),
                    paramName);
            }
        }
    }

    private static bool ContainsWhiteSpace(string value)
    {
        foreach (var c in value)
        {
            if (char.IsWhiteSpace(c))
            {
                return true;
            }
        }

        return false;
    }
}
