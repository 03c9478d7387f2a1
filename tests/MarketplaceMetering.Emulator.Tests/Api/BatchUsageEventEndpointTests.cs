using System.Text.Json;
using MarketplaceMetering.Emulator.Tests.TestSupport;
using static MarketplaceMetering.Emulator.Tests.TestSupport.EventJson;

namespace MarketplaceMetering.Emulator.Tests.Api;

public sealed class BatchUsageEventEndpointTests
{
    private static readonly Guid SuspendedResource = Guid.Parse("9a8b7c6d-0000-4000-8000-000000000003");

    /// <summary>What a failed item may carry at its top level: its status, its error and the fields that were sent.</summary>
    private static readonly string[] FailedItemProperties =
        ["status", "error", "resourceId", "resourceUri", "quantity", "dimension", "effectiveStartTime", "planId"];

    [Fact]
    public async Task PostBatch_AcceptedEvent_ItemHasTheSingleAnswersFields()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostBatchAsync(Batch(Event(host.Now.AddMinutes(-17), quantity: "3")));

        answer.Status.Should().Be(200);
        answer.Json.GetProperty("count").GetInt32().Should().Be(1);
        var item = answer.Json.GetProperty("result").EnumerateArray().Should().ContainSingle().Subject;
        item.GetProperty("status").GetString().Should().Be("Accepted");
        item.GetProperty("usageEventId").GetGuid().Should().Be(host.Emulator.Ledger.Entries.Single().UsageEventId);
        item.GetProperty("resourceId").GetGuid().Should().Be(ResourceA);
        item.GetProperty("resourceUri").GetString().Should().EndWith("/providers/Microsoft.SaaS/resources/" + ResourceA);
        item.GetProperty("quantity").GetRawText().Should().Be("3.0");
        item.GetProperty("dimension").GetString().Should().Be("dim1");
        item.GetProperty("planId").GetString().Should().Be("plan1");
        item.GetProperty("messageTime").GetString().Should().Be("2026-11-20T10:17:23Z");
        item.GetProperty("effectiveStartTime").GetString().Should().Be("2026-11-20T10:00:23Z");
    }

    [Fact]
    public async Task PostBatch_SameKeyTwiceInOneBatch_SecondIsDuplicateOfFirst()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostBatchAsync(Batch(
            Event(host.Now.AddMinutes(-10), quantity: "4"),
            Event(host.Now.AddMinutes(-5), quantity: "9", dimension: "Dim1")));

        var items = answer.Json.GetProperty("result").EnumerateArray().ToList();
        items.Select(i => i.GetProperty("status").GetString()).Should().Equal("Accepted", "Duplicate");
        var original = items[1].GetProperty("error").GetProperty("additionalInfo").GetProperty("acceptedMessage");
        original.GetProperty("usageEventId").GetGuid().Should().Be(items[0].GetProperty("usageEventId").GetGuid());
        original.GetProperty("quantity").GetRawText().Should().Be("4.0");
        host.Emulator.Ledger.Entries.Should().ContainSingle().Which.Quantity.Should().Be(4m);
    }

    [Fact]
    public async Task PostBatch_DuplicateOfAnEarlierCall_ItemHasNoUsageEventIdAndTheOriginalInAcceptedMessage()
    {
        await using var host = await TestEmulator.StartAsync();
        var first = await host.PostEventAsync(Event(host.Now.AddMinutes(-10), quantity: "2.5"));

        host.Time.Advance(TimeSpan.FromMinutes(3));

        var answer = await host.PostBatchAsync(Batch(Event(host.Now, quantity: "8")));

        answer.Status.Should().Be(200);
        var item = answer.Json.GetProperty("result")[0];
        item.GetProperty("status").GetString().Should().Be("Duplicate");
        item.TryGetProperty("usageEventId", out _).Should().BeFalse();
        item.GetProperty("messageTime").GetString().Should().Be("2026-11-20T10:20:23Z", "the item's own time is when the duplicate was refused");
        item.GetProperty("quantity").GetRawText().Should().Be("8.0", "the item repeats what was sent");
        item.GetProperty("resourceId").GetGuid().Should().Be(ResourceA);
        item.TryGetProperty("resourceUri", out _).Should().BeFalse("only the identifier that was sent is repeated");
        var error = item.GetProperty("error");
        error.GetProperty("code").GetString().Should().Be("Conflict");
        error.GetProperty("message").GetString().Should().Be("This usage event already exist.");
        var original = error.GetProperty("additionalInfo").GetProperty("acceptedMessage");
        original.GetProperty("usageEventId").GetGuid().Should().Be(first.Json.GetProperty("usageEventId").GetGuid());
        original.GetProperty("status").GetString().Should().Be("Duplicate");
        original.GetProperty("quantity").GetRawText().Should().Be("2.5");
        original.GetProperty("messageTime").GetString().Should().Be("2026-11-20T10:17:23Z");
        host.Emulator.Ledger.Count.Should().Be(1);
    }

    [Fact]
    public async Task PostBatch_EveryFailureStatus_ItemCarriesStatusSentFieldsAndError()
    {
        await using var host = await TestEmulator.StartAsync(options =>
        {
            options.Resources.Add(new EmulatedResource { ResourceId = ResourceA, PlanId = "plan1", Dimensions = ["dim1", "dim2"] });
            options.Resources.Add(new EmulatedResource { ResourceId = SuspendedResource, PlanId = "plan1", Dimensions = ["dim1"], Status = EmulatedResourceStatus.Suspended });
        });
        var now = host.Now;

        var answer = await host.PostBatchAsync(Batch(
            Event(now, quantity: "1"),
            Event(now, dimension: "dim2", quantity: "0"),
            Event(now.AddHours(-25), dimension: "dim2"),
            Event(now, resourceId: ResourceB),
            Event(now, resourceId: SuspendedResource),
            Event(now, dimension: "dim3"),
            Event(now, dimension: "dim2", planId: "other-plan"),
            Event(now, dimension: "dim2", quantity: "\"abc\""),
            Event(now.AddMinutes(1), dimension: "dim2"),
            Event(now, dimension: "dim2", resourceId: ResourceA, resourceUri: AppUri),
            Event(now, dimension: "dim2", useResourceA: false)));

        answer.Status.Should().Be(200);
        answer.Json.GetProperty("count").GetInt32().Should().Be(11);
        var items = answer.Json.GetProperty("result").EnumerateArray().ToList();
        items.Select(i => i.GetProperty("status").GetString()).Should().Equal(
            "Accepted", "InvalidQuantity", "Expired", "ResourceNotFound", "ResourceNotActive", "InvalidDimension", "BadArgument", "BadArgument",
            "Expired", "BadArgument", "BadArgument");

        AssertFailedItem(items[1], "InvalidQuantity", "quantity");
        items[1].GetProperty("quantity").GetRawText().Should().Be("0.0");
        AssertFailedItem(items[2], "Expired", "effectiveStartTime");
        items[2].GetProperty("effectiveStartTime").GetString().Should().Be("2026-11-19T09:17:23Z");
        AssertFailedItem(items[3], "ResourceNotFound", "resourceId");
        items[3].GetProperty("resourceId").GetGuid().Should().Be(ResourceB);
        AssertFailedItem(items[4], "ResourceNotActive", "resourceId");
        AssertFailedItem(items[5], "InvalidDimension", "dimension");
        items[5].GetProperty("dimension").GetString().Should().Be("dim3");
        AssertFailedItem(items[6], "BadArgument", "planId");
        items[6].GetProperty("planId").GetString().Should().Be("other-plan");
        AssertFailedItem(items[7], "BadArgument", "quantity");
        items[7].TryGetProperty("quantity", out _).Should().BeFalse("an unreadable value is left out, never written as null");
        items[7].GetProperty("dimension").GetString().Should().Be("dim2");
        AssertFailedItem(items[8], "Expired", "effectiveStartTime");
        items[8].GetProperty("effectiveStartTime").GetString().Should().Be("2026-11-20T10:18:23Z", "a time in the future is refused as Expired");
        AssertFailedItem(items[9], "BadArgument", "resourceUri");
        items[9].GetProperty("resourceUri").GetString().Should().Be(AppUri);
        AssertFailedItem(items[10], "BadArgument", "resourceId");
        items.Skip(1).Select(i => i.TryGetProperty("usageEventId", out var _)).Should().AllBeEquivalentTo(false);
        host.Emulator.Ledger.Count.Should().Be(1);
    }

    [Fact]
    public async Task PostBatch_WrongTypesInOneItem_FailsThatItemOnly()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostBatchAsync(
            "{\"request\":[" + Event(host.Now) + ",{\"resourceId\":7,\"quantity\":[1],\"dimension\":false},\"just a string\",null]}");

        answer.Status.Should().Be(200);
        var items = answer.Json.GetProperty("result").EnumerateArray().ToList();
        items.Select(i => i.GetProperty("status").GetString()).Should().Equal("Accepted", "BadArgument", "BadArgument", "BadArgument");
        items[1].TryGetProperty("resourceId", out _).Should().BeFalse("an unreadable value is left out, never written as null");
        items[1].TryGetProperty("resourceUri", out _).Should().BeFalse();
        items[1].GetProperty("error").GetProperty("code").GetString().Should().Be("BadArgument");
        host.Emulator.Ledger.Count.Should().Be(1);
    }

    [Fact]
    public async Task PostBatch_ResourceUri_ItemHasDerivedResourceIdAndBothFields()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostBatchAsync(Batch(Event(host.Now, resourceUri: AppUri)));

        var item = answer.Json.GetProperty("result")[0];
        item.GetProperty("status").GetString().Should().Be("Accepted");
        item.GetProperty("resourceUri").GetString().Should().Be(AppUri);
        item.GetProperty("resourceId").GetGuid().Should().Be(host.Emulator.Ledger.Entries.Single().ResourceId).And.NotBeEmpty();
    }

    [Fact]
    public async Task PostBatch_Seeded_ShufflesTheSameWayEveryRunAndKeepsOneItemPerEvent()
    {
        static async Task<List<string>> DimensionsInAnswerOrder(int seed)
        {
            await using var host = await TestEmulator.StartAsync(options =>
            {
                options.ShuffleBatchResults = true;
                options.Seed = seed;
            });
            var events = Enumerable.Range(0, 12).Select(i => Event(host.Now, dimension: $"dim{i:00}")).ToArray();
            var answer = await host.PostBatchAsync(Batch(events));
            answer.Json.GetProperty("count").GetInt32().Should().Be(12);
            return answer.Json.GetProperty("result").EnumerateArray().Select(i => i.GetProperty("dimension").GetString()!).ToList();
        }

        var sent = Enumerable.Range(0, 12).Select(i => $"dim{i:00}").ToList();

        var first = await DimensionsInAnswerOrder(seed: 1234);
        var second = await DimensionsInAnswerOrder(seed: 1234);
        var otherSeed = await DimensionsInAnswerOrder(seed: 99);

        first.Should().BeEquivalentTo(sent, "one item per event, whatever the order");
        first.Should().NotEqual(sent, "the service does not keep item order");
        second.Should().Equal(first, "the same seed gives the same order");
        otherSeed.Should().NotEqual(first);
    }

    [Fact]
    public async Task PostBatch_ShuffleOff_KeepsTheSentOrder()
    {
        await using var host = await TestEmulator.StartAsync(options => options.ShuffleBatchResults = false);
        var events = Enumerable.Range(0, 12).Select(i => Event(host.Now, dimension: $"dim{i:00}")).ToArray();

        var answer = await host.PostBatchAsync(Batch(events));

        answer.Json.GetProperty("result").EnumerateArray().Select(i => i.GetProperty("dimension").GetString())
            .Should().Equal(Enumerable.Range(0, 12).Select(i => $"dim{i:00}"));
    }

    [Fact]
    public async Task PostBatch_TwentyFiveEvents_AreAllProcessed()
    {
        await using var host = await TestEmulator.StartAsync();
        var events = Enumerable.Range(0, 25).Select(i => Event(host.Now, dimension: $"d{i}")).ToArray();

        var answer = await host.PostBatchAsync(Batch(events));

        answer.Status.Should().Be(200);
        answer.Json.GetProperty("count").GetInt32().Should().Be(25);
        host.Emulator.Ledger.Count.Should().Be(25);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(26)]
    public async Task PostBatch_ZeroOrMoreThanTwentyFiveEvents_Returns400ForTheWholeBatch(int count)
    {
        await using var host = await TestEmulator.StartAsync();
        var events = Enumerable.Range(0, count).Select(i => Event(host.Now, dimension: $"d{i}")).ToArray();

        var answer = await host.PostBatchAsync(Batch(events));

        answer.Status.Should().Be(400);
        UsageEventEndpointTests.AssertServiceError(answer, "BadArgument", "request");
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("[]")]
    [InlineData("{\"request\":{}}")]
    [InlineData("{\"request\":5}")]
    [InlineData("{\"events\":[]}")]
    public async Task PostBatch_NoRequestArray_Returns400ForTheWholeBatch(string body)
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostBatchAsync(body);

        answer.Status.Should().Be(400);
        UsageEventEndpointTests.AssertServiceError(answer, "BadArgument", "request");
    }

    [Fact]
    public async Task PostBatch_RequestPropertyInOtherCase_IsRead()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostBatchAsync("{\"Request\":[" + Event(host.Now) + "]}");

        answer.Status.Should().Be(200);
        host.Emulator.Ledger.Count.Should().Be(1);
    }

    /// <summary>
    /// Asserts a failed item as the service answers it: at the top only its status, the error and the fields sent
    /// (never the failing field's code, message or target, nor a usageEventId); the error has exactly code, message,
    /// target and details, and its one detail exactly code, message and target.
    /// </summary>
    private static void AssertFailedItem(JsonElement item, string status, string target)
    {
        item.GetProperty("status").GetString().Should().Be(status);
        item.EnumerateObject().Select(p => p.Name).Should().Contain("error").And.BeSubsetOf(FailedItemProperties);
        var error = item.GetProperty("error");
        error.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("code", "message", "target", "details");
        error.GetProperty("code").GetString().Should().Be(status);
        error.GetProperty("target").GetString().Should().Be(target);
        error.GetProperty("message").GetString().Should().NotBeNullOrWhiteSpace();
        var detail = error.GetProperty("details").EnumerateArray().Should().ContainSingle().Subject;
        detail.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("code", "message", "target");
        detail.GetProperty("code").GetString().Should().Be(status);
        detail.GetProperty("target").GetString().Should().Be(target);
        detail.GetProperty("message").GetString().Should().Be(error.GetProperty("message").GetString());
    }
}
