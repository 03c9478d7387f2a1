using System.Diagnostics;
using MarketplaceMetering.Emulator.Tests.TestSupport;
using static MarketplaceMetering.Emulator.Tests.TestSupport.EventJson;

namespace MarketplaceMetering.Emulator.Tests.Admin;

public sealed class AdminApiTests
{
    [Fact]
    public async Task GetFaults_Defaults_ReportsZeroesAndOneSecondRetryAfter()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.SendAsync(HttpMethod.Get, "emulator/faults", null);

        answer.Status.Should().Be(200);
        var json = answer.Json;
        json.GetProperty("throttleProbability").GetDouble().Should().Be(0);
        json.GetProperty("serverErrorProbability").GetDouble().Should().Be(0);
        json.GetProperty("dropAfterAcceptProbability").GetDouble().Should().Be(0);
        json.GetProperty("throttleRetryAfterSeconds").GetDouble().Should().Be(1);
        json.GetProperty("minLatencyMilliseconds").GetDouble().Should().Be(0);
        json.GetProperty("maxLatencyMilliseconds").GetDouble().Should().Be(0);
        json.GetProperty("pending").GetInt32().Should().Be(0);
    }

    [Fact]
    public async Task PutFaults_ThrottleProbabilityOne_ThrottlesTheNextApiRequest()
    {
        await using var host = await TestEmulator.StartAsync();

        var put = await host.SendAsync(HttpMethod.Put, "emulator/faults", """{"throttleProbability":1,"throttleRetryAfterSeconds":4}""");
        var api = await host.PostEventAsync(Event(host.Now));

        put.Status.Should().Be(200);
        put.Json.GetProperty("throttleProbability").GetDouble().Should().Be(1);
        host.Emulator.Faults.Settings.ThrottleProbability.Should().Be(1);
        host.Emulator.Faults.Settings.ThrottleRetryAfter.Should().Be(TimeSpan.FromSeconds(4));
        api.Status.Should().Be(429);
        api.Header("Retry-After").Should().Be("4");
    }

    [Fact]
    public async Task PutFaults_OnlySomeProperties_KeepsTheOthers()
    {
        await using var host = await TestEmulator.StartAsync(options => options.Faults.ServerErrorProbability = 0.25);

        var put = await host.SendAsync(HttpMethod.Put, "emulator/faults", """{"DropAfterAcceptProbability":0.5}""");

        put.Status.Should().Be(200);
        host.Emulator.Faults.Settings.ServerErrorProbability.Should().Be(0.25);
        host.Emulator.Faults.Settings.DropAfterAcceptProbability.Should().Be(0.5);
    }

    [Theory]
    [InlineData("""{"throttleProbability":1.5}""")]
    [InlineData("""{"throttleProbability":"high"}""")]
    [InlineData("""{"throttleProbability":0.6,"serverErrorProbability":0.6}""")]
    [InlineData("""{"minLatencyMilliseconds":500,"maxLatencyMilliseconds":100}""")]
    [InlineData("""{"maxLatencyMilliseconds":-1}""")]
    [InlineData("""{"surpriseMe":1}""")]
    [InlineData("""[1]""")]
    [InlineData("""{""")]
    public async Task PutFaults_InvalidSettings_Returns400AndChangesNothing(string body)
    {
        await using var host = await TestEmulator.StartAsync();

        var put = await host.SendAsync(HttpMethod.Put, "emulator/faults", body);

        put.Status.Should().Be(400);
        put.Json.GetProperty("code").GetString().Should().Be("BadArgument");
        host.Emulator.Faults.Settings.ThrottleProbability.Should().Be(0);
        host.Emulator.Faults.Settings.ServerErrorProbability.Should().Be(0);
        host.Emulator.Faults.Settings.MinLatency.Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public async Task PostFaultQueue_Sequence_IsAppliedInOrder()
    {
        await using var host = await TestEmulator.StartAsync();
        const string Queue = """
            [
              {"kind":"throttle","retryAfterSeconds":2},
              {"kind":"serverError","statusCode":503},
              {"kind":"respond","statusCode":418,"body":"teapot","headers":{"X-Why":"scripted"}},
              {"kind":"latency","milliseconds":200},
              {"kind":"dropAfterAccept"},
              {"kind":"none"}
            ]
            """;

        var post = await host.SendAsync(HttpMethod.Post, "emulator/faults/queue", Queue);

        post.Status.Should().Be(200);
        post.Json.GetProperty("pending").GetInt32().Should().Be(6);
        var throttled = await host.PostEventAsync(Event(host.Now, dimension: "a"));
        throttled.Status.Should().Be(429);
        throttled.Header("Retry-After").Should().Be("2");
        (await host.PostEventAsync(Event(host.Now, dimension: "b"))).Status.Should().Be(503);
        var scripted = await host.PostEventAsync(Event(host.Now, dimension: "c"));
        scripted.Status.Should().Be(418);
        scripted.Body.Should().Be("teapot");
        scripted.Header("X-Why").Should().Be("scripted");
        var stopwatch = Stopwatch.StartNew();
        (await host.PostEventAsync(Event(host.Now, dimension: "d"))).Status.Should().Be(200);
        stopwatch.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(200));
        await FluentActions.Awaiting(() => host.PostEventAsync(Event(host.Now, dimension: "e"))).Should().ThrowAsync<HttpRequestException>();
        (await host.PostEventAsync(Event(host.Now, dimension: "f"))).Status.Should().Be(200);
        host.Emulator.Ledger.Entries.Select(e => e.Dimension).Should().Equal("d", "e", "f");
    }

    [Theory]
    [InlineData("""[{"kind":"throttle"},{"kind":"explode"}]""")]
    [InlineData("""[{"kind":"serverError","statusCode":404}]""")]
    [InlineData("""[{"kind":"latency"}]""")]
    [InlineData("""[{"retryAfterSeconds":1}]""")]
    [InlineData("""{"kind":"throttle"}""")]
    public async Task PostFaultQueue_InvalidFault_Returns400AndQueuesNothing(string body)
    {
        await using var host = await TestEmulator.StartAsync();

        var post = await host.SendAsync(HttpMethod.Post, "emulator/faults/queue", body);

        post.Status.Should().Be(400);
        host.Emulator.Faults.Pending.Should().Be(0);
    }

    [Theory]
    [InlineData("""[{"kind":"respond","statusCode":200,"body":"{}","headers":{"X-Split":"a\r\nInjected: yes"}}]""")]
    [InlineData("""[{"kind":"respond","statusCode":200,"body":"{}","headers":{"X-Accent":"caf\u00e9"}}]""")]
    [InlineData("""[{"kind":"respond","statusCode":200,"body":"{}","headers":{"Bad Name":"x"}}]""")]
    [InlineData("""[{"kind":"respond","statusCode":101,"body":"{}"}]""")]
    [InlineData("""[{"kind":"respond","statusCode":103,"body":"{}"}]""")]
    [InlineData("""[{"kind":"respond","statusCode":205,"body":"{}"}]""")]
    public async Task PostFaultQueue_RespondThatHttpCannotCarry_Returns400AndTheNextRequestIsServed(string body)
    {
        await using var host = await TestEmulator.StartAsync();

        var post = await host.SendAsync(HttpMethod.Post, "emulator/faults/queue", body);
        var next = await host.PostEventAsync(Event(host.Now));

        // Queued, such a fault could not be sent: the next request got an empty 500 from the web server instead.
        post.Status.Should().Be(400);
        post.Json.GetProperty("code").GetString().Should().Be("BadArgument");
        host.Emulator.Faults.Pending.Should().Be(0);
        next.Status.Should().Be(200);
    }

    [Fact]
    public async Task DeleteFaults_ClearsTheQueueAndZeroesProbabilities()
    {
        await using var host = await TestEmulator.StartAsync(options => options.Faults.ThrottleProbability = 1);
        host.Emulator.Faults.Enqueue(EmulatorFault.ServerError());

        var delete = await host.SendAsync(HttpMethod.Delete, "emulator/faults", null);

        delete.Status.Should().Be(204);
        host.Emulator.Faults.Pending.Should().Be(0);
        host.Emulator.Faults.Settings.ThrottleProbability.Should().Be(0);
        (await host.PostEventAsync(Event(host.Now))).Status.Should().Be(200);
    }

    [Fact]
    public async Task GetLedger_AfterAcceptedEvents_ListsThem()
    {
        await using var host = await TestEmulator.StartAsync();
        var accepted = await host.PostEventAsync(Event(host.Now.AddMinutes(-1), quantity: "2.5"));

        var answer = await host.SendAsync(HttpMethod.Get, "emulator/ledger", null);

        answer.Status.Should().Be(200);
        var entry = answer.Json.EnumerateArray().Should().ContainSingle().Subject;
        entry.GetProperty("usageEventId").GetGuid().Should().Be(accepted.Json.GetProperty("usageEventId").GetGuid());
        entry.GetProperty("resourceId").GetGuid().Should().Be(ResourceA);
        entry.GetProperty("quantity").GetDecimal().Should().Be(2.5m);
        entry.GetProperty("dimension").GetString().Should().Be("dim1");
        entry.GetProperty("effectiveStartTime").GetString().Should().Be("2026-11-20T10:16:23Z");
    }

    [Fact]
    public async Task DeleteLedger_ForgetsEventsSoTheSameHourIsAcceptedAgain()
    {
        await using var host = await TestEmulator.StartAsync();
        await host.PostEventAsync(Event(host.Now));

        var delete = await host.SendAsync(HttpMethod.Delete, "emulator/ledger", null);

        delete.Status.Should().Be(204);
        host.Emulator.Ledger.Count.Should().Be(0);
        (await host.PostEventAsync(Event(host.Now))).Status.Should().Be(200);
    }

    [Fact]
    public async Task PutResourceStatus_Suspended_TheResourcesNextEventIsRefused()
    {
        await using var host = await TestEmulator.StartAsync();

        var put = await host.SendAsync(HttpMethod.Put, "emulator/resources/status", $$"""{"resourceId":"{{ResourceA}}","status":"suspended"}""");
        var refused = await host.PostEventAsync(Event(host.Now));

        put.Status.Should().Be(204);
        refused.Status.Should().Be(400);
        refused.Body.Should().Contain("ResourceNotActive");
    }

    [Fact]
    public async Task PutReconciliation_Rejected_TheUsageReportSaysSo()
    {
        await using var host = await TestEmulator.StartAsync();
        (await host.PostEventAsync(Event(host.Now, quantity: "3"))).Status.Should().Be(200);

        var put = await host.SendAsync(HttpMethod.Put, "emulator/reconciliation", $$"""{"resourceId":"{{ResourceA}}","dimension":"DIM1","day":"2026-11-20","reconStatus":"Mismatch","processedQuantity":2.5}""");
        var report = await host.GetUsageAsync("&usageStartDate=2026-11-20");

        put.Status.Should().Be(204);
        var row = report.Json.EnumerateArray().Should().ContainSingle().Subject;
        (row.GetProperty("reconStatus").GetString(), row.GetProperty("submittedQuantity").GetDecimal(), row.GetProperty("processedQuantity").GetDecimal()).Should().Be(("Mismatch", 3m, 2.5m));
    }

    [Theory]
    [InlineData("emulator/resources/status", """{"resourceId":"not-a-guid","status":"Suspended"}""", "resourceId")]
    [InlineData("emulator/resources/status", """{"resourceId":"5f5d2b4e-8a51-4bb0-9d0e-0a6c1f5e7a01","status":"Paused"}""", "status must be one of")]
    [InlineData("emulator/reconciliation", """{"resourceId":"5f5d2b4e-8a51-4bb0-9d0e-0a6c1f5e7a01","dimension":"dim1","day":"yesterday","reconStatus":"Rejected"}""", "day")]
    [InlineData("emulator/reconciliation", """{"resourceId":"5f5d2b4e-8a51-4bb0-9d0e-0a6c1f5e7a01","dimension":"","day":"2026-11-20","reconStatus":"Rejected"}""", "dimension")]
    [InlineData("emulator/reconciliation", """{"resourceId":"5f5d2b4e-8a51-4bb0-9d0e-0a6c1f5e7a01","dimension":"dim1","day":"2026-11-20","reconStatus":"Rejected","processedQuantity":-1}""", "processedQuantity")]
    [InlineData("emulator/reconciliation", """[1,2]""", "resourceId")]
    public async Task PutControl_BadBody_Returns400NamingTheField(string path, string body, string named)
    {
        await using var host = await TestEmulator.StartAsync();

        var put = await host.SendAsync(HttpMethod.Put, path, body);

        put.Status.Should().Be(400);
        put.Body.Should().Contain(named);
    }

    [Theory]
    [InlineData("GET", "emulator/faults", null)]
    [InlineData("DELETE", "emulator/ledger", "Bearer wrong")]
    [InlineData("POST", "emulator/faults/queue", "Bearer wrong")]
    public async Task AdminApi_MissingOrWrongToken_Returns403AndChangesNothing(string method, string path, string? authorization)
    {
        await using var host = await TestEmulator.StartAsync();
        await host.PostEventAsync(Event(host.Now));

        var answer = await host.SendAsync(new HttpMethod(method), path, method == "POST" ? """[{"kind":"throttle"}]""" : null, authorization);

        answer.Status.Should().Be(403);
        answer.Json.GetProperty("code").GetString().Should().Be("Forbidden");
        host.Emulator.Ledger.Count.Should().Be(1);
        host.Emulator.Faults.Pending.Should().Be(0);
    }

    [Fact]
    public async Task AdminApi_IsNeitherFaultedNorRecorded()
    {
        await using var host = await TestEmulator.StartAsync(options => options.Faults.ServerErrorProbability = 1);
        host.Emulator.Faults.Enqueue(EmulatorFault.Throttle());

        var answer = await host.SendAsync(HttpMethod.Get, "emulator/ledger", null);

        answer.Status.Should().Be(200);
        host.Emulator.Faults.Pending.Should().Be(1);
        host.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task AdminApi_UnknownRouteOrMethod_Returns404Or405()
    {
        await using var host = await TestEmulator.StartAsync();

        (await host.SendAsync(HttpMethod.Get, "emulator/clock", null)).Status.Should().Be(404);
        (await host.SendAsync(HttpMethod.Post, "emulator/ledger", "{}")).Status.Should().Be(405);
    }
}
