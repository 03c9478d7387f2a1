using System.Globalization;
using System.Text.Json;
using MarketplaceMetering.Accumulation.Tests;

namespace MarketplaceMetering.Cli.Tests.Commands;

/// <summary>
/// <c>metering reconcile --ledger</c> over a ledger filled by the real recorder and flusher against the emulator (on
/// the tests' clock), SQLite and PostgreSQL, and its bad inputs.
/// </summary>
public class ReconcileLedgerCommandTests
{
    private static readonly string From = PlantedLedger.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    private static readonly string To = PlantedLedger.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Reconcile_SqliteLedgerWithPlantedDifferences_ExitsFiveAndNamesEachAndNothingElse()
    {
        await using var h = await AccumulationHarness.StartAsync();
        await PlantedLedger.PlantAsync(h);

        var run = await RunAsync(h, "--ledger", h.SqlitePath, "--json");

        run.ExitCode.Should().Be(5, run.ToString());
        Differences(run).Should().Equal(PlantedLedger.Expected.ToDictionary(p => p.Key, p => Names(p.Value)));

        var table = await RunAsync(h, "--ledger", h.SqlitePath);
        table.ExitCode.Should().Be(5, table.ToString());
        table.Out.Should().Contain("4 of 5 rows differ").And.Contain("QuantityMismatch").And.Contain("Undelivered");
    }

    [SkippableFact]
    public async Task Reconcile_PostgreSqlLedgerWithPlantedDifferences_ExitsFiveAndNamesEachAndNothingElse()
    {
        var ledger = PostgresServer.NewLedger(out var schema);
        try
        {
            await using var h = await AccumulationHarness.StartAsync(ledger: ledger);
            await PlantedLedger.PlantAsync(h);

            var run = await RunAsync(h, "--ledger", PostgresServer.ConnectionString(), "--ledger-schema", schema, "--json");

            run.ExitCode.Should().Be(5, run.ToString());
            Differences(run).Should().Equal(PlantedLedger.Expected.ToDictionary(p => p.Key, p => Names(p.Value)));
        }
        finally
        {
            await PostgresServer.DropAsync(schema);
        }
    }

    [Fact]
    public async Task Reconcile_LedgerAndSentFile_ComparedTogetherAndAnHourInBothCountedOnce()
    {
        await using var h = await AccumulationHarness.StartAsync();
        await PlantedLedger.PlantAsync(h);
        var other = Guid.Parse("a0000000-0000-4000-8000-000000000099");
        var sent = Path.Combine(h.Folder, "sent.csv");
        await File.WriteAllTextAsync(sent, "resourceId,planId,dimension,quantity,effectiveStartTime,status\n"
            + $"{PlantedLedger.LostThere},plan,calls,4,2026-11-21T09:00:00Z,Accepted\n"
            + $"{other},plan,calls,1,2026-11-21T10:00:00Z,Accepted\n");

        var run = await RunAsync(h, "--ledger", h.SqlitePath, "--sent", sent, "--json");

        run.ExitCode.Should().Be(5, run.ToString());
        var expected = PlantedLedger.Expected.ToDictionary(p => p.Key, p => Names(p.Value));
        expected[other] = "MissingThere";
        Differences(run).Should().Equal(expected);
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("rows").EnumerateArray()
            .Single(r => r.GetProperty("resourceId").GetGuid() == PlantedLedger.LostThere)
            .GetProperty("deliveredQuantity").GetDecimal().Should().Be(4m, "the hour is in the file and in the ledger, and counted once");
    }

    [Fact]
    public async Task Reconcile_LedgerFileMissing_ExitsTwoInOneLineAndCreatesNothing()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var path = Path.Combine(scope.Directory, "nowhere.db");

