using System.ComponentModel;

namespace MarketplaceMetering;

/// <summary>
/// How the marketplace reconciled a day of usage (the <c>reconStatus</c> of <c>GET /api/usageEvents</c>). An extensible
/// value: the known statuses are static properties, and a status this version does not know is kept as its text, never
/// refused. Compares case-insensitively.
/// </summary>
public readonly struct ReconStatus : IEquatable<ReconStatus>
{
    private readonly string? _value;

    /// <summary>Creates a status from its wire text; any text is accepted.</summary>
    /// <param name="value">The status as the service writes it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    public ReconStatus(string value)
    {
        _value = Argument.NotNull(value);
    }

    /// <summary>Received by the marketplace, not yet processed.</summary>
    public static ReconStatus Submitted { get; } = new("Submitted");

    /// <summary>Processed; the processed quantity will be billed.</summary>
    public static ReconStatus Accepted { get; } = new("Accepted");

    /// <summary>Refused by the marketplace; nothing of it will be billed.</summary>
    public static ReconStatus Rejected { get; } = new("Rejected");

    /// <summary>Processed, but the processed quantity differs from the submitted one.</summary>
    public static ReconStatus Mismatch { get; } = new("Mismatch");

    /// <summary>Sent with test headers; not billed.</summary>
    public static ReconStatus TestHeaders { get; } = new("TestHeaders");

    /// <summary>Sent as a dry run; not billed.</summary>
    public static ReconStatus DryRun { get; } = new("DryRun");

    /// <summary>Whether this is one of the statuses this version knows (the static properties).</summary>
    public bool IsKnown =>
        Equals(Submitted) || Equals(Accepted) || Equals(Rejected) || Equals(Mismatch) || Equals(TestHeaders) || Equals(DryRun);

    /// <summary>Compares two statuses case-insensitively.</summary>
    /// <param name="left">One status.</param>
    /// <param name="right">The other.</param>
    public static bool operator ==(ReconStatus left, ReconStatus right) => left.Equals(right);

    /// <summary>Compares two statuses case-insensitively.</summary>
    /// <param name="left">One status.</param>
    /// <param name="right">The other.</param>
    public static bool operator !=(ReconStatus left, ReconStatus right) => !left.Equals(right);

    /// <summary>A status from its wire text.</summary>
    /// <param name="value">The text.</param>
    public static implicit operator ReconStatus(string value) => new(value);

    /// <summary>Compares case-insensitively with another status.</summary>
    /// <param name="other">The other status.</param>
    public bool Equals(ReconStatus other) => string.Equals(_value, other._value, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    [EditorBrowsable(EditorBrowsableState.Never)]
    public override bool Equals(object? obj) => obj is ReconStatus other && Equals(other);

    /// <inheritdoc />
    [EditorBrowsable(EditorBrowsableState.Never)]
    public override int GetHashCode() => _value is null ? 0 : StringComparer.OrdinalIgnoreCase.GetHashCode(_value);

    /// <summary>The status as the service wrote it (empty for <see langword="default"/>).</summary>
    public override string ToString() => _value ?? string.Empty;
}
