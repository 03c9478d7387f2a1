namespace MarketplaceMetering.Accumulation.Tests;

public sealed class SqliteUsageLedgerTests
{
    [Fact]
    public async Task Ledger_SchemaFromANewerVersion_RefusedWithAClearMessage()
    {
        await using var h = await AccumulationHarness.StartAsync();
        await h.Ledger.InitializeAsync();
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + h.SqlitePath))
        {
            await connection.OpenAsync();
            var command = connection.CreateCommand();
            command.CommandText = "UPDATE mm_schema SET version = 99;";
            await command.ExecuteNonQueryAsync();
        }

        await using var newer = new SqliteUsageLedger(h.SqlitePath);
        var act = () => newer.InitializeAsync();

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("schema version 99").And.Contain(h.SqlitePath);
    }
}
