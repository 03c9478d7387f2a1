namespace MarketplaceMetering;

/// <summary>
/// The resource usage is recorded for: a SaaS subscription or a managed application's resource usage id
/// (<see cref="FromId"/>), or a managed application's Azure resource id (<see cref="FromUri"/>). Converts implicitly
/// from a <see cref="Guid"/>.
/// </summary>
public readonly struct UsageResource : IEquatable<UsageResource>
{
    private UsageResource(Guid? id, string? uri)
    {
        Id = id;
        Uri = uri;
    }

    /// <summary>Gets the resource id, or <see langword="null"/> for a resource named by URI.</summary>
    public Guid? Id { get; }

    /// <summary>Gets the managed application's resource id (URI), or <see langword="null"/> for a resource named by id.</summary>
    public string? Uri { get; }

    /// <summary>Gets a value indicating whether this is the default value, which names no resource.</summary>
    public bool IsEmpty => Id is null && Uri is null;

    /// <summary>Names a resource by its id: a SaaS subscription id, or a managed application's resource usage id.</summary>
    /// <param name="resourceId">The id; must not be <see cref="Guid.Empty"/>.</param>
    /// <returns>The resource.</returns>
    /// <exception cref="ArgumentException"><paramref name="resourceId"/> is <see cref="Guid.Empty"/>.</exception>
    public static UsageResource FromId(Guid resourceId)
    {
        if (resourceId == Guid.Empty)
        {
            throw new ArgumentException("The resource id must not be Guid.Empty: pass the SaaS subscription id or the managed application's resource usage id.", nameof(resourceId));
        }

        return new UsageResource(resourceId, null);
    }

    /// <summary>Names a managed application by its Azure resource id (<c>/subscriptions/…/providers/Microsoft.Solutions/applications/…</c>).</summary>
    /// <param name="resourceUri">The resource id.</param>
    /// <returns>The resource.</returns>
    /// <exception cref="ArgumentException"><paramref name="resourceUri"/> is empty, not an Azure resource id, has a control character, or is longer than 1024 bytes (UTF-8).</exception>
    public static UsageResource FromUri(string resourceUri)
    {
        // The core's rules, applied once here rather than per recorded quantity; and none of the characters a ledger
        // cannot keep.
        _ = UsageEvent.ForResourceUri(resourceUri, "p", "d", 1m, default);
        UsageRecorder.CheckName(resourceUri, nameof(resourceUri), "resource URI", UsageRecorder.MaxResourceUriBytes);
        return new UsageResource(null, resourceUri);
    }

    /// <summary>Converts a resource id.</summary>
    /// <param name="resourceId">The id; must not be <see cref="Guid.Empty"/>.</param>
    public static implicit operator UsageResource(Guid resourceId) => FromId(resourceId);

    /// <summary>Compares two resources; URIs compare ignoring case, as the service does.</summary>
    /// <param name="left">One resource.</param>
    /// <param name="right">The other.</param>
    public static bool operator ==(UsageResource left, UsageResource right) => left.Equals(right);

    /// <summary>Compares two resources; URIs compare ignoring case, as the service does.</summary>
    /// <param name="left">One resource.</param>
    /// <param name="right">The other.</param>
    public static bool operator !=(UsageResource left, UsageResource right) => !left.Equals(right);

    /// <summary>Creates the usage event for this resource.</summary>
    internal UsageEvent ToEvent(string planId, string dimension, decimal quantity, DateTimeOffset effectiveStartTime) =>
        Uri is { } uri
            ? UsageEvent.ForResourceUri(uri, planId, dimension, quantity, effectiveStartTime)
            : UsageEvent.ForResourceId(Id!.Value, planId, dimension, quantity, effectiveStartTime);

    /// <summary>The text the ledger stores: the id in "D" format, or the URI.</summary>
    internal string Key => Uri ?? Id?.ToString("D") ?? string.Empty;

    /// <summary>Reads the ledger's text back.</summary>
    internal static UsageResource FromKey(string key, bool isUri) => isUri ? new UsageResource(null, key) : new UsageResource(Guid.Parse(key), null);

    /// <inheritdoc/>
    public bool Equals(UsageResource other) => Id == other.Id && string.Equals(Uri, other.Uri, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is UsageResource other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Uri is { } uri ? StringComparer.OrdinalIgnoreCase.GetHashCode(uri) : Id.GetHashCode();

    /// <summary>Returns the id or the URI.</summary>
    /// <returns>The resource's text.</returns>
    public override string ToString() => Key;
}
