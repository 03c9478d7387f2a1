using MarketplaceMetering.Emulator.Tests.TestSupport;
using static MarketplaceMetering.Emulator.Tests.TestSupport.EventJson;

namespace MarketplaceMetering.Emulator.Tests.Api;

public sealed class MeteringApiTests
{
    [Theory]
    [InlineData("api/usageEvent", "POST")]
    [InlineData("api/usageEvent?api-version=2019-01-01", "POST")]
    [InlineData("api/usageEvent?api-version=2018-08-31&api-version=2018-08-31", "POST")]
    [InlineData("api/batchUsageEvent?api-version=", "POST")]
    [InlineData("api/usageEvents?usageStartDate=2026-11-20", "GET")]
    public async Task ApiRoute_ApiVersionMissingOrWrong_Returns400TargetingApiVersion(string pathAndQuery, string method)
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.SendAsync(new HttpMethod(method), pathAndQuery, method == "POST" ? Event(host.Now) : null);

        answer.Status.Should().Be(400);
        UsageEventEndpointTests.AssertServiceError(answer, "BadArgument", "api-version");
        answer.Json.GetProperty("details")[0].GetProperty("message").GetString().Should().Contain("api-version");
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task ApiRoute_ApiVersionAndTokenBothMissing_ReportsApiVersionFirst()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.SendAsync(HttpMethod.Post, "api/usageEvent", Event(host.Now), authorization: null);

        answer.Status.Should().Be(400);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-token")]
    [InlineData("Bearer ")]
    [InlineData("Basic dGVzdC10b2tlbg==")]
    [InlineData("test-token")]
    [InlineData("Bearer test-token-and-more")]
    public async Task PostUsageEvent_MissingOrWrongToken_Returns403AndRecordsNothing(string? authorization)
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.SendAsync(HttpMethod.Post, TestEmulator.EventPath, Event(host.Now), authorization);

