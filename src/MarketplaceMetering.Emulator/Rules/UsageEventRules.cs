using MarketplaceMetering.Emulator.Catalogue;

namespace MarketplaceMetering.Emulator.Rules;

/// <summary>
/// The metering service's rules for one usage event, checked in the service's order: readable fields
/// (<c>BadArgument</c>), quantity (<c>InvalidQuantity</c>), the 24-hour window (<c>Expired</c>), the resource
/// (<c>ResourceNotFound</c>, <c>ResourceNotAuthorized</c>, <c>ResourceNotActive</c>), plan (<c>BadArgument</c>), dimension
/// (<c>InvalidDimension</c>), then one event per resource, dimension and UTC hour (<c>Duplicate</c>).
/// Accepted events go into the ledger. No HTTP here.
/// </summary>
internal sealed class UsageEventRules(ResourceCatalogue catalogue, EmulatorLedger ledger, TimeProvider timeProvider)
{
    public const string ExpiredMessage = "The usageEvent.effectiveStartTime has expired or is in future.";

    /// <summary>How far back usage is accepted.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromHours(24);

    /// <summary>Applies the rules to one event, recording it when accepted.</summary>
    public UsageEventOutcome Evaluate(UsageEventInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (FindBadArgument(input) is { } bad)
        {
            return bad;
        }

        var quantity = input.Quantity!.Value;
        var effectiveStartTime = input.EffectiveStartTime!.Value.ToUniversalTime();
        var dimension = input.Dimension!;
        var planId = input.PlanId!;
        var resourceTarget = input.ResourceId is null ? "resourceUri" : "resourceId";

        if (quantity <= 0)
        {
            return Reject(input, EventStatus.InvalidQuantity, "quantity", "The usageEvent.quantity must be greater than 0.");
        }

        var now = timeProvider.GetUtcNow();
        if (effectiveStartTime < now - Window || effectiveStartTime > now)
        {
            return Reject(input, EventStatus.Expired, "effectiveStartTime", ExpiredMessage);
        }

        var resource = catalogue.Resolve(input.ResourceId, input.ResourceUri);
        if (resource is null)
        {
            return Reject(input, EventStatus.ResourceNotFound, resourceTarget, "The resource was not found or is not authorized for this publisher.");
        }

        if (resource.Status == EmulatedResourceStatus.OtherPublisher)
        {
            return Reject(input, EventStatus.ResourceNotAuthorized, resourceTarget, "The resource is not authorized for this publisher.");
        }

        if (resource.Status != EmulatedResourceStatus.Subscribed)
        {
            return Reject(input, EventStatus.ResourceNotActive, resourceTarget, $"The resource is not active: its status is {resource.Status}.");
        }

        if (resource.Definition is { } definition)
        {
            if (!string.Equals(definition.PlanId, planId, StringComparison.OrdinalIgnoreCase))
            {
                return Reject(input, EventStatus.BadArgument, "planId", "The usageEvent.planId does not match the resource's plan.");
            }

            if (!definition.Dimensions.Contains(dimension, StringComparer.OrdinalIgnoreCase))
            {
                return Reject(input, EventStatus.InvalidDimension, "dimension", "The usageEvent.dimension is not defined in the plan.");
            }
        }

        var candidate = new LedgerEntry(
            Guid.NewGuid(),
            resource.UsageId,
            resource.Uri,
            planId,
            dimension,
            quantity,
            effectiveStartTime,
            now);

        if (ledger.TryRecord(candidate, out var original))
        {
            return new UsageEventOutcome.Accepted(input, candidate, resource.AnswerUri);
        }

        // The original is repeated as it was accepted: with its own URI, which may not be this event's (an open
        // catalogue names an application sent by URI, and then by its resource usage id, in two ways).
        var originalUri = original.ResourceUri ?? ResourceIdentity.SynthesizeUri(original.ResourceId);
        return new UsageEventOutcome.Duplicate(input, originalUri, original, now);
    }

    private static UsageEventOutcome.Rejected? FindBadArgument(UsageEventInput input)
    {
        if (input.Problem is { } problem)
        {
            return Reject(input, EventStatus.BadArgument, problem.Target, problem.Message);
        }

        if (input.ResourceId is null && input.ResourceUri is null)
        {
            return Reject(input, EventStatus.BadArgument, "resourceId", "Either usageEvent.resourceId or usageEvent.resourceUri is required.");
        }

        if (input.ResourceId is not null && input.ResourceUri is not null)
        {
            return Reject(input, EventStatus.BadArgument, "resourceUri", "Send either usageEvent.resourceId or usageEvent.resourceUri, not both.");
        }

        if (input.Quantity is null)
        {
            return Reject(input, EventStatus.BadArgument, "quantity", "The usageEvent.quantity is required.");
        }

        if (string.IsNullOrWhiteSpace(input.Dimension))
        {
            return Reject(input, EventStatus.BadArgument, "dimension", "The usageEvent.dimension is required.");
        }

        if (input.EffectiveStartTime is null)
        {
            return Reject(input, EventStatus.BadArgument, "effectiveStartTime", "The usageEvent.effectiveStartTime is required.");
        }

        if (string.IsNullOrWhiteSpace(input.PlanId))
        {
            return Reject(input, EventStatus.BadArgument, "planId", "The usageEvent.planId is required.");
        }

        return null;
    }

    private static UsageEventOutcome.Rejected Reject(UsageEventInput input, string code, string target, string message) =>
        new(input, code, target, message);
}
