namespace MarketplaceMetering;

/// <summary>The ledger <c>AddMarketplaceMeteringAccumulation</c> registers (configuration keys <c>Ledger</c>, <c>ConnectionString</c> and <c>Schema</c>).</summary>
public sealed class UsageLedgerOptions
{
    /// <summary>Gets or sets which ledger to use.</summary>
    /// <value>The default is <see cref="UsageLedgerKind.Sqlite"/>.</value>
    public UsageLedgerKind Ledger { get; set; } = UsageLedgerKind.Sqlite;

    /// <summary>Gets or sets the SQLite file's path (or <c>Data Source=path</c>), or the PostgreSQL connection string.</summary>
    /// <value>The default is <c>marketplace-metering-usage.db</c> in the working directory, for SQLite; PostgreSQL requires one.</value>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets the PostgreSQL schema that holds the ledger's tables.</summary>
    /// <value>The default is <c>marketplace_metering</c>.</value>
    public string Schema { get; set; } = "marketplace_metering";

    /// <summary>The SQLite file used when no connection string is given.</summary>
    internal const string DefaultSqliteFile = "marketplace-metering-usage.db";

    /// <summary>The SQLite path: the connection string itself, or its <c>Data Source</c>.</summary>
    internal string SqlitePath
    {
        get
        {
            var text = string.IsNullOrWhiteSpace(ConnectionString) ? DefaultSqliteFile : ConnectionString.Trim();
            const string prefix = "Data Source=";
            return text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ? text[prefix.Length..].TrimEnd(';').Trim() : text;
        }
    }
}
