namespace MarketplaceMetering.Emulator;

/// <summary>
/// One resource the emulator knows: a SaaS subscription or a managed application, with the plan it is on and the
/// custom meter dimensions that plan defines. Add resources to <see cref="MeteringEmulatorOptions.Resources"/>;
/// when none are added, the emulator accepts any resource, plan and dimension.
/// </summary>
public sealed class EmulatedResource
{
    /// <summary>
    /// Gets the resource id: the SaaS subscription id, or for a managed application the "resource usage id" that
    /// the service answers with when usage is sent by <see cref="ResourceUri"/>.
    /// </summary>
    public Guid ResourceId { get; init; }

    /// <summary>
    /// Gets the managed application's resource id
    /// (<c>/subscriptions/…/resourceGroups/…/providers/Microsoft.Solutions/applications/…</c>), compared
    /// case-insensitively; <see langword="null"/> for a SaaS subscription.
    /// </summary>
    public string? ResourceUri { get; init; }

    /// <summary>Gets the plan the resource is on; usage sent with another plan id is refused with <c>BadArgument</c>.</summary>
    public required string PlanId { get; init; }

    /// <summary>Gets the custom meter dimensions of the plan, compared case-insensitively.</summary>
    public required IReadOnlyCollection<string> Dimensions { get; init; }

    /// <summary>Gets the status of the subscription at start. <value>The default is <see cref="EmulatedResourceStatus.Subscribed"/>.</value></summary>
    public EmulatedResourceStatus Status { get; init; } = EmulatedResourceStatus.Subscribed;

    /// <summary>Gets the offer id reported by <c>GET /api/usageEvents</c>. <value>The default is <c>emulated-offer</c>.</value></summary>
    public string OfferId { get; init; } = "emulated-offer";

    /// <summary>
    /// Gets the offer name reported by <c>GET /api/usageEvents</c>; when <see langword="null"/>, an empty string, as
    /// the real service reports it.
    /// </summary>
    public string? OfferName { get; init; }

    /// <summary>
    /// Gets the plan name reported by <c>GET /api/usageEvents</c>; when <see langword="null"/>, an empty string, as
    /// the real service reports it.
    /// </summary>
    public string? PlanName { get; init; }

    /// <summary>
    /// Gets the customer's Azure subscription reported by <c>GET /api/usageEvents</c>; when <see langword="null"/>,
    /// the one named in <see cref="ResourceUri"/>, else <c>00000000-0000-0000-0000-000000000000</c> (the one in the
    /// resource URI the emulator makes up for a SaaS subscription).
    /// </summary>
    public Guid? AzureSubscriptionId { get; init; }
}
