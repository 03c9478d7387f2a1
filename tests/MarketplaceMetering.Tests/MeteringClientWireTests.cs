using System.Text.Json;
using MarketplaceMetering.Emulator;

namespace MarketplaceMetering.Tests;

/// <summary>What goes over the wire, as the emulator saw it.</summary>
public class MeteringClientWireTests
{
    [Fact]
    public async Task SubmitUsageEventAsync_SendsDocumentedRequest()
    {
        await using var h = await Harness.StartAsync();
        var local = new DateTimeOffset(h.Clock.GetUtcNow().AddHours(-1).UtcDateTime, TimeSpan.Zero).ToOffset(TimeSpan.FromHours(-5));
        var usageEvent = UsageEvent.ForResourceId(TestEvents.Resource, "plan1", "dim1", 2.5m, local);

        await h.Client.SubmitUsageEventAsync(usageEvent);

        var request = h.Emulator.Requests.Should().ContainSingle().Subject;
        request.Method.Should().Be("POST");
        request.Path.Should().Be("/api/usageEvent");
        request.QueryString.Should().Be("?api-version=2018-08-31");
        request.Headers["Authorization"].Should().Be("Bearer " + h.Emulator.Token);
        request.Headers["Content-Type"].Should().Be("application/json");
        Guid.TryParse(request.Headers["x-ms-requestid"], out _).Should().BeTrue();
        Guid.TryParse(request.Headers["x-ms-correlationid"], out _).Should().BeTrue();

        using var body = JsonDocument.Parse(request.Body);
        body.RootElement.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("resourceId", "quantity", "dimension", "effectiveStartTime", "planId");
        body.RootElement.GetProperty("effectiveStartTime").GetString().Should().EndWith("Z")
            .And.Be(usageEvent.EffectiveStartTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"));
        body.RootElement.GetProperty("quantity").GetDecimal().Should().Be(2.5m);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_UriEvent_SendsResourceUriAndNoResourceId()
    {
        await using var h = await Harness.StartAsync();
        const string uri = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.Solutions/applications/app";

        var result = await h.Client.SubmitUsageEventAsync(UsageEvent.ForResourceUri(uri, "plan1", "dim1", 1m, h.Clock.GetUtcNow().AddMinutes(-10)));

        using var body = JsonDocument.Parse(h.Emulator.Requests.Single().Body);
        body.RootElement.GetProperty("resourceUri").GetString().Should().Be(uri);
        body.RootElement.TryGetProperty("resourceId", out _).Should().BeFalse();
        var accepted = result.Should().BeOfType<UsageEventResult.Accepted>().Subject;
        accepted.ResourceUsageId.Should().NotBeNull().And.NotBe(Guid.Empty);
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_SendsRequestArrayToBatchPath()
    {
        await using var h = await Harness.StartAsync();
        var events = TestEvents.Distinct(h.Clock, 3);

        await h.Client.SubmitBatchUsageEventAsync(events);

        var request = h.Emulator.Requests.Should().ContainSingle().Subject;
        request.Path.Should().Be("/api/batchUsageEvent");
        request.QueryString.Should().Be("?api-version=2018-08-31");
        using var body = JsonDocument.Parse(request.Body);
        body.RootElement.GetProperty("request").EnumerateArray().Select(e => e.GetProperty("resourceId").GetGuid())
            .Should().Equal(events.Select(e => e.ResourceId!.Value));
    }

    [Fact]
    public async Task SubmitUsageEventAsync_Retried_KeepsRequestIdAndCorrelationIdAcrossAttempts()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.ServerError(503), EmulatorFault.ServerError(500));

        await h.Client.SubmitUsageEventAsync(h.HourAgo());

        var requests = h.Emulator.Requests;
        requests.Should().HaveCount(3);
        requests.Select(r => r.Headers["x-ms-requestid"]).Distinct().Should().ContainSingle();
        requests.Select(r => r.Headers["x-ms-correlationid"]).Distinct().Should().ContainSingle();
    }

    [Fact]
    public async Task SubmitUsageEventAsync_TwoCalls_UseFreshRequestIds()
    {
        await using var h = await Harness.StartAsync();

        await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(1)));
        await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(2)));

        h.Emulator.Requests.Select(r => r.Headers["x-ms-requestid"]).Distinct().Should().HaveCount(2);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_Result_CarriesTheExchangesIds()
    {
        await using var h = await Harness.StartAsync();

        var result = await h.Client.SubmitUsageEventAsync(h.HourAgo());

        var sent = h.Emulator.Requests.Single();
        result.RequestId.Should().Be(sent.Headers["x-ms-requestid"]);
        result.CorrelationId.Should().Be(sent.Headers["x-ms-correlationid"]);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_CustomApiVersion_IsSent()
    {
        await using var h = await Harness.StartAsync(client: o => o.ApiVersion = "2099-01-01");

        var result = await h.Client.SubmitUsageEventAsync(h.HourAgo());

        h.Emulator.Requests.Single().QueryString.Should().Be("?api-version=2099-01-01");
        result.Should().BeOfType<UsageEventResult.BadArgument>("the emulator, like the service, rejects an unknown api-version");
    }
}
