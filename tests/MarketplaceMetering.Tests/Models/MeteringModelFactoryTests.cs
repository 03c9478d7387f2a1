namespace MarketplaceMetering.Tests.Models;

public class MeteringModelFactoryTests
{
    private static readonly UsageEvent Event = TestEvents.At(new DateTimeOffset(2026, 11, 20, 9, 30, 0, TimeSpan.Zero), quantity: 4m);

    [Fact]
    public void Accepted_BuildsDeliveredResultWithGivenValues()
    {
        var id = Guid.NewGuid();

        var result = MeteringModelFactory.Accepted(Event, id, requestId: "r", correlationId: "c");

        result.UsageEventId.Should().Be(id);
        result.Status.Should().Be(UsageEventStatus.Accepted);
        result.RequestId.Should().Be("r");
        result.CorrelationId.Should().Be("c");
        result.IsDelivered.Should().BeTrue();
    }

    [Fact]
    public void Accepted_MessageTimeWithAnOffset_IsTheSameInstantInUtc()
    {
        var local = new DateTimeOffset(2026, 11, 20, 11, 31, 5, TimeSpan.FromHours(2)).AddTicks(7);

        var result = MeteringModelFactory.Accepted(Event, messageTime: local);

        result.MessageTime.Should().Be(local);
        result.MessageTime.Offset.Should().Be(TimeSpan.Zero);
        result.MessageTime.UtcTicks.Should().Be(local.UtcTicks);
    }

    [Fact]
    public void Results_WithTheSameValues_AreEqual_AndDifferInEachId()
    {
        var id = Guid.NewGuid();
        var time = Event.EffectiveStartTime.AddMinutes(1);

        var accepted = MeteringModelFactory.Accepted(Event, id, time, requestId: "r", correlationId: "c");

        accepted.Should().Be(MeteringModelFactory.Accepted(Event, id, time, requestId: "r", correlationId: "c"));
        accepted.GetHashCode().Should().Be(MeteringModelFactory.Accepted(Event, id, time, requestId: "r", correlationId: "c").GetHashCode());
        accepted.Should().NotBe(MeteringModelFactory.Accepted(Event, id, time, requestId: "r2", correlationId: "c"));
        accepted.Should().NotBe(MeteringModelFactory.Accepted(Event, id, time, requestId: "r", correlationId: "c2"));
        accepted.Should().NotBe(MeteringModelFactory.Accepted(Event, id, time.AddTicks(1), requestId: "r", correlationId: "c"));
        (accepted with { }).Should().Be(accepted);
        accepted.ToString().Should().Contain("RequestId = r").And.Contain("CorrelationId = c").And.Contain("Status = Accepted");
        MeteringModelFactory.Expired(Event, requestId: "r").Should().Be(MeteringModelFactory.Expired(Event, requestId: "r"));
        MeteringModelFactory.Expired(Event, requestId: "r").Should().NotBe(MeteringModelFactory.Expired(Event));
    }

    [Fact]
    public void Failure_WithoutAMessage_SaysWhichStatusTheServiceAnswered()
    {
        MeteringModelFactory.ResourceNotActive(Event, message: null).Message.Should().Be("The service answered ResourceNotActive for the event.");
        MeteringModelFactory.Expired(Event, message: "").Message.Should().Be("The service answered Expired for the event.");
    }

    [Fact]
    public void Duplicate_OfItself_IsReplay_OfOtherQuantity_IsConflict()
    {
        MeteringModelFactory.Duplicate(Event, MeteringModelFactory.AcceptedUsageEvent(Event)).IsReplay.Should().BeTrue();
        MeteringModelFactory.Duplicate(Event, MeteringModelFactory.AcceptedUsageEvent(Event, quantity: 3m)).IsConflict.Should().BeTrue();
        MeteringModelFactory.Duplicate(Event, null).IsReplay.Should().BeFalse();
    }

