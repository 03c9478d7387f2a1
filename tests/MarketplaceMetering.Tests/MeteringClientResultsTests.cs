using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;

namespace MarketplaceMetering.Tests;

/// <summary>How the service's answers become results, end to end against the emulator.</summary>
public class MeteringClientResultsTests
{
    private static readonly Guid Active = Guid.Parse("aaaaaaaa-1111-4111-8111-000000000001");
    private static readonly Guid Suspended = Guid.Parse("aaaaaaaa-1111-4111-8111-000000000002");

    private static void Catalogue(MeteringEmulatorOptions o)
    {
        o.Resources.Add(new EmulatedResource { ResourceId = Active, PlanId = "plan1", Dimensions = ["dim1", "dim2"] });
        o.Resources.Add(new EmulatedResource { ResourceId = Suspended, PlanId = "plan1", Dimensions = ["dim1"], Status = EmulatedResourceStatus.Suspended });
    }

    [Fact]
    public async Task SubmitUsageEventAsync_NewEvent_ReturnsAcceptedWithTheLedgersId()
    {
        await using var h = await Harness.StartAsync();

        var result = await h.Client.SubmitUsageEventAsync(h.HourAgo(quantity: 3.5m));

        var accepted = result.Should().BeOfType<UsageEventResult.Accepted>().Subject;
        var entry = h.Emulator.Ledger.Entries.Should().ContainSingle().Subject;
        accepted.UsageEventId.Should().Be(entry.UsageEventId);
        accepted.MessageTime.Should().Be(entry.MessageTime);
        entry.Quantity.Should().Be(3.5m);
        accepted.IsDelivered.Should().BeTrue();
    }

