namespace MarketplaceMetering.Tests.Bulk;

public class UsageEventSummaryTests
{
    private static readonly DateTimeOffset Hour = new(2026, 11, 20, 9, 10, 0, TimeSpan.Zero);

    [Fact]
    public void Create_MixedResults_CountsDeliveredQuantitiesAndAttention()
    {
        UsageEvent E(int i, decimal q, string dim = "dim1") => TestEvents.At(Hour, quantity: q, resource: TestEvents.ResourceNumber(i), dimension: dim);
        var replayed = E(1, 2);
        var conflicting = E(2, 3);
        var results = new UsageEventResult[]
        {
            MeteringModelFactory.Accepted(E(0, 1.5m)),
            MeteringModelFactory.Duplicate(replayed, MeteringModelFactory.AcceptedUsageEvent(replayed)),
            MeteringModelFactory.Duplicate(conflicting, MeteringModelFactory.AcceptedUsageEvent(conflicting, quantity: 9)),
            MeteringModelFactory.Expired(E(3, 4)),
            MeteringModelFactory.Error(E(4, 5)),
            MeteringModelFactory.Unknown(E(5, 6), "Pending"),
            MeteringModelFactory.InvalidDimension(E(6, 7)),
            MeteringModelFactory.Accepted(E(7, 10, "DIM2")),
            MeteringModelFactory.Accepted(E(8, 0.25m, "dim2")),
        };

        var summary = UsageEventSummary.Create(results);

        summary.Total.Should().Be(9);
        summary.Accepted.Should().Be(3);
        summary.Replays.Should().Be(1);
        summary.Delivered.Should().Be(4);
        summary.Conflicts.Should().Be(1);
        summary.AllDelivered.Should().BeFalse();
        summary.Count(UsageEventStatus.Duplicate).Should().Be(2);
        summary.Count(UsageEventStatus.Expired).Should().Be(1);
        summary.Count(UsageEventStatus.ResourceNotFound).Should().Be(0);
        summary.DeliveredQuantityByDimension.Should().BeEquivalentTo(new Dictionary<string, decimal> { ["dim1"] = 3.5m, ["DIM2"] = 10.25m });
        summary.NeedsAttention.Select(r => r.Status).Should().Equal(UsageEventStatus.Duplicate, UsageEventStatus.Expired, UsageEventStatus.Error, UsageEventStatus.Unknown, UsageEventStatus.InvalidDimension);
        summary.Retryable.Should().Equal(results[4].Event, results[5].Event);
        summary.ToString().Should().Contain("9 events: 4 delivered (3 accepted, 1 replays)").And.Contain("1 conflicts").And.Contain("1 Expired").And.Contain("dim1 3.5");
    }

    [Fact]
    public void Create_DeliveredQuantitiesPastTheLargestDecimal_HoldsTheLargestDecimalInsteadOfThrowing()
    {
        // Each event is a decimal, delivered; their total is not. SubmitUsageEventsAsync built this summary after the
        // events were billed, and threw an OverflowException instead of returning their results.
        var big = 79228162514264328000000000000m;
        var results = Enumerable.Range(0, 3)
            .Select(i => (UsageEventResult)MeteringModelFactory.Accepted(TestEvents.At(Hour.AddHours(-i), quantity: big)))
            .ToList();

        var summary = UsageEventSummary.Create(results);

        summary.Delivered.Should().Be(3);
        summary.DeliveredQuantityByDimension.Should().BeEquivalentTo(new Dictionary<string, decimal> { ["dim1"] = decimal.MaxValue });
    }

    [Fact]
    public async Task CreateAsync_Stream_EqualsCreate()
    {
        var results = Enumerable.Range(0, 10).Select(i => (UsageEventResult)MeteringModelFactory.Accepted(TestEvents.At(Hour, quantity: i + 1, resource: TestEvents.ResourceNumber(i)))).ToList();

        var summary = await UsageEventSummary.CreateAsync(results.ToAsyncEnumerable());

        summary.Total.Should().Be(10);
        summary.AllDelivered.Should().BeTrue();
        summary.DeliveredQuantityByDimension["dim1"].Should().Be(55);
        summary.NeedsAttention.Should().BeEmpty();
    }
}
