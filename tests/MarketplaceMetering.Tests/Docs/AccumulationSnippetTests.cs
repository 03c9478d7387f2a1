namespace MarketplaceMetering.Tests.Docs;

public sealed class AccumulationSnippetTests
{
    [Fact]
    public async Task QuickStartSnippet_RecordedLastHour_FlushBillsEachDimensionOnce()
    {
        await using var h = await Harness.StartAsync();
        var folder = Directory.CreateTempSubdirectory("mm-doc-").FullName;
        try
        {
            // The snippet records "now"; an hour later (and a grace of zero) that hour is closed and sent.
            var flushed = await AccumulationDocSnippets.QuickStartAsync(h.Client, TestEvents.Resource, folder, new ShiftedClock(h.Clock, TimeSpan.Zero));
            flushed.Claimed.Should().Be(0, "the hour is still open");

            var later = await AccumulationDocSnippets.QuickStartAsync(h.Client, TestEvents.Resource, folder, new ShiftedClock(h.Clock, TimeSpan.FromHours(1)));

            later.Delivered.Should().Be(3);
            h.Emulator.Ledger.Entries.Select(e => (e.Dimension, e.Quantity)).Should().BeEquivalentTo([("api-calls", 1m), ("exports", 1m), ("gigabytes", 0.25m)]);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The test clock seen some time later (the emulator keeps the unshifted clock: the hour sent is in its past).</summary>
    private sealed class ShiftedClock(TimeProvider inner, TimeSpan shift) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow() + shift;
    }
}
