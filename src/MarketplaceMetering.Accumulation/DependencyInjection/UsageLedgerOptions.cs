using System.Data.Common;
using System.Globalization;

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
    internal string SqlitePath => ReadSqlite(out _);

    /// <summary>What in a SQLite connection string the ledger cannot take, for the start-up validation; <see langword="null"/> when nothing.</summary>
    internal string? SqliteProblem
    {
        get
        {
            ReadSqlite(out var problem);
            return problem;
        }
    }

    /// <summary>
    /// The SQLite path. Text starting with <c>Data Source=</c> is read as a connection string (quotes and all), which
    /// may hold nothing else: the ledger sets its own connection settings, so any other keyword is a
    /// <paramref name="problem"/> (named, never with its value) rather than part of a file name.
    /// </summary>
    private string ReadSqlite(out string? problem)
    {
        problem = null;
        var text = string.IsNullOrWhiteSpace(ConnectionString) ? DefaultSqliteFile : ConnectionString.Trim();
        if (!text.StartsWith("Data Source=", StringComparison.OrdinalIgnoreCase))
        {
            if (ServerKeywords(text) is { Count: > 0 } keywords)
            {
                // A server's connection string (Ledger left at its default): as a path it would make a file named after
                // it, password and all, and every error naming the path would show the password.
                problem = "sets '" + string.Join("', '", keywords) + "', as a PostgreSQL connection string does, but the ledger is SQLite, whose connection string is a file's path: set Ledger to PostgreSql, or give the SQLite file's path.";
            }

            return text;
        }

        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = text;
        }
        catch (ArgumentException)
        {
            problem = "is not a well-formed SQLite connection string; give the file's path, or 'Data Source=path' alone.";
            return text;
        }

        var others = builder.Keys.Cast<string>().Where(k => !string.Equals(k, "Data Source", StringComparison.OrdinalIgnoreCase)).ToList();
        if (others.Count > 0)
        {
            problem = "sets '" + string.Join("', '", others) + "' for the SQLite ledger, which sets its own connection settings; give the file's path, or 'Data Source=path' alone.";
        }

        return Convert.ToString(builder["Data Source"], CultureInfo.InvariantCulture)?.Trim() ?? string.Empty;
    }

    /// <summary>The keywords of a server's connection string (host, password, …) that <paramref name="text"/> sets, if it reads as one; names only, never values.</summary>
    private static List<string> ServerKeywords(string text)
    {
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = text;
        }
        catch (ArgumentException)
        {
            return []; // not keyword=value pairs: a path
        }

        // The same names as the CLI's --ledger reading (LedgerSource.HostKeyword): Npgsql's keywords and their aliases.
        string[] server = ["host", "server", "port", "username", "user id", "userid", "uid", "user", "password", "pwd", "database"];
        return builder.Keys.Cast<string>().Where(k => server.Contains(k.Trim(), StringComparer.OrdinalIgnoreCase)).ToList();
    }
}