        answer.Status.Should().Be(403);
        answer.Json.GetProperty("code").GetString().Should().Be("Forbidden");
        answer.Json.GetProperty("message").GetString().Should().Be("Client is not authorized for this usage resource.");
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Theory]
    [InlineData(TestEmulator.BatchPath)]
    [InlineData(TestEmulator.UsagePath + "&usageStartDate=2026-11-20")]
    public async Task OtherRoutes_WrongToken_Return403(string pathAndQuery)
    {
        await using var host = await TestEmulator.StartAsync();
        var method = pathAndQuery.StartsWith("api/usageEvents", StringComparison.Ordinal) ? HttpMethod.Get : HttpMethod.Post;

        var answer = await host.SendAsync(method, pathAndQuery, method == HttpMethod.Post ? Batch(Event(host.Now)) : null, "Bearer nope");

        answer.Status.Should().Be(403);
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task PostUsageEvent_LowerCaseBearerScheme_IsAccepted()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.SendAsync(HttpMethod.Post, TestEmulator.EventPath, Event(host.Now), "bearer " + TestEmulator.Token);

        answer.Status.Should().Be(200);
    }

    [Fact]
    public async Task ApiRoute_RequestIdsSent_AreEchoed()
    {
        await using var host = await TestEmulator.StartAsync();
        var headers = new Dictionary<string, string> { ["x-ms-requestid"] = "req-123", ["x-ms-correlationid"] = "corr-456" };

        var answer = await host.SendAsync(HttpMethod.Post, TestEmulator.EventPath, Event(host.Now), headers: headers);

        answer.Header("x-ms-requestid").Should().Be("req-123");
        answer.Header("x-ms-correlationid").Should().Be("corr-456");
    }

    [Theory]
    [InlineData("Bearer " + TestEmulator.Token)]
    [InlineData(null)]
    public async Task ApiRoute_NoRequestIdsSent_AnswersOneNewGuidAsBothIds(string? authorization)
    {
        await using var host = await TestEmulator.StartAsync();

        var first = await host.SendAsync(HttpMethod.Post, TestEmulator.EventPath, Event(host.Now), authorization);
        var second = await host.SendAsync(HttpMethod.Post, TestEmulator.EventPath, Event(host.Now, dimension: "dim2"), authorization);

        // As recorded from the real service (Recordings/*.json): one made-up GUID in both headers.
        Guid.TryParse(first.Header("x-ms-requestid"), out _).Should().BeTrue();
        first.Header("x-ms-correlationid").Should().Be(first.Header("x-ms-requestid"));
        second.Header("x-ms-correlationid").Should().Be(second.Header("x-ms-requestid"));
        second.Header("x-ms-requestid").Should().NotBe(first.Header("x-ms-requestid"), "each request gets its own id");
        first.ContentType.Should().StartWith("application/json");
    }

    [Fact]
    public async Task ApiRoute_OnlyRequestIdSent_EchoesItAsBothIds()
    {
        await using var host = await TestEmulator.StartAsync();
        var headers = new Dictionary<string, string> { ["x-ms-requestid"] = "req-only" };

        var answer = await host.SendAsync(HttpMethod.Post, TestEmulator.EventPath, Event(host.Now), headers: headers);

        answer.Header("x-ms-requestid").Should().Be("req-only");
        answer.Header("x-ms-correlationid").Should().Be("req-only");
    }

    [Theory]
    [InlineData("x-ms-requestid")]
    [InlineData("x-ms-correlationid")]
    public async Task ApiRoute_RequestIdAnAnswerCannotCarry_AnswersWithAMadeUpIdInsteadOfAnEmpty500(string header)
    {
        await using var host = await TestEmulator.StartAsync();
        // A client that sends its headers as UTF-8 (HttpClient does when told to), with a trace name in the id.
        using var handler = new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => System.Text.Encoding.UTF8 };
        using var http = new HttpClient(handler) { BaseAddress = host.Emulator.Endpoint };
        using var request = new HttpRequestMessage(HttpMethod.Post, TestEmulator.EventPath)
        {
            Content = new StringContent(Event(host.Now), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + TestEmulator.Token);
        request.Headers.TryAddWithoutValidation(header, "café-42");

        using var response = await http.SendAsync(request);
        var answer = await ApiAnswer.ReadAsync(response);

        // The event is recorded either way: answering it with an empty 500 made the client think it failed.
        answer.Status.Should().Be(200);
        Guid.TryParse(answer.Header(header), out _).Should().BeTrue("an id the answer cannot carry is treated as not sent");
        host.Emulator.Ledger.Count.Should().Be(1);
        host.Emulator.Requests.Single().ResponseStatus.Should().Be(200);
    }

    [Fact]
    public async Task ApiRoute_OnlyCorrelationIdSent_EchoesItWithANewRequestId()
    {
        await using var host = await TestEmulator.StartAsync();
        var headers = new Dictionary<string, string> { ["x-ms-correlationid"] = "corr-only" };

        var answer = await host.SendAsync(HttpMethod.Post, TestEmulator.EventPath, Event(host.Now), headers: headers);

        answer.Header("x-ms-correlationid").Should().Be("corr-only");
        Guid.TryParse(answer.Header("x-ms-requestid"), out _).Should().BeTrue("a request id is unique per request, so it is made up");
    }

    [Fact]
    public async Task ApiRoute_Unknown_Returns404JsonAndWrongMethodReturns405()
    {
        await using var host = await TestEmulator.StartAsync();

        var unknown = await host.SendAsync(HttpMethod.Post, "api/somethingElse?api-version=2018-08-31", "{}");
        var wrongMethod = await host.SendAsync(HttpMethod.Get, TestEmulator.EventPath, null);

        unknown.Status.Should().Be(404);
        unknown.Json.GetProperty("code").GetString().Should().Be("NotFound");
        wrongMethod.Status.Should().Be(405);
        wrongMethod.Json.GetProperty("code").GetString().Should().Be("MethodNotAllowed");
    }

    [Fact]
    public async Task Requests_AfterSeveralCalls_RecordsEachInArrivalOrderWithWhatWasSent()
    {
        await using var host = await TestEmulator.StartAsync();
        var body = Event(host.Now);
        await host.SendAsync(HttpMethod.Post, TestEmulator.EventPath, body, headers: new Dictionary<string, string> { ["x-ms-requestid"] = "r1" });
        await host.SendAsync(HttpMethod.Post, TestEmulator.EventPath, body, authorization: null);
        await host.GetUsageAsync("&usageStartDate=2026-11-20");

        var requests = host.Emulator.Requests;

        requests.Should().HaveCount(3);
        requests[0].Method.Should().Be("POST");
        requests[0].Path.Should().Be("/api/usageEvent");
        requests[0].QueryString.Should().Be("?api-version=2018-08-31");
        requests[0].Body.Should().Be(body);
        requests[0].Headers["X-MS-REQUESTID"].Should().Be("r1");
        requests[0].Headers["authorization"].Should().Be("Bearer " + TestEmulator.Token);
        requests[0].ReceivedAt.Should().Be(host.Now);
        requests[0].ResponseStatus.Should().Be(200);
        requests[1].ResponseStatus.Should().Be(403);
        requests[1].Headers.ContainsKey("Authorization").Should().BeFalse();
        requests[2].Method.Should().Be("GET");
        requests[2].Path.Should().Be("/api/usageEvents");
        requests[2].ResponseStatus.Should().Be(200);
    }

    [Fact]
    public async Task ClearRequests_AfterCalls_EmptiesTheLogButNotTheLedger()
    {
        await using var host = await TestEmulator.StartAsync();
        await host.PostEventAsync(Event(host.Now));

        host.Emulator.ClearRequests();

        host.Emulator.Requests.Should().BeEmpty();
        host.Emulator.Ledger.Count.Should().Be(1);
        await host.PostEventAsync(Event(host.Now, dimension: "dim2"));
        host.Emulator.Requests.Should().ContainSingle();
    }

    [Theory]
    [InlineData(3)]
    [InlineData(16)]
    public async Task Requests_MoreThanMaxRecordedRequests_KeepsOnlyTheLatestButBillsEveryOne(int max)
    {
        // An emulator left running (a demo, a throughput run) must not keep every request's headers and body forever.
        await using var host = await TestEmulator.StartAsync(o => o.MaxRecordedRequests = max);
        var sent = 3 * max;
        for (var i = 0; i < sent; i++)
        {
            (await host.PostEventAsync(Event(host.Now, dimension: "dim" + i))).Status.Should().Be(200);
        }

        var kept = host.Emulator.Requests;

        kept.Should().HaveCount(max);
        kept.Select(r => r.Body).Should().Equal(
            Enumerable.Range(sent - max, max).Select(i => Event(host.Now, dimension: "dim" + i)),
            "the latest requests are kept, in arrival order");
        host.Emulator.Ledger.Count.Should().Be(sent, "only the request log is trimmed, never what was billed");
    }

    [Fact]
    public async Task Requests_MaxRecordedRequestsZero_KeepsNoneAndStillBills()
    {
        await using var host = await TestEmulator.StartAsync(o => o.MaxRecordedRequests = 0);
        await host.PostEventAsync(Event(host.Now));

        host.Emulator.Requests.Should().BeEmpty();
        host.Emulator.Ledger.Count.Should().Be(1);
    }

    [Fact]
    public async Task Ledger_Clear_ForgetsEventsSoTheSameHourIsAcceptedAgain()
    {
        await using var host = await TestEmulator.StartAsync();
        await host.PostEventAsync(Event(host.Now));

        host.Emulator.Ledger.Clear();

        host.Emulator.Ledger.Entries.Should().BeEmpty();
        (await host.PostEventAsync(Event(host.Now))).Status.Should().Be(200);
    }

    [Fact]
    public async Task NonApiPath_Returns404AndIsNotRecorded()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.SendAsync(HttpMethod.Get, "index.html", null);

        answer.Status.Should().Be(404);
        host.Emulator.Requests.Should().BeEmpty();
    }
}
