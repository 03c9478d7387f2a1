using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// A ledger row changed outside the library (edited by hand, written by a broken tool) never stops the flushing of the
/// others: a row no event can be made of is marked Failed and named in the log; reading it through the API is a clear
/// <see cref="InvalidDataException"/> naming the row, not a raw parse error.
/// </summary>
[Collection(AccumulationTelemetryGroup.Name)]
public class UnreadableRowTests
{
    private static readonly Guid A = Guid.Parse("3f1c2b4a-0d5e-4b6f-8a7c-9e0d1f2a3b4c");
    private static readonly Guid B = Guid.Parse("7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d");

    [Theory]
    [InlineData("quantity", "'abc'")]
    [InlineData("quantity", "'1e999'")]
    [InlineData("resource", "'not-a-guid'")]
    [InlineData("dimension", "''")]
    [InlineData("quantity", "'-5'")]
    public async Task FlushAsync_RowChangedSoNoEventCanBeMadeOfIt_MarkedFailedAndTheOthersAreSent(string column, string value)
    {
        await using var h = await AccumulationHarness.StartAsync();
        await h.Recorder.RecordAsync(A, "plan", "calls", 3m, h.HourAgo(2));
        await h.Recorder.RecordAsync(B, "plan", "calls", 4m, h.HourAgo(2));
        await ExecuteAsync(h, $"UPDATE mm_usage SET {column} = {value} WHERE resource = '{A}'");

        var first = await h.Flusher.FlushAsync();
        var second = await h.Flusher.FlushAsync();

        (first.Claimed, first.Delivered, first.Failed).Should().Be((2, 1, 1), "the readable row is sent; the other is failed, not sent");
        second.Claimed.Should().Be(0, "a failed row is not claimed again");
        h.Emulator.Ledger.Entries.Should().ContainSingle().Which.ResourceId.Should().Be(B);
        var (state, detail) = await RowAsync(h, column == "resource" ? "not-a-guid" : A.ToString());
        state.Should().Be((int)UsageLedgerState.Failed);
        detail.Should().StartWith("InvalidRow: ");
        if (column is "quantity" or "resource" && value != "'-5'")
        {
            h.Logs.GetSnapshot().Should().Contain(r => r.Level == LogLevel.Error && r.Message.Contains("cannot be read", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task FlushAsync_TwoFlushersShareOneLedgerObject_OnlyTheFlushThatFoundTheRowReportsIt()
    {
        await using var h = await AccumulationHarness.StartAsync();
        var other = new UsageFlusher(h.Ledger, h.Client, h.Options);
        await h.Recorder.RecordAsync(A, "plan", "calls", 3m, h.HourAgo(2));
        await ExecuteAsync(h, $"UPDATE mm_usage SET quantity = 'abc' WHERE resource = '{A}'");

        var first = await h.Flusher.FlushAsync();
        var second = await other.FlushAsync();

        (first.Claimed, first.Failed).Should().Be((1, 1));
        (second.Claimed, second.Failed).Should().Be((0, 0));
        h.Logs.GetSnapshot().Where(r => r.Message.Contains("cannot be read", StringComparison.Ordinal)).Should()
            .ContainSingle("the other flusher did not find the row, so it neither logs nor counts it");
    }

    [Theory]
    [InlineData("quantity", "'abc'")]
    [InlineData("resource", "'not-a-guid'")]
    public async Task GetEntriesAsync_RowThatCannotBeRead_ThrowsInvalidDataExceptionNamingTheRow(string column, string value)
    {
        await using var h = await AccumulationHarness.StartAsync();
        await h.Recorder.RecordAsync(A, "plan", "calls", 3m, h.HourAgo(2));
        await ExecuteAsync(h, $"UPDATE mm_usage SET {column} = {value} WHERE resource = '{A}'");

        var act = () => h.EntriesAsync();

        (await act.Should().ThrowAsync<InvalidDataException>()).Which.Message.Should().Contain("Ledger row 1 cannot be read").And.Contain("Correct or delete it");
    }

    [SkippableTheory]
    [InlineData("resource = 'not-a-guid'")]
    [InlineData("resource_is_uri = true")] // reads as a URI that is not an Azure resource id: an ArgumentException, not a parse error
    public async Task FlushAsync_PostgreSqlRowChangedSoNoEventCanBeMadeOfIt_MarkedFailedAndTheOthersAreSent(string change)
    {
        var ledger = PostgresServer.NewLedger(out var schema);
        try
        {
            await using var h = await AccumulationHarness.StartAsync(ledger: ledger);
            await h.Recorder.RecordAsync(A, "plan", "calls", 3m, h.HourAgo(2));
            await h.Recorder.RecordAsync(B, "plan", "calls", 4m, h.HourAgo(2));
            await using (var connection = new Npgsql.NpgsqlConnection(PostgresServer.ConnectionString()))
            {
                await connection.OpenAsync();
                await using var command = new Npgsql.NpgsqlCommand($"UPDATE {schema}.usage SET {change} WHERE resource = '{A}'", connection);
                (await command.ExecuteNonQueryAsync()).Should().Be(1);
            }

            var read = () => h.EntriesAsync();
            (await read.Should().ThrowAsync<InvalidDataException>()).Which.Message.Should().Contain("cannot be read");

            var first = await h.Flusher.FlushAsync();
            var second = await h.Flusher.FlushAsync();

            (first.Claimed, first.Delivered, first.Failed).Should().Be((2, 1, 1), "one row changed by hand must not stop every flush");
            second.Claimed.Should().Be(0);
            h.Emulator.Ledger.Entries.Should().ContainSingle().Which.ResourceId.Should().Be(B);
            (await h.EntriesAsync(UsageLedgerState.Accepted)).Should().ContainSingle().Which.Resource.Id.Should().Be(B);
            h.Logs.GetSnapshot().Should().Contain(r => r.Level == LogLevel.Error && r.Message.Contains("cannot be read", StringComparison.Ordinal));
        }
        finally
        {
            await PostgresServer.DropAsync(schema);
        }
    }

    private static async Task ExecuteAsync(AccumulationHarness h, string sql)
    {
        await using var connection = new SqliteConnection("Data Source=" + h.SqlitePath);
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        (await command.ExecuteNonQueryAsync()).Should().Be(1);
    }

    private static async Task<(long State, string Detail)> RowAsync(AccumulationHarness h, string resource)
    {
        await using var connection = new SqliteConnection("Data Source=" + h.SqlitePath);
        await connection.OpenAsync();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT state, detail FROM mm_usage WHERE resource = $resource";
        command.Parameters.AddWithValue("$resource", resource);
        using var reader = await command.ExecuteReaderAsync();
        (await reader.ReadAsync()).Should().BeTrue();
        return (reader.GetInt64(0), reader.GetString(1));
    }
}
