using System.Text;
using MarketplaceMetering.Serialization;

namespace MarketplaceMetering.Tests.Models;

/// <summary>
/// A Duplicate is a replay only when the original's quantity is the one this event sent, as exactly as the wire allows
/// (review of the core, item 5): the quantity the client wrote, read back as the service's double, compared for
/// equality. No tolerance hides a conflict, and a summary never counts more than the service holds.
/// </summary>
public class ReplayRuleTests
{
    [Theory]
    [InlineData("1000000000000", "1000000000900")]
    [InlineData("5000000000", "5000000004")]
    [InlineData("1", "1.000000001")]
    [InlineData("0.3", "0.30000000000000004")]
    public async Task SubmitUsageEventAsync_HourHoldsAnotherQuantityWithinOldTolerance_IsConflict(string first, string second)
    {
        await using var h = await Harness.StartAsync();
        var at = h.Clock.GetUtcNow().AddHours(-1);
        (await h.Client.SubmitUsageEventAsync(TestEvents.At(at, decimal.Parse(first)))).Should().BeOfType<UsageEventResult.Accepted>();

        var again = await h.Client.SubmitUsageEventAsync(TestEvents.At(at, decimal.Parse(second)));

        var duplicate = again.Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        duplicate.IsReplay.Should().BeFalse("the service holds {0}, not {1}", first, second);
        duplicate.IsConflict.Should().BeTrue();
        duplicate.IsDelivered.Should().BeFalse();
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_SameHourWithCloseQuantities_SummaryNeverExceedsWhatTheServiceHolds()
    {
        await using var h = await Harness.StartAsync();
        var at = h.Clock.GetUtcNow().AddHours(-1);

        var bulk = await h.Client.SubmitUsageEventsAsync([TestEvents.At(at, 5_000_000_000m), TestEvents.At(at, 5_000_000_004m)]);

        bulk.Results[0].Should().BeOfType<UsageEventResult.Accepted>();
        bulk.Results[1].Should().BeOfType<UsageEventResult.Duplicate>().Which.IsConflict.Should().BeTrue();
        bulk.Summary.Delivered.Should().Be(1);
        bulk.Summary.DeliveredQuantityByDimension[TestEvents.Dimension].Should().Be(h.Emulator.Ledger.Entries.Sum(e => e.Quantity)).And.Be(5_000_000_000m);
    }

    [Theory]
    [InlineData("9.123456789012346", "9.1234567890123461")]
    [InlineData("0.1", "0.1")]
    [InlineData("0.12345678901234567890", "0.12345678901234568")]
    [InlineData("123456789.123456789", "123456789.12345679")]
    [InlineData("5", "5.0")]
    public void MapSingle_OriginalIsTheServiceDoubleOfWhatWasSent_IsReplay(string sent, string echoed)
    {
        var time = new DateTimeOffset(2026, 11, 20, 9, 30, 0, TimeSpan.Zero);
        var usage = TestEvents.At(time, decimal.Parse(sent, System.Globalization.CultureInfo.InvariantCulture));

        var result = ResponseMapper.MapSingle(usage, Conflict(echoed), "POST /api/usageEvent");

        result.Should().BeOfType<UsageEventResult.Duplicate>().Which.IsReplay.Should().BeTrue("{0} is what the wire carried for {1}", echoed, sent);
    }

    [Fact]
    public void MapSingle_ReplayOfQuantityBeyondDoublePrecision_SummaryCountsTheQuantityTheServiceHolds()
    {
        var time = new DateTimeOffset(2026, 11, 20, 9, 30, 0, TimeSpan.Zero);
        var usage = TestEvents.At(time, 0.12345678901234567890m);

        var result = ResponseMapper.MapSingle(usage, Conflict("0.12345678901234568"), "POST /api/usageEvent");
        var summary = UsageEventSummary.Create([result]);

        summary.DeliveredQuantityByDimension[TestEvents.Dimension].Should().Be(0.12345678901234568m);
    }

    private static RawResponse Conflict(string quantity) => new(
        409,
        null,
        Encoding.UTF8.GetBytes($$$"""
            {"additionalInfo":{"acceptedMessage":{"usageEventId":"aaaaaaaa-0000-0000-0000-000000000001","status":"Duplicate","messageTime":"2026-11-20T09:35:00Z",
              "resourceId":"{{{TestEvents.Resource}}}","quantity":{{{quantity}}},"dimension":"dim1","effectiveStartTime":"2026-11-20T09:10:00Z","planId":"plan1"}},
             "message":"This usage event already exist.","code":"Conflict"}
            """),
        "req-1",
        "corr-1",
        null);
}