    [Fact]
    public async Task SubmitUsageEventAsync_SameHourAgain_ReturnsDuplicateWithOriginalAsReplay()
    {
        await using var h = await Harness.StartAsync();
        var first = (UsageEventResult.Accepted)await h.Client.SubmitUsageEventAsync(h.HourAgo(quantity: 5m));

        var again = await h.Client.SubmitUsageEventAsync(h.HourAgo(quantity: 5m));

        var duplicate = again.Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        duplicate.Original!.UsageEventId.Should().Be(first.UsageEventId);
        duplicate.IsReplay.Should().BeTrue();
        duplicate.IsDelivered.Should().BeTrue();
        h.Emulator.Ledger.Count.Should().Be(1);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_SameHourOtherQuantity_ReturnsConflictNotDelivered()
    {
        await using var h = await Harness.StartAsync();
        await h.Client.SubmitUsageEventAsync(h.HourAgo(quantity: 5m));

        var again = await h.Client.SubmitUsageEventAsync(h.HourAgo(quantity: 8m));

        var duplicate = again.Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        duplicate.IsConflict.Should().BeTrue();
        duplicate.IsDelivered.Should().BeFalse();
        duplicate.Original!.Quantity.Should().Be(5m);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_ServiceClockSaysExpired_ReturnsExpired()
    {
        // The client's clock thinks the event has 5 minutes left in its window; the service's clock is 10 minutes ahead.
        var clientClock = new TestClock();
        var serviceClock = new TestClock(clientClock.GetUtcNow().AddMinutes(10));
        await using var h = await Harness.StartAsync(emulator: o => o.TimeProvider = serviceClock, clock: clientClock);

        var result = await h.Client.SubmitUsageEventAsync(TestEvents.At(clientClock.GetUtcNow() - TimeSpan.FromHours(24) + TimeSpan.FromMinutes(5)));

        var expired = result.Should().BeOfType<UsageEventResult.Expired>().Subject;
        expired.Details.Should().Contain(d => d.Target == "effectiveStartTime");
        h.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_CatalogueRules_MapToTheirStatuses()
    {
        await using var h = await Harness.StartAsync(emulator: Catalogue);

        var notFound = await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: Guid.NewGuid()));
        var notActive = await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: Suspended));
        var badDimension = await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: Active, dimension: "dim9"));
        var ok = await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: Active, dimension: "dim2"));

        notFound.Should().BeOfType<UsageEventResult.ResourceNotFound>();
        notActive.Should().BeOfType<UsageEventResult.ResourceNotActive>();
        badDimension.Should().BeOfType<UsageEventResult.InvalidDimension>().Which.Message.Should().NotBeNullOrEmpty();
        ok.Should().BeOfType<UsageEventResult.Accepted>();
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_MixedOutcomes_OneResultPerEventInSubmissionOrder()
    {
        await using var h = await Harness.StartAsync(emulator: o =>
        {
            Catalogue(o);
            o.ShuffleBatchResults = true;
        });
        var taken = h.HourAgo(resource: Active, dimension: "dim2", quantity: 2m);
        await h.Client.SubmitUsageEventAsync(taken);
        var events = new[]
        {
            h.HourAgo(resource: Active, dimension: "dim1", quantity: 1m),
            taken,
            h.HourAgo(resource: Active, dimension: "dim9"),
            h.HourAgo(resource: Suspended),
            h.HourAgo(resource: Guid.NewGuid()),
            TestEvents.At(h.Clock.GetUtcNow().AddHours(-3), resource: Active, dimension: "dim1", quantity: 4m),
        };

        var batch = await h.Client.SubmitBatchUsageEventAsync(events);

        batch.Results.Select(r => r.Event).Should().Equal(events);
        batch.Results.Select(r => r.GetType()).Should().Equal(
            typeof(UsageEventResult.Accepted),
            typeof(UsageEventResult.Duplicate),
            typeof(UsageEventResult.InvalidDimension),
            typeof(UsageEventResult.ResourceNotActive),
            typeof(UsageEventResult.ResourceNotFound),
            typeof(UsageEventResult.Accepted));
        ((UsageEventResult.Duplicate)batch.Results[1]).IsReplay.Should().BeTrue();
        var ledger = h.Emulator.Ledger.Entries;
        ((UsageEventResult.Accepted)batch.Results[0]).UsageEventId.Should().Be(ledger.Single(e => e.Quantity == 1m).UsageEventId);
        ((UsageEventResult.Accepted)batch.Results[5]).UsageEventId.Should().Be(ledger.Single(e => e.Quantity == 4m).UsageEventId);
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_ShuffledAnswers_AreMatchedByKeyEveryTime()
    {
        await using var h = await Harness.StartAsync(emulator: o => o.ShuffleBatchResults = true);
        var events = TestEvents.Distinct(h.Clock, 25);

        var batch = await h.Client.SubmitBatchUsageEventAsync(events);

        var accepted = batch.Results.Cast<UsageEventResult.Accepted>().ToList();
        var byId = h.Emulator.Ledger.Entries.ToDictionary(e => e.UsageEventId);
        for (var i = 0; i < events.Count; i++)
        {
            accepted[i].Event.Should().Be(events[i]);
            byId[accepted[i].UsageEventId].ResourceId.Should().Be(events[i].ResourceId!.Value, "the result at position {0} must be the item for that event", i);
        }
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_DuplicateItem_CarriesOriginalFromAcceptedMessage()
    {
        await using var h = await Harness.StartAsync();
        var original = (UsageEventResult.Accepted)await h.Client.SubmitUsageEventAsync(h.HourAgo(quantity: 6m));

        var batch = await h.Client.SubmitBatchUsageEventAsync([h.HourAgo(quantity: 7m)]);

        var duplicate = batch.Results.Single().Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        duplicate.Original!.UsageEventId.Should().Be(original.UsageEventId);
        duplicate.Original.Quantity.Should().Be(6m);
        duplicate.Original.EffectiveStartTime.Should().Be(original.Event.EffectiveStartTime, "the batch answer's offset-less time is read as UTC");
        duplicate.IsConflict.Should().BeTrue();
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_UnknownStatus_ReturnsUnknownNotException()
    {
        await using var h = await Harness.StartAsync();
        var usageEvent = h.HourAgo();
        var time = usageEvent.EffectiveStartTime.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss");
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, $$"""
            {"count":1,"result":[{"status":"QueuedForReview","resourceId":"{{TestEvents.Resource}}","quantity":5,"dimension":"dim1","effectiveStartTime":"{{time}}","planId":"plan1"}]}
            """));

        var batch = await h.Client.SubmitBatchUsageEventAsync([usageEvent]);

        batch.Results.Single().Should().BeOfType<UsageEventResult.Unknown>().Which.RawStatus.Should().Be("QueuedForReview");
    }

    [Fact]
    public async Task ResourceOfAnotherPublisher_BatchItemIsResourceNotAuthorized_SingleEventThrowsAuthorizationException()
    {
        var foreign = Guid.Parse("aaaaaaaa-1111-4111-8111-00000000f0f0");
        await using var h = await Harness.StartAsync(emulator: o =>
        {
            Catalogue(o);
            o.Resources.Add(new EmulatedResource { ResourceId = foreign, PlanId = "plan1", Dimensions = ["dim1"], Status = EmulatedResourceStatus.OtherPublisher });
        });

        var batch = await h.Client.SubmitBatchUsageEventAsync([h.HourAgo(resource: Active), h.HourAgo(resource: foreign)]);
        var single = () => h.Client.SubmitUsageEventAsync(h.HourAgo(resource: foreign, dimension: "dim1", quantity: 2m));

        batch.Results[0].Should().BeOfType<UsageEventResult.Accepted>();
        batch.Results[1].Should().BeOfType<UsageEventResult.ResourceNotAuthorized>().Which.IsDelivered.Should().BeFalse();
        var e = (await single.Should().ThrowAsync<MeteringAuthorizationException>()).Which;
        e.StatusCode.Should().Be(403);
        e.Message.Should().Contain("bought under another publisher app");
        h.Emulator.Requests.Should().HaveCount(2, "a 403 is not retried");
        h.Emulator.Ledger.Entries.Should().ContainSingle().Which.ResourceId.Should().Be(Active);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_WrongToken_ThrowsAuthorizationExceptionAndSendsOnce()
    {
        await using var h = await Harness.StartAsync(credential: _ => new CountingCredential("not-the-emulators-token", TimeProvider.System));

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo());

        var e = (await act.Should().ThrowAsync<MeteringAuthorizationException>()).Which;
        e.StatusCode.Should().Be(403);
        e.RequestId.Should().Be(h.Emulator.Requests.Single().Headers["x-ms-requestid"]);
        e.Message.Should().Contain("Client is not authorized for this usage resource.").And.Contain("Likely causes");
        e.Message.Should().NotContain("not-the-emulators-token");
        e.ToString().Should().NotContain("not-the-emulators-token");
    }

    [Theory]
    [InlineData("<html><head><title>Proxy login</title></head></html>")]
    [InlineData("{\"count\": \"many\"")]
    [InlineData("{\"status\": [1, 2]}")]
    public async Task SubmitUsageEventAsync_MalformedAnswer_ThrowsMeteringExceptionNotJsonException(string body)
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, body));

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo());

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.StatusCode.Should().Be(200);
        e.RequestId.Should().NotBeNullOrEmpty();
        e.CorrelationId.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_HugeAnswer_ThrowsMeteringException()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, "{\"count\":1,\"result\":[],\"pad\":\"" + new string('x', 2 * 1024 * 1024) + "\"}"));

        var act = () => h.Client.SubmitBatchUsageEventAsync([h.HourAgo()]);

        (await act.Should().ThrowAsync<MeteringException>()).Which.Message.Should().Contain("larger than");
    }

    [Fact]
    public async Task SubmitUsageEventAsync_UnexpectedStatus_ThrowsWithStatusIdsAndExcerpt()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(404, "<html>No such route " + new string('.', 1000) + "</html>", new Dictionary<string, string> { ["x-ms-requestid"] = "svc-req-9" }));

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo());

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.StatusCode.Should().Be(404);
        e.RequestId.Should().Be("svc-req-9");
        e.IsRetryable.Should().BeFalse();
        e.Message.Should().Contain("No such route").And.Contain("svc-req-9");
        e.Message.Length.Should().BeLessThan(700);
        h.Emulator.Requests.Should().HaveCount(1);
    }
}
