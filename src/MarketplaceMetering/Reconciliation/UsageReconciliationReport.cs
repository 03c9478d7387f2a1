namespace MarketplaceMetering;

/// <summary>What <see cref="UsageReconciler"/> found: one row per resource, dimension and UTC day seen on either side.</summary>
public sealed class UsageReconciliationReport
{
    internal UsageReconciliationReport(DateTimeOffset from, DateTimeOffset to, IReadOnlyList<UsageReconciliationRow> rows)
    {
        From = from;
        To = to;
        Rows = rows;
    }

    /// <summary>The start of the range compared (inclusive).</summary>
    public DateTimeOffset From { get; }

    /// <summary>The end of the range compared (exclusive).</summary>
    public DateTimeOffset To { get; }

    /// <summary>The rows, by day, resource and dimension.</summary>
    public IReadOnlyList<UsageReconciliationRow> Rows { get; }

    /// <summary>The rows with at least one difference.</summary>
    public IEnumerable<UsageReconciliationRow> Differences => Rows.Where(r => r.Differences != UsageDifferences.None);

    /// <summary>Whether any row differs.</summary>
    public bool HasDifferences => Rows.Any(r => r.Differences != UsageDifferences.None);
}
