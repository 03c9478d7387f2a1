using System.Text.Json;
using MarketplaceMetering.Emulator.Tests.TestSupport;
using static MarketplaceMetering.Emulator.Tests.TestSupport.EventJson;

namespace MarketplaceMetering.Emulator.Tests.Api;

/// <summary>
/// A resource bought under another publisher's app (<see cref="EmulatedResourceStatus.OtherPublisher"/>): the service
/// answers a single event 403 with the same body as for a bad token, and a batch item <c>ResourceNotAuthorized</c>.
/// </summary>
public sealed class OtherPublisherTests
{
    private static readonly Guid Foreign = Guid.Parse("9a8b7c6d-0000-4000-8000-00000000f0f0");

    private static Task<TestEmulator> StartAsync() => TestEmulator.StartAsync(options =>
    {
        options.Resources.Add(new EmulatedResource { ResourceId = ResourceA, PlanId = "plan1", Dimensions = ["dim1"] });
        options.Resources.Add(new EmulatedResource { ResourceId = Foreign, PlanId = "plan1", Dimensions = ["dim1"], Status = EmulatedResourceStatus.OtherPublisher });
    });

    [Fact]
    public async Task PostUsageEvent_ResourceOfAnotherPublisher_Returns403WithTheForbiddenBodyAndRecordsNothing()
    {
        await using var host = await StartAsync();

        var answer = await host.PostEventAsync(Event(host.Now, resourceId: Foreign));

        answer.Status.Should().Be(403);
        answer.Json.EnumerateObject().Select(p => (p.Name, p.Value.GetString())).Should().BeEquivalentTo(
            [("message", "Client is not authorized for this usage resource."), ("code", "Forbidden")]);
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task PostBatch_ResourceOfAnotherPublisher_ThatItemIsResourceNotAuthorizedWithItsError()
    {
        await using var host = await StartAsync();
        var now = host.Now;

        var answer = await host.PostBatchAsync(Batch(Event(now), Event(now, resourceId: Foreign)));

        answer.Status.Should().Be(200);
        var items = answer.Json.GetProperty("result").EnumerateArray().ToList();
        var item = items.Single(i => i.GetProperty("resourceId").GetGuid() == Foreign);
        item.GetProperty("status").GetString().Should().Be("ResourceNotAuthorized");
        item.TryGetProperty("usageEventId", out _).Should().BeFalse();
        var error = item.GetProperty("error");
        error.GetProperty("code").GetString().Should().Be("ResourceNotAuthorized");
        error.GetProperty("target").GetString().Should().Be("resourceId");
        items.Single(i => i.GetProperty("resourceId").GetGuid() == ResourceA).GetProperty("status").GetString().Should().Be("Accepted");
        host.Emulator.Ledger.Count.Should().Be(1);
    }

    [Fact]
    public async Task SetResourceStatus_OtherPublisherAtRunTime_TheNextEventIs403()
    {
        await using var host = await StartAsync();
        (await host.PostEventAsync(Event(host.Now.AddHours(-2)))).Status.Should().Be(200);

        host.Emulator.SetResourceStatus(ResourceA, EmulatedResourceStatus.OtherPublisher);

        (await host.PostEventAsync(Event(host.Now.AddHours(-1)))).Status.Should().Be(403);
        host.Emulator.Ledger.Count.Should().Be(1);
    }
}
