using System.Net.Sockets;
using System.Text.RegularExpressions;
using MarketplaceMetering.Cli.CommandLine;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace MarketplaceMetering.Cli.Input;

/// <summary>
/// Opens the ledger named by <c>--ledger</c> for reading: a PostgreSQL ledger when the value is an Npgsql connection
/// string (it sets <c>Host=</c>, or another of its keywords such as <c>Password=</c>, the host then coming from
/// PGHOST), else a SQLite file. Checks first that it is a ledger, so that a wrong value is one clear
/// line and never a new empty database or schema (the ledgers create their schema on first use).
/// </summary>
internal static partial class LedgerSource
{
    /// <summary>The SQLite ledger's main table (see SqliteUsageLedger's schema).</summary>
    private const string SqliteTable = "mm_usage";

    /// <summary>The SQLite ledger's schema version table.</summary>
    private const string SqliteSchemaTable = "mm_schema";

    /// <summary>The PostgreSQL ledger's main table, inside its schema (see PostgreSqlUsageLedger's schema).</summary>
    private const string PostgreSqlTable = "usage";

    /// <summary>
    /// Whether <paramref name="value"/> is an Npgsql connection string: it sets Host (or Server), or a keyword no file
    /// path starts a segment with (a user, a password, a database, a port). Such a value is never echoed as a path: it
    /// may hold a password.
    /// </summary>
    public static bool IsPostgreSql(string value) => HostKeyword().IsMatch(value);

    public static async Task<UsageLedger> OpenAsync(string value, string? schema, CancellationToken cancellationToken)
    {
        if (IsPostgreSql(value))
        {
            return await OpenPostgreSqlAsync(value, schema ?? PostgreSqlUsageLedger.DefaultSchema, cancellationToken).ConfigureAwait(false);
        }

        if (schema is not null)
        {
            throw new CliException("--ledger-schema applies to a PostgreSQL ledger only (a --ledger connection string with Host=); " + value + " is read as a SQLite file.");
        }

        return await OpenSqliteAsync(value, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<UsageLedger> OpenSqliteAsync(string path, CancellationToken cancellationToken)
    {
        if (Directory.Exists(path))
        {
            throw new CliException($"--ledger {path}: is a folder. Give the path of the SQLite ledger file, or a PostgreSQL connection string (Host=…).");
        }

        if (!File.Exists(path))
        {
            throw new CliException($"--ledger {path}: no such file. Give the path of the SQLite ledger, or a PostgreSQL connection string (Host=…).");
        }

        // Read-only: a file that is not a ledger is left exactly as it was.
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        try
        {
            using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $name;";
            command.Parameters.AddWithValue("$name", SqliteTable);
            if (Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                throw new CliException($"--ledger {path} is a SQLite database but not a usage ledger (it has no {SqliteTable} table).");
            }

            // The ledger migrates its schema when it is opened (and switches the file to write-ahead logging): a table
            // of that name in another database, or a ledger of an older schema version, would be written to. Both are
            // refused here, read-only, and left as they were. (A newer ledger is the ledger's to judge: it refuses an
            // incompatible one before any migration.)
            command.Parameters["$name"].Value = SqliteSchemaTable;
            if (Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                throw new CliException($"--ledger {path} is a SQLite database but not a usage ledger (it has a {SqliteTable} table but no {SqliteSchemaTable} table).");
            }

            command.Parameters.Clear();
            command.CommandText = $"SELECT COALESCE(MAX(version), 0) FROM {SqliteSchemaTable};";
            var version = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
            if (version < SqliteUsageLedger.SchemaVersion)
            {
                throw new CliException($"--ledger {path} has schema version {version}, older than this tool's ({SqliteUsageLedger.SchemaVersion}); reconcile only reads, and opening it would migrate it: let the application open it first with MarketplaceMetering.Accumulation at this version, or use the tool of the ledger's version.");
            }
        }
        catch (SqliteException e)
        {
            throw new CliException($"--ledger {path} cannot be read as a SQLite ledger: {e.Message}");
        }

        return new SqliteUsageLedger(path);
    }

    private static async Task<UsageLedger> OpenPostgreSqlAsync(string connectionString, string schema, CancellationToken cancellationToken)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            // The message names the bad keyword or position, never a value; but after an unquoted password holding ';'
            // (Password=abc;def=ghi) the "keyword" Npgsql names is part of the password.
            throw new CliException("--ledger is not a valid PostgreSQL connection string: " + (NamesPartOfThePassword(connectionString, e.Message)
                ? "a keyword after Password= cannot be set (not shown: it may be part of the password; quote a password that holds ';', as Password='abc;def')."
                : e.Message));
        }

        if (string.IsNullOrWhiteSpace(builder.Host) && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("PGHOST")))
        {
            throw new CliException("--ledger is a PostgreSQL connection string without Host=, and PGHOST is not set: give the server as Host=… (the value is not shown, as it may hold a password).");
        }

        var where = Describe(builder);
        PostgreSqlUsageLedger ledger;
        try
        {
            ledger = new PostgreSqlUsageLedger(connectionString, schema);
        }
        catch (ArgumentException e)
        {
            throw new CliException("--ledger-schema " + schema + ": " + Messages.WithoutParameter(e));
        }

        try
        {
            var source = NpgsqlDataSource.Create(builder);
            await using (source.ConfigureAwait(false))
            {
                var command = source.CreateCommand("SELECT to_regclass($1) IS NOT NULL;");
                await using (command.ConfigureAwait(false))
                {
                    command.Parameters.AddWithValue(schema + "." + PostgreSqlTable);
                    if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not true)
                    {
                        throw new CliException($"--ledger {where} has no usage ledger in schema '{schema}' (no {schema}.{PostgreSqlTable} table); give --ledger-schema if it lives in another schema.");
                    }
                }
            }
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException)
        {
            await ledger.DisposeAsync().ConfigureAwait(false);
            throw new CliException($"--ledger {where} cannot be reached: {e.Message}");
        }
        catch
        {
            await ledger.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return ledger;
    }

    /// <summary>Whether <paramref name="message"/> quotes a keyword of a segment after the password, which may be a piece of the password itself.</summary>
    private static bool NamesPartOfThePassword(string connectionString, string message)
    {
        var password = PasswordKeyword().Match(connectionString);
        if (!password.Success)
        {
            return false;
        }

        foreach (var segment in connectionString[(password.Index + password.Length)..].Split(';').Skip(1))
        {
            var keyword = segment.Split('=')[0].Trim();
            if (keyword.Length > 0 && message.Contains(keyword, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    [GeneratedRegex(@"(?:^|;)\s*(?:password|pwd)\s*=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PasswordKeyword();

    // The same names as the accumulation package's check of a SQLite ConnectionString (UsageLedgerOptions.ServerKeywords):
    // Npgsql's keywords and their aliases. The packages share no internals, so each keeps its list.
    [GeneratedRegex(@"(?:^|;)\s*(?:host|server|port|database|username|user\s*id|uid|user|password|pwd)\s*=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex HostKeyword();

    /// <summary>Where the ledger is, for messages: host, port, database and user, never the password.</summary>
    private static string Describe(NpgsqlConnectionStringBuilder builder) =>
        $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database ?? "(default database)"} as {builder.Username ?? "(default user)"}";
}
