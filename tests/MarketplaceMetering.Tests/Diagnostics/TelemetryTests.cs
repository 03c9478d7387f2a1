using System.Diagnostics;
using MarketplaceMetering.Emulator;

namespace MarketplaceMetering.Tests.Diagnostics;

/// <summary>
/// The client's spans (<c>ActivitySource</c> "MarketplaceMetering") and metrics (<c>Meter</c> "MarketplaceMetering"),
/// seen as a listener sees them, for a single call, a batch and a bulk call with one retry.
/// </summary>
[Collection(TelemetryTestGroup.Name)]
public class TelemetryTests
{
    [Fact]
    public async Task SubmitUsageEventAsync_Listened_OneOperationSpanOneAttemptSpanAndTheMetrics()
    {
        using var telemetry = new TelemetryCollector();
        await using var h = await Harness.StartAsync();
        using var parent = new Activity("test").Start();

        var result = await h.Client.SubmitUsageEventAsync(h.HourAgo(quantity: 5m));
        parent.Stop();

        result.Should().BeOfType<UsageEventResult.Accepted>();
        var spans = telemetry.Spans(parent.TraceId);
        var operation = spans.Should().ContainSingle(s => s.DisplayName == "MeteringClient.SubmitUsageEvent").Subject;
        operation.Kind.Should().Be(ActivityKind.Internal);
        operation.GetTagItem("marketplace_metering.operation").Should().Be("SubmitUsageEvent");
        operation.GetTagItem("marketplace_metering.batch.size").Should().Be(1);
        operation.GetTagItem("marketplace_metering.events.accepted").Should().Be(1);
        var request = h.Emulator.Requests.Single();
        operation.GetTagItem("marketplace_metering.correlation_id").Should().Be(request.Headers["x-ms-correlationid"]);

        var attempt = spans.Should().ContainSingle(s => s.DisplayName == "POST /api/usageEvent").Subject;
        attempt.Kind.Should().Be(ActivityKind.Client);
        attempt.ParentSpanId.Should().Be(operation.SpanId);
        attempt.GetTagItem("http.request.method").Should().Be("POST");
        attempt.GetTagItem("http.response.status_code").Should().Be(200);
        attempt.GetTagItem("server.address").Should().Be("127.0.0.1");
        attempt.GetTagItem("marketplace_metering.attempt").Should().Be(1);
        attempt.GetTagItem("marketplace_metering.request_id").Should().Be(request.Headers["x-ms-requestid"]);
        attempt.GetTagItem("marketplace_metering.correlation_id").Should().Be(request.Headers["x-ms-correlationid"]);
        request.Headers["traceparent"].Should().StartWith($"00-{parent.TraceId}-{attempt.SpanId}-", "W3C trace context is propagated, with the attempt as parent");

        var events = telemetry.Measurements("marketplace_metering.events").Should().ContainSingle().Subject;
        events.Value.Should().Be(1);
        events.Tags["marketplace_metering.event.status"].Should().Be("Accepted");
        events.Tags["marketplace_metering.event.delivered"].Should().Be(true);
        var quantity = telemetry.Measurements("marketplace_metering.quantity.delivered").Should().ContainSingle().Subject;
        quantity.Value.Should().Be(5);
        quantity.Tags["marketplace_metering.dimension"].Should().Be("dim1");
        telemetry.Measurements("marketplace_metering.client.operation.duration").Should().ContainSingle()
            .Which.Tags["marketplace_metering.operation"].Should().Be("SubmitUsageEvent");
        telemetry.Measurements("marketplace_metering.client.request.duration").Should().ContainSingle()
            .Which.Tags["http.response.status_code"].Should().Be(200);
        telemetry.Measurements("marketplace_metering.token.fetches").Should().ContainSingle()
            .Which.Tags["marketplace_metering.token.outcome"].Should().Be("success");
        telemetry.Measurements("marketplace_metering.client.retries").Should().BeEmpty();
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_Listened_SpanCountsEachStatusAndEventsAreCountedByStatus()
    {
        using var telemetry = new TelemetryCollector();
        await using var h = await Harness.StartAsync();
        var events = TestEvents.Distinct(h.Clock, 3);
        await h.Client.SubmitUsageEventAsync(events[0]);
        using var parent = new Activity("test").Start();

        var batch = await h.Client.SubmitBatchUsageEventAsync(events);
        parent.Stop();

        batch.Results.Select(r => r.Status).Should().Equal(UsageEventStatus.Duplicate, UsageEventStatus.Accepted, UsageEventStatus.Accepted);
        var spans = telemetry.Spans(parent.TraceId);
        var operation = spans.Should().ContainSingle(s => s.DisplayName == "MeteringClient.SubmitBatchUsageEvent").Subject;
        operation.GetTagItem("marketplace_metering.batch.size").Should().Be(3);
        operation.GetTagItem("marketplace_metering.events.accepted").Should().Be(2);
        operation.GetTagItem("marketplace_metering.events.duplicate").Should().Be(1);
        spans.Should().ContainSingle(s => s.DisplayName == "POST /api/batchUsageEvent")
            .Which.GetTagItem("marketplace_metering.batch.size").Should().Be(3);
        telemetry.Measurements("marketplace_metering.events")
            .GroupBy(m => (string)m.Tags["marketplace_metering.event.status"]!)
            .ToDictionary(g => g.Key, g => g.Sum(m => m.Value))
            .Should().Equal(new Dictionary<string, double> { ["Accepted"] = 3, ["Duplicate"] = 1 }, "the earlier single call counts too");
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_OneRetry_SpansPerAttemptAndRetryCounted()
    {
        using var telemetry = new TelemetryCollector();
        await using var h = await Harness.StartAsync(client: o => o.MaxConcurrency = 1);
        h.Emulator.Faults.Enqueue(EmulatorFault.ServerError(503));
        var events = TestEvents.Distinct(h.Clock, 30);
        using var parent = new Activity("test").Start();

        var bulk = await h.Client.SubmitUsageEventsAsync(events);
        parent.Stop();

        bulk.Summary.AllDelivered.Should().BeTrue();
        var spans = telemetry.Spans(parent.TraceId);
        var operation = spans.Should().ContainSingle(s => s.DisplayName == "MeteringClient.SubmitUsageEvents").Subject;
        operation.GetTagItem("marketplace_metering.batch.size").Should().Be(30);
        operation.GetTagItem("marketplace_metering.events.accepted").Should().Be(30);
        var attempts = spans.Where(s => s.DisplayName == "POST /api/batchUsageEvent").OrderBy(s => s.StartTimeUtc).ToList();
        attempts.Should().HaveCount(3, "the first batch twice (503, then 200), the second once");
        attempts.Should().OnlyContain(a => a.ParentSpanId == operation.SpanId);
        attempts[0].GetTagItem("http.response.status_code").Should().Be(503);
        attempts[0].Status.Should().Be(ActivityStatusCode.Error);
        attempts[1].GetTagItem("http.response.status_code").Should().Be(200);
        attempts[1].GetTagItem("http.request.resend_count").Should().Be(1);
        attempts[1].GetTagItem("marketplace_metering.attempt").Should().Be(2);
        attempts.Select(a => a.GetTagItem("marketplace_metering.batch.size")).Should().Equal(25, 25, 5);

        var retry = telemetry.Measurements("marketplace_metering.client.retries").Should().ContainSingle().Subject;
        retry.Tags["marketplace_metering.retry.reason"].Should().Be("503");
        retry.Tags["marketplace_metering.operation"].Should().Be("SubmitUsageEvents");
        telemetry.Measurements("marketplace_metering.events").Sum(m => m.Value).Should().Be(30);
        telemetry.Measurements("marketplace_metering.quantity.delivered").Sum(m => m.Value).Should().Be((double)events.Sum(e => e.Quantity));
        telemetry.Measurements("marketplace_metering.client.operation.duration").Should().ContainSingle();
        telemetry.Measurements("marketplace_metering.client.request.duration").Select(m => m.Tags["http.response.status_code"]).Should().BeEquivalentTo(new object[] { 503, 200, 200 });
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_Stream_CountsEachResultAsItIsRead()
    {
        using var telemetry = new TelemetryCollector();
        await using var h = await Harness.StartAsync();
        using var parent = new Activity("test").Start();

        var count = 0;
        await foreach (var result in h.Client.SubmitUsageEventsAsync(ToAsync(TestEvents.Distinct(h.Clock, 40))))
        {
            count++;
            telemetry.Measurements("marketplace_metering.events").Sum(m => m.Value).Should().Be(count, "each result is counted as it is yielded");
        }

        parent.Stop();
        telemetry.Spans(parent.TraceId).Should().ContainSingle(s => s.DisplayName == "MeteringClient.SubmitUsageEvents")
            .Which.GetTagItem("marketplace_metering.batch.size").Should().Be(40);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_Refused_OperationSpanIsAnErrorWithTheStatus()
    {
        using var telemetry = new TelemetryCollector();
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(403, """{"code":"Forbidden","message":"no"}"""));
        using var parent = new Activity("test").Start();

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo());
        await act.Should().ThrowAsync<MeteringAuthorizationException>();
        parent.Stop();

        var operation = telemetry.Spans(parent.TraceId).Should().ContainSingle(s => s.DisplayName == "MeteringClient.SubmitUsageEvent").Subject;
        operation.Status.Should().Be(ActivityStatusCode.Error);
        operation.GetTagItem("error.type").Should().Be("403");
        telemetry.Measurements("marketplace_metering.client.operation.duration").Should().ContainSingle()
            .Which.Tags["error.type"].Should().Be("403");
    }

    private static async IAsyncEnumerable<UsageEvent> ToAsync(IEnumerable<UsageEvent> events)
    {
        foreach (var e in events)
        {
            await Task.Yield();
            yield return e;
        }
    }
}
