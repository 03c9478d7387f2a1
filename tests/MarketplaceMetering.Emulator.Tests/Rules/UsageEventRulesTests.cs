using MarketplaceMetering.Emulator.Catalogue;
using MarketplaceMetering.Emulator.Rules;
using MarketplaceMetering.Testing;

namespace MarketplaceMetering.Emulator.Tests.Rules;

public sealed class UsageEventRulesTests
{
    private static readonly Guid Known = Guid.Parse("aaaaaaaa-0000-4000-8000-000000000001");
    private static readonly Guid Suspended = Guid.Parse("aaaaaaaa-0000-4000-8000-000000000002");
    private readonly TestClock _time = new();
    private readonly EmulatorLedger _ledger = new();
    private readonly UsageEventRules _rules;

    public UsageEventRulesTests()
    {
        var catalogue = new ResourceCatalogue(
        [
            new EmulatedResource { ResourceId = Known, PlanId = "plan1", Dimensions = ["dim1"] },
            new EmulatedResource { ResourceId = Suspended, PlanId = "plan1", Dimensions = ["dim1"], Status = EmulatedResourceStatus.Suspended },
        ]);
        _rules = new UsageEventRules(catalogue, _ledger, _time);
    }

    private DateTimeOffset Now => _time.GetUtcNow();

    [Fact]
    public void Evaluate_ValidEvent_AcceptsAndRecordsWithTheClocksMessageTime()
    {
        var outcome = _rules.Evaluate(Input(quantity: 2m));

        var accepted = outcome.Should().BeOfType<UsageEventOutcome.Accepted>().Subject;
        accepted.Entry.MessageTime.Should().Be(Now);
        accepted.Entry.Quantity.Should().Be(2m);
        _ledger.Entries.Should().ContainSingle().Which.Should().Be(accepted.Entry);
    }

    // Each case breaks two rules; the one the service checks first must win.
    [Theory]
    [InlineData("badArgument+invalidQuantity", EventStatus.BadArgument)]
    [InlineData("invalidQuantity+expired", EventStatus.InvalidQuantity)]
    [InlineData("expired+notFound", EventStatus.Expired)]
    [InlineData("notFound+invalidDimension", EventStatus.ResourceNotFound)]
    [InlineData("notActive+invalidDimension", EventStatus.ResourceNotActive)]
    [InlineData("planMismatch+invalidDimension", EventStatus.BadArgument)]
    [InlineData("invalidDimension+duplicate", EventStatus.InvalidDimension)]
    public void Evaluate_TwoRulesBroken_ReportsTheOneCheckedFirst(string breaks, string expected)
    {
        _rules.Evaluate(Input()).Should().BeOfType<UsageEventOutcome.Accepted>();
        var input = breaks switch
        {
            "badArgument+invalidQuantity" => Input(quantity: 0m, planId: null),
            "invalidQuantity+expired" => Input(quantity: -1m, time: Now.AddDays(-2)),
            "expired+notFound" => Input(resourceId: Guid.NewGuid(), time: Now.AddMinutes(1)),
            "notFound+invalidDimension" => Input(resourceId: Guid.NewGuid(), dimension: "nope"),
            "notActive+invalidDimension" => Input(resourceId: Suspended, dimension: "nope"),
            "planMismatch+invalidDimension" => Input(planId: "plan2", dimension: "nope"),
            "invalidDimension+duplicate" => Input(dimension: "nope"),
            _ => throw new ArgumentOutOfRangeException(nameof(breaks)),
        };

        var outcome = _rules.Evaluate(input);

        outcome.Status.Should().Be(expected);
        _ledger.Count.Should().Be(1);
    }

    [Fact]
    public void Evaluate_ReadProblem_IsBadArgumentForThatField()
    {
        var outcome = _rules.Evaluate(Input() with { Problem = new FieldProblem("quantity", "not a number") });

        var rejected = outcome.Should().BeOfType<UsageEventOutcome.Rejected>().Subject;
        rejected.Code.Should().Be(EventStatus.BadArgument);
        rejected.Target.Should().Be("quantity");
    }

    [Fact]
    public void Evaluate_SameHourDifferentQuantity_IsDuplicateCarryingTheOriginal()
    {
        var first = (UsageEventOutcome.Accepted)_rules.Evaluate(Input(quantity: 1m, time: Now.AddMinutes(-17)));

        var second = _rules.Evaluate(Input(quantity: 100m, time: Now));

        var duplicate = second.Should().BeOfType<UsageEventOutcome.Duplicate>().Subject;
        duplicate.Original.Should().Be(first.Entry);
        _ledger.Count.Should().Be(1);
    }

    [Fact]
    public void Evaluate_WindowEdges_AcceptsExactlyTwentyFourHoursAgoAndNowOnly()
    {
        _rules.Evaluate(Input(time: Now.AddHours(-24))).Status.Should().Be(EventStatus.Accepted);
        _rules.Evaluate(Input(time: Now, dimension: "DIM1")).Status.Should().Be(EventStatus.Accepted);
        _rules.Evaluate(Input(time: Now.AddHours(-24).AddTicks(-1))).Status.Should().Be(EventStatus.Expired);
        _rules.Evaluate(Input(time: Now.AddTicks(1))).Status.Should().Be(EventStatus.Expired);
    }

    private UsageEventInput Input(
        Guid? resourceId = null,
        decimal quantity = 1m,
        string dimension = "dim1",
        DateTimeOffset? time = null,
        string? planId = "plan1") =>
        new(resourceId ?? Known, null, quantity, dimension, time ?? Now, planId);
}
