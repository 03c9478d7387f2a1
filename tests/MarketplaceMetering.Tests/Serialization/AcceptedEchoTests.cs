using System.Text.Json.Nodes;
using MarketplaceMetering.Emulator;
using MarketplaceMetering.Tests.Pipeline;

namespace MarketplaceMetering.Tests.Serialization;

/// <summary>
/// The service echoes what it recorded. A single-event 200 that names another resource, plan, dimension, hour or
/// quantity than the event sent is not proof that this event was billed (review of the core, item 3): it is a
/// <see cref="MeteringException"/>, never an <c>Accepted</c>.
/// </summary>
public class AcceptedEchoTests
{
    [Theory]
    [InlineData("resourceId", "\"0f000000-0000-4000-8000-000000000bad\"")]
    [InlineData("dimension", "\"dim2\"")]
    [InlineData("planId", "\"plan9\"")]
    [InlineData("effectiveStartTime", "\"2026-11-20T03:00:00Z\"")]
    [InlineData("quantity", "6.0")]
    [InlineData("resourceId", "null")]
    [InlineData("dimension", "null")]
    public async Task SubmitUsageEventAsync_200NamesSomethingElse_ThrowsInsteadOfAccepted(string field, string json)
    {
        await using var h = await Harness.StartAsync();
        var usage = h.HourAgo(quantity: 5m);
        var body = JsonNode.Parse(RedirectTests.AcceptedEcho(usage))!.AsObject();
        body[field] = JsonNode.Parse(json);
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, body.ToJsonString()));

        var act = () => h.Client.SubmitUsageEventAsync(usage);

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.StatusCode.Should().Be(200);
        e.Message.Should().Contain(field);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_200EchoesTheEvent_IsAccepted()
    {
        await using var h = await Harness.StartAsync();
        var usage = h.HourAgo(quantity: 5m);
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, RedirectTests.AcceptedEcho(usage)));

        (await h.Client.SubmitUsageEventAsync(usage)).Should().BeOfType<UsageEventResult.Accepted>();
    }

    [Fact]
    public async Task SubmitUsageEventAsync_ResourceSentByUri_EchoWithOtherResourceIdIsStillAccepted()
    {
        await using var h = await Harness.StartAsync();
        var usage = UsageEvent.ForResourceUri("/subscriptions/1234/resourceGroups/rg/providers/Microsoft.Solutions/applications/app1", "plan1", "dim1", 2m, h.Clock.GetUtcNow().AddHours(-1));

        var result = await h.Client.SubmitUsageEventAsync(usage);

        result.Should().BeOfType<UsageEventResult.Accepted>("the service answers a URI event with its resource usage id, which differs from anything sent");
    }
}
