namespace MarketplaceMetering.Tests.Models;

/// <summary><see cref="ReconStatus"/> is an extensible value: new strings are kept, never refused; comparisons ignore case.</summary>
public class ReconStatusTests
{
    [Theory]
    [InlineData("Submitted")]
    [InlineData("Accepted")]
    [InlineData("Rejected")]
    [InlineData("Mismatch")]
    [InlineData("TestHeaders")]
    [InlineData("DryRun")]
    public void ReconStatus_KnownText_EqualsItsStaticValueInAnyCase(string text)
    {
        ReconStatus status = text.ToUpperInvariant();

        status.IsKnown.Should().BeTrue();
        new[] { ReconStatus.Submitted, ReconStatus.Accepted, ReconStatus.Rejected, ReconStatus.Mismatch, ReconStatus.TestHeaders, ReconStatus.DryRun }
            .Should().ContainSingle(s => s == status);
        status.GetHashCode().Should().Be(new ReconStatus(text).GetHashCode());
    }

    [Fact]
    public void ReconStatus_NewText_IsKeptAndUnknown()
    {
        var status = new ReconStatus("PartiallyBilled");

        status.ToString().Should().Be("PartiallyBilled");
        status.IsKnown.Should().BeFalse();
        status.Should().NotBe(ReconStatus.Accepted);
        (status != ReconStatus.Rejected).Should().BeTrue();
    }

    [Fact]
    public void ReconStatus_Default_IsEmptyAndUnknown()
    {
        default(ReconStatus).ToString().Should().BeEmpty();
        default(ReconStatus).IsKnown.Should().BeFalse();
        default(ReconStatus).Should().NotBe(new ReconStatus(string.Empty)).And.Be(default(ReconStatus));
    }

    [Fact]
    public void ReconStatus_Null_ThrowsArgumentNullException()
    {
        var act = () => new ReconStatus(null!);

        act.Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void MeteringModelFactory_RecordedUsage_KeepsEveryValueAndTheUtcDay()
    {
        var row = MeteringModelFactory.RecordedUsage(
            new DateTimeOffset(2026, 11, 19, 23, 30, 0, TimeSpan.FromHours(-2)),
            TestEvents.Resource,
            "dim1",
            5m,
            processedQuantity: 4m,
            reconStatus: ReconStatus.Mismatch,
            planId: "plan1",
            offerId: "offer1",
            submittedCount: 2);

        row.UsageDate.Should().Be(new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero));
        row.Should().BeEquivalentTo(new { UsageResourceId = TestEvents.Resource, Dimension = "dim1", SubmittedQuantity = 5m, ProcessedQuantity = 4m, PlanId = "plan1", OfferId = "offer1", SubmittedCount = 2 });
        row.ReconStatus.Should().Be(ReconStatus.Mismatch);
        MeteringModelFactory.RecordedUsage(DateTimeOffset.UnixEpoch, Guid.Empty, "d", 1m).ReconStatus.Should().Be(ReconStatus.Accepted);
    }
}
