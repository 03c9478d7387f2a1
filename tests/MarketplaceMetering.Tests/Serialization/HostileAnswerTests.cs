using System.Text.Json.Nodes;
using MarketplaceMetering.Emulator;

namespace MarketplaceMetering.Tests.Serialization;

/// <summary>
/// One bad item never sinks a batch answer, and an odd body never changes what a status means (review of the core,
/// item 9): a malformed item becomes a result for its event only; a 409 with no body is a Duplicate without original;
/// a 5xx stays retryable whatever its body.
/// </summary>
public class HostileAnswerTests
{
    public static TheoryData<string, string> BadItems => new()
    {
        { "numeric status", """{"status":3}""" },
        { "status is an object", """{"status":{"value":"Accepted"}}""" },
        { "quantity is text", """{"quantity":"five"}""" },
        { "quantity is an object", """{"quantity":{"value":5}}""" },
        { "usageEventId is a number", """{"usageEventId":12345}""" },
        { "error is a string", """{"status":"Error","error":"boom"}""" },
        { "details is a string", """{"status":"Error","error":{"code":"X","details":"boom"}}""" },
        { "messageTime is a number", """{"messageTime":20261120}""" },
    };

    [Theory]
    [MemberData(nameof(BadItems))]
    public async Task SubmitBatchUsageEventAsync_OneMalformedItem_OnlyThatEventDegrades(string what, string overrides)
    {
        await using var h = await Harness.StartAsync();
        var events = TestEvents.Distinct(h.Clock, 3);
        var answer = BatchAnswer(events);
        foreach (var (name, value) in JsonNode.Parse(overrides)!.AsObject())
        {
            answer["result"]![1]![name] = value?.DeepClone();
        }

        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, answer.ToJsonString()));

        var batch = await h.Client.SubmitBatchUsageEventAsync(events);

        batch.Results[0].Should().BeOfType<UsageEventResult.Accepted>(what);
        batch.Results[2].Should().BeOfType<UsageEventResult.Accepted>(what);
        batch.Results[1].IsDelivered.Should().BeFalse();
        batch.Results[1].Should().Match<UsageEventResult>(r => r is UsageEventResult.Unknown || r is UsageEventResult.Error, what);
        UsageEventSummary.Create(batch.Results).Retryable.Should().Equal(events[1]);
    }

    [Theory]
    [InlineData("42")]
    [InlineData("\"text\"")]
    [InlineData("[1,2]")]
    [InlineData("null")]
    public async Task SubmitBatchUsageEventAsync_ResultHoldsANonObject_OtherItemsStillRead(string odd)
    {
        await using var h = await Harness.StartAsync();
        var events = TestEvents.Distinct(h.Clock, 2);
        var answer = BatchAnswer(events);
        answer["result"]!.AsArray().Insert(0, JsonNode.Parse(odd));
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, answer.ToJsonString()));

        var batch = await h.Client.SubmitBatchUsageEventAsync(events);

        batch.Results.Should().AllBeOfType<UsageEventResult.Accepted>();
    }

    [Theory]
    [InlineData(999)]
    [InlineData(2.5)]
    [InlineData(1e12)]
    public async Task SubmitBatchUsageEventAsync_ItemSaysAcceptedWithAnotherQuantity_ThatEventIsAnErrorNotDelivered(double held)
    {
        await using var h = await Harness.StartAsync();
        var events = TestEvents.Distinct(h.Clock, 3); // quantities 1, 2, 3
        var answer = BatchAnswer(events);
        answer["result"]![1]!["quantity"] = held;
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, answer.ToJsonString()));

        var batch = await h.Client.SubmitBatchUsageEventAsync(events);

        batch.Results[0].Should().BeOfType<UsageEventResult.Accepted>();
        batch.Results[2].Should().BeOfType<UsageEventResult.Accepted>();
        var error = batch.Results[1].Should().BeOfType<UsageEventResult.Error>().Subject;
        (error.Code, error.Target, error.IsDelivered).Should().Be(("QuantityMismatch", "quantity", false));
        error.Message.Should().Contain("not the 2 sent");
        UsageEventSummary.Create(batch.Results).Retryable.Should().Equal(events[1]);
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_ItemWithNumericResourceId_ThatEventIsMissingOthersAccepted()
    {
        await using var h = await Harness.StartAsync();
        var events = TestEvents.Distinct(h.Clock, 3);
        var answer = BatchAnswer(events);
        answer["result"]![0]!["resourceId"] = 12345;
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, answer.ToJsonString()));

        var batch = await h.Client.SubmitBatchUsageEventAsync(events);

        batch.Results[0].Should().BeOfType<UsageEventResult.Error>();
        batch.Results.Skip(1).Should().AllBeOfType<UsageEventResult.Accepted>();
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("{\"additionalInfo\":{\"acceptedMessage\":{\"quantity\":{\"x\":1}}}}")]
    [InlineData("[]")]
    public async Task SubmitUsageEventAsync_409WithNoReadableBody_IsDuplicateWithoutOriginal(string body)
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(409, body));

        var result = await h.Client.SubmitUsageEventAsync(h.HourAgo());

        var duplicate = result.Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        duplicate.Original.Should().BeNull();
        duplicate.IsConflict.Should().BeTrue("without the original the client cannot tell it is a replay");
    }

    [Theory]
    [InlineData(503)]
    [InlineData(500)]
    public async Task SubmitUsageEventAsync_5xxWithOversizedBody_IsRetriedAndAccepted(int status)
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(status, new string('x', 2 * 1024 * 1024)));

        var result = await h.Client.SubmitUsageEventAsync(h.HourAgo());

        result.Should().BeOfType<UsageEventResult.Accepted>();
        h.Emulator.Requests.Select(r => r.ResponseStatus).Should().Equal(status, 200);
    }

    [Theory]
    [InlineData(507)]
    [InlineData(520)]
    public async Task SubmitUsageEventAsync_Other5xx_IsRetried(int status)
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(status, "<html>gateway trouble</html>"));

        (await h.Client.SubmitUsageEventAsync(h.HourAgo())).Should().BeOfType<UsageEventResult.Accepted>();
        h.Emulator.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_5xxOversizedUntilRetriesRunOut_ThrowsRetryable()
    {
        await using var h = await Harness.StartAsync(client: o => o.Retry.MaxRetries = 1);
        var huge = EmulatorFault.Respond(503, new string('x', 2 * 1024 * 1024));
        h.Emulator.Faults.Enqueue(huge, huge);

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo());

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.IsRetryable.Should().BeTrue();
        e.StatusCode.Should().Be(503);
        e.Message.Length.Should().BeLessThan(2000, "only an excerpt of the body is quoted");
    }

    [Fact]
    public async Task SubmitUsageEventAsync_200WithOversizedBody_StillFailsClearly()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, new string(' ', 2 * 1024 * 1024) + "{}"));

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo());

        (await act.Should().ThrowAsync<MeteringException>()).Which.Message.Should().Contain("larger than");
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_UriEventsAnsweredWithTheAllZeroResourceId_HaveNoResourceUsageId()
    {
        await using var h = await Harness.StartAsync();
        var at = h.Clock.GetUtcNow().AddMinutes(-10);
        var usageId = Guid.NewGuid();
        var events = Enumerable.Range(0, 3)
            .Select(i => UsageEvent.ForResourceUri($"/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.Solutions/applications/app{i}", "plan1", "dim1", 1m, at))
            .ToList();
        var items = new JsonArray();
        foreach (var (e, resourceId) in events.Zip(new string?[] { Guid.Empty.ToString(), null, usageId.ToString() }))
        {
            var item = new JsonObject
            {
                ["usageEventId"] = Guid.NewGuid().ToString(),
                ["status"] = "Accepted",
                ["messageTime"] = "2026-11-20T10:17:24Z",
                ["resourceUri"] = e.ResourceUri,
                ["quantity"] = e.Quantity,
                ["dimension"] = e.Dimension,
                ["effectiveStartTime"] = e.EffectiveStartTime.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss"),
                ["planId"] = e.PlanId,
            };
            if (resourceId is not null)
            {
                item["resourceId"] = resourceId;
            }

            items.Add(item);
        }

        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, new JsonObject { ["count"] = 3, ["result"] = items }.ToJsonString()));

        var batch = await h.Client.SubmitBatchUsageEventAsync(events);

        var accepted = batch.Results.Should().AllBeOfType<UsageEventResult.Accepted>().Subject.ToList();
        accepted[0].ResourceUsageId.Should().BeNull("the all-zero id names no resource");
        accepted[1].ResourceUsageId.Should().BeNull();
        accepted[2].ResourceUsageId.Should().Be(usageId);
        SentUsage.FromResult(accepted[0]).ReportedResourceId.Should().BeNull();
    }

    private static JsonObject BatchAnswer(IReadOnlyList<UsageEvent> events)
    {
        var items = new JsonArray();
        foreach (var e in events)
        {
            items.Add(new JsonObject
            {
                ["usageEventId"] = Guid.NewGuid().ToString(),
                ["status"] = "Accepted",
                ["messageTime"] = "2026-11-20T10:17:24Z",
                ["resourceId"] = e.ResourceId!.Value.ToString(),
                ["quantity"] = e.Quantity,
                ["dimension"] = e.Dimension,
                ["effectiveStartTime"] = e.EffectiveStartTime.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss"),
                ["planId"] = e.PlanId,
            });
        }

        return new JsonObject { ["count"] = events.Count, ["result"] = items };
    }
}
