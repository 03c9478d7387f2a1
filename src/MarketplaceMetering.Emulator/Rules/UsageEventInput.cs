namespace MarketplaceMetering.Emulator.Rules;

/// <summary>
/// A usage event as read from the wire: each field <see langword="null"/> when missing or unreadable, and the
/// first reading problem, if any, in <see cref="Problem"/>.
/// </summary>
internal sealed record UsageEventInput(
    Guid? ResourceId,
    string? ResourceUri,
    decimal? Quantity,
    string? Dimension,
    DateTimeOffset? EffectiveStartTime,
    string? PlanId,
    FieldProblem? Problem = null);

/// <summary>A field that could not be read: its wire name and what was wrong.</summary>
internal sealed record FieldProblem(string Target, string Message);