    [Fact]
    public void Duplicate_OriginalFromAnotherPlanOrHour_IsConflict()
    {
        var otherPlan = MeteringModelFactory.AcceptedUsageEvent(Guid.NewGuid(), 4m, Event.EffectiveStartTime, Event.ResourceId, planId: "plan2", dimension: Event.Dimension);
        var otherHour = MeteringModelFactory.AcceptedUsageEvent(Guid.NewGuid(), 4m, Event.EffectiveStartTime.AddHours(1), Event.ResourceId, planId: Event.PlanId, dimension: Event.Dimension);
        var sameHourOtherMinute = MeteringModelFactory.AcceptedUsageEvent(Guid.NewGuid(), 4m, Event.EffectiveStartTime.AddMinutes(20), Event.ResourceId, planId: Event.PlanId, dimension: Event.Dimension);

        MeteringModelFactory.Duplicate(Event, otherPlan).IsReplay.Should().BeFalse();
        MeteringModelFactory.Duplicate(Event, otherHour).IsReplay.Should().BeFalse();
        MeteringModelFactory.Duplicate(Event, sameHourOtherMinute).IsReplay.Should().BeTrue();
    }

    [Fact]
    public void Error_WithStatusCode_KeepsItAndEqualityComparesIt()
    {
        var refused = MeteringModelFactory.Error(Event, "Forbidden", "refused", requestId: "r", statusCode: 403);
        var plain = MeteringModelFactory.Error(Event, "Forbidden", "refused", requestId: "r");

        refused.StatusCode.Should().Be(403);
        plain.StatusCode.Should().BeNull();
        refused.Should().NotBe(plain);
        refused.Should().Be(MeteringModelFactory.Error(Event, "Forbidden", "refused", requestId: "r", statusCode: 403));
        (refused with { }).StatusCode.Should().Be(403);
        refused.ToString().Should().Contain("StatusCode = 403");
    }

    [Fact]
    public void FailureFactories_BuildEachStatusWithItsError()
    {
        var details = new[] { new MeteringErrorDetail("c", "m", "t") };
        var results = new UsageEventResult[]
        {
            MeteringModelFactory.Expired(Event),
            MeteringModelFactory.ResourceNotFound(Event),
            MeteringModelFactory.ResourceNotAuthorized(Event),
            MeteringModelFactory.ResourceNotActive(Event),
            MeteringModelFactory.InvalidDimension(Event),
            MeteringModelFactory.InvalidQuantity(Event),
            MeteringModelFactory.BadArgument(Event, message: "bad", target: "planId", details: details),
            MeteringModelFactory.Error(Event),
            MeteringModelFactory.Unknown(Event, "Brand new"),
        };

        results.Select(r => r.Status).Should().Equal(
            UsageEventStatus.Expired,
            UsageEventStatus.ResourceNotFound,
            UsageEventStatus.ResourceNotAuthorized,
            UsageEventStatus.ResourceNotActive,
            UsageEventStatus.InvalidDimension,
            UsageEventStatus.InvalidQuantity,
            UsageEventStatus.BadArgument,
            UsageEventStatus.Error,
            UsageEventStatus.Unknown);
        results.Should().OnlyContain(r => !r.IsDelivered && r.Event == Event);
        var bad = (UsageEventResult.BadArgument)results[6];
        bad.Message.Should().Be("bad");
        bad.Target.Should().Be("planId");
        bad.Details.Should().Equal(details);
        ((UsageEventResult.Unknown)results[8]).RawStatus.Should().Be("Brand new");
        ((UsageEventResult.Failure)results[0]).Message.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void BatchUsageEventResult_KeepsOrder()
    {
        var other = TestEvents.At(Event.EffectiveStartTime, resource: TestEvents.ResourceNumber(3));
        var batch = MeteringModelFactory.BatchUsageEventResult([MeteringModelFactory.Accepted(Event), MeteringModelFactory.Expired(other)]);

        batch.Results.Select(r => r.Event).Should().Equal(Event, other);
        batch.IsAllDelivered.Should().BeFalse();
        batch.ToString().Should().Contain("Accepted = 1").And.Contain("Expired = 1");
    }

    [Fact]
    public async Task MockedClient_ReturnsFactoryResults()
    {
        var client = new StubClient(MeteringModelFactory.Duplicate(Event, MeteringModelFactory.AcceptedUsageEvent(Event)));

        var result = await client.SubmitUsageEventAsync(Event);

        result.Should().BeOfType<UsageEventResult.Duplicate>().Which.IsDelivered.Should().BeTrue();
    }

    private sealed class StubClient(UsageEventResult result) : MeteringClient
    {
        public override Task<UsageEventResult> SubmitUsageEventAsync(UsageEvent usageEvent, CancellationToken cancellationToken = default) => Task.FromResult(result);
    }
}