        var run = await CliRunner.RunAsync(scope.Args("reconcile", "--ledger", path, "--from", From, "--to", To));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain(path).And.Contain("no such file");
        File.Exists(path).Should().BeFalse("a missing ledger is never created empty");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Reconcile_LedgerIsAFolder_ExitsTwoSayingSoNotThatItIsMissing()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args("reconcile", "--ledger", scope.Directory, "--from", From, "--to", To));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Be($"error: --ledger {scope.Directory}: is a folder. Give the path of the SQLite ledger file, or a PostgreSQL connection string (Host=…).");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData("Username=metering;Password=hunter2-secret;Database=ledger")]
    [InlineData("User ID=metering; Password = hunter2-secret")]
    [InlineData("Database=ledger;Pwd=hunter2-secret")]
    [InlineData("UserId=hunter2-secret")] // the accumulation package's ConnectionString check knows it too
    public async Task Reconcile_LedgerConnectionStringWithoutHost_ReadAsPostgreSqlAndThePasswordIsNeverShown(string connectionString)
    {
        // Npgsql takes the host from PGHOST when the string has none: such a value is a connection string, not a file
        // path, and the "no such file" line used to echo it, password and all.
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args("reconcile", "--ledger", connectionString, "--from", From, "--to", To));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ToString().Should().NotContain("hunter2-secret").And.NotContain("no such file");
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain("without Host=");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData("not a database at all, just text", "cannot be read as a SQLite ledger")]
    [InlineData(null, "not a usage ledger")]
    public async Task Reconcile_LedgerFileIsNotALedger_ExitsTwoAndLeavesTheFileAsItWas(string? content, string expected)
    {
        await using var scope = await EmulatorScope.StartAsync();
        var path = Path.Combine(scope.Directory, "other.db");
        if (content is null)
        {
            // Some other application's SQLite database.
            await using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + path + ";Pooling=False");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE orders (id INTEGER PRIMARY KEY);";
            await command.ExecuteNonQueryAsync();
        }
        else
        {
            await File.WriteAllTextAsync(path, content);
        }

        var before = await File.ReadAllBytesAsync(path);

        var run = await CliRunner.RunAsync(scope.Args("reconcile", "--ledger", path, "--from", From, "--to", To));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain(path).And.Contain(expected);
        (await File.ReadAllBytesAsync(path)).Should().Equal(before);
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Reconcile_LedgerPasswordWithAnUnquotedSemicolon_ErrorDoesNotQuoteThePieceAfterIt()
    {
        const string connection = "Host=db;Password=abc;Sekret7=xyz";
        // Password=abc;Sekret7=xyz is a password "abc;Sekret7=xyz" written unquoted: Npgsql reads a keyword "Sekret7" and
        // its error names it.
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args("reconcile", "--ledger", connection, "--from", From, "--to", To));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain("may be part of the password").And.NotContainEquivalentOf("Sekret7");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData("foreign", "not a usage ledger (it has a mm_usage table but no mm_schema table)")]
    [InlineData("older", "has schema version 1, older than this tool's")]
    public async Task Reconcile_LedgerFileTheLedgerWouldMigrate_ExitsTwoAndLeavesTheFileAsItWas(string kind, string expected)
    {
        // Opening a ledger migrates its schema (and turns on write-ahead logging): another application's table named
        // mm_usage, or a ledger of an older schema version, would be written to by a command that only reads.
        await using var scope = await EmulatorScope.StartAsync();
        var path = Path.Combine(scope.Directory, kind + ".db");
        if (kind == "older")
        {
            await using (var ledger = new SqliteUsageLedger(path))
            {
                await ledger.GetEntriesAsync(PlantedLedger.From, PlantedLedger.To);
            }

            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }

        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + path + ";Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = kind == "older"
                ? "PRAGMA journal_mode=DELETE; UPDATE mm_schema SET version = 1, compatible_from = NULL;"
                : "CREATE TABLE mm_usage (id INTEGER PRIMARY KEY, note TEXT);";
            await command.ExecuteNonQueryAsync();
        }

        var before = await File.ReadAllBytesAsync(path);
        var files = Directory.GetFiles(scope.Directory);

        var run = await CliRunner.RunAsync(scope.Args("reconcile", "--ledger", path, "--from", From, "--to", To));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain(path).And.Contain(expected);
        (await File.ReadAllBytesAsync(path)).Should().Equal(before);
        Directory.GetFiles(scope.Directory).Should().BeEquivalentTo(files, "no -wal or -shm file is made");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reconcile_PostgreSqlUnreachable_ExitsTwoNamingTheServerWithoutThePassword(bool verbose)
    {
        await using var scope = await EmulatorScope.StartAsync();
        const string Password = "hunter2-Secret-Pa55";
        var args = scope.Args("reconcile", "--ledger", $"Database=billing; host = 127.0.0.1;Port=1;Username=meter;Password={Password};Timeout=5", "--from", From, "--to", To);

        var run = await CliRunner.RunAsync(verbose ? [.. args, "--verbose"] : args);

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines[0].Should().Contain("127.0.0.1:1/billing").And.Contain("cannot be reached");
        (run.Out + run.Error).Should().NotContain(Password);
        if (!verbose)
        {
            run.ErrorLines.Should().ContainSingle();
        }

        scope.Emulator.Requests.Should().BeEmpty();
    }

    [SkippableFact]
    public async Task Reconcile_PostgreSqlSchemaWithoutALedger_ExitsTwoAndCreatesNoSchema()
    {
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args("reconcile", "--ledger", PostgresServer.ConnectionString(), "--ledger-schema", schema, "--from", From, "--to", To));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain($"has no usage ledger in schema '{schema}'");
        await using var source = Npgsql.NpgsqlDataSource.Create(PostgresServer.ConnectionString());
        await using var command = source.CreateCommand("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = $1;");
        command.Parameters.AddWithValue(schema);
        (await command.ExecuteScalarAsync()).Should().Be(0L, "reading a ledger never creates one");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Reconcile_LedgerSchemaWithASqliteFile_ExitsTwo()
    {
        await using var h = await AccumulationHarness.StartAsync();
        await h.Ledger.InitializeAsync();

        var run = await RunAsync(h, "--ledger", h.SqlitePath, "--ledger-schema", "billing");

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("--ledger-schema applies to a PostgreSQL ledger only");
        h.Emulator.Requests.Should().BeEmpty();
    }

    private static Task<CliResult> RunAsync(AccumulationHarness h, params string[] args) =>
        CliRunner.RunAsync(["reconcile", .. args, "--from", From, "--to", To, "--endpoint", h.Emulator.Endpoint.ToString(), "--token", h.Emulator.Token]);

    private static Dictionary<Guid, string> Differences(CliResult run)
    {
        using var json = JsonDocument.Parse(run.Out);
        return json.RootElement.GetProperty("rows").EnumerateArray()
            .ToDictionary(r => r.GetProperty("resourceId").GetGuid(), r => string.Join(",", r.GetProperty("differences").EnumerateArray().Select(d => d.GetString())));
    }

    private static string Names(UsageDifferences differences) =>
        string.Join(",", Enum.GetValues<UsageDifferences>().Where(d => d != UsageDifferences.None && differences.HasFlag(d)));
}
