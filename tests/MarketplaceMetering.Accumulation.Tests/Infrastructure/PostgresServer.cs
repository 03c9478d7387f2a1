using Npgsql;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// The PostgreSQL server the tests use: the connection string in <c>MM_POSTGRES</c> (.ci/run starts a throwaway
/// cluster with .ci/postgres.sh and sets it). Without it the PostgreSQL tests skip, saying how to enable them, unless
/// <c>MM_REQUIRE_POSTGRES=1</c> (set by .ci/run), which turns a missing server into a failure: CI cannot pass with
/// them skipped.
/// </summary>
internal static class PostgresServer
{
    public const string HowToEnable = "PostgreSQL tests skipped: no server configured. To run them: export MM_POSTGRES=\"$(.ci/postgres.sh)\" (starts a throwaway cluster on loopback; needs the Debian postgresql package, which the script installs if missing).";

    /// <summary>The connection string, or a skip (or, when required, a failure).</summary>
    public static string ConnectionString()
    {
        var connectionString = Environment.GetEnvironmentVariable("MM_POSTGRES");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            if (Environment.GetEnvironmentVariable("MM_REQUIRE_POSTGRES") == "1")
            {
                throw new InvalidOperationException("MM_REQUIRE_POSTGRES=1 but MM_POSTGRES is not set: the PostgreSQL tests must run here. " + HowToEnable);
            }

            Skip.If(true, HowToEnable);
        }

        // The machine the tests run on is shared and, with every test project running at once, can leave a connection
        // or a command waiting for many seconds: Npgsql's defaults (15 s to connect, 30 s per command) then fail a test
        // for the machine's load, not for the code under test. Longer waits, unless the connection string sets its own.
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString!.Contains("Timeout", StringComparison.OrdinalIgnoreCase))
        {
            builder.Timeout = 120;
            builder.CommandTimeout = 120;
        }

        return builder.ConnectionString;
    }

    /// <summary>A ledger in a schema of its own, so tests never see each other's rows.</summary>
    public static PostgreSqlUsageLedger NewLedger(out string schema)
    {
        schema = "t_" + Guid.NewGuid().ToString("N");
        return new PostgreSqlUsageLedger(ConnectionString(), schema);
    }

    /// <summary>Drops a test's schema.</summary>
    public static async Task DropAsync(string schema)
    {
        await using var source = NpgsqlDataSource.Create(ConnectionString());
        await using var command = source.CreateCommand("DROP SCHEMA IF EXISTS " + schema + " CASCADE;");
        await command.ExecuteNonQueryAsync();
    }
}
