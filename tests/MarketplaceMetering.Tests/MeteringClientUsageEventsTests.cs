using System.Text.Json;
using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MarketplaceMetering.Tests;

/// <summary>
/// <see cref="MeteringClient.GetUsageEventsAsync"/>: what it sends (usageStartDate, UsageEndDate with its capital U,
/// the filters), that its rows follow what the emulator recorded, and that every malformed answer is a
/// <see cref="MeteringException"/> naming the row and field, never a raw JSON or null-reference exception.
/// </summary>
public class MeteringClientUsageEventsTests
{
    private static readonly Guid Other = Guid.Parse("6f1a2b3c-0000-4000-8000-000000000002");

    // 00:30 UTC: the past 24 hours span two UTC days.
    private static TestClock HalfPastMidnight() => new(new DateTimeOffset(2026, 11, 20, 0, 30, 0, TimeSpan.Zero));

    [Fact]
    public async Task GetUsageEventsAsync_AfterSubmissions_RowsSumWhatTheEmulatorRecordedPerResourceDimensionAndDay()
    {
        await using var h = await Harness.StartAsync(clock: HalfPastMidnight());
        var now = h.Clock.GetUtcNow();
        var sent = new[]
        {
            TestEvents.At(now.AddHours(-3), 1.5m),                      // Nov 19, dim1
            TestEvents.At(now.AddHours(-2), 2.25m),                     // Nov 19, dim1
            TestEvents.At(now.AddHours(-2), 7m, dimension: "dim2"),     // Nov 19, dim2
            TestEvents.At(now.AddMinutes(-20), 4m),                     // Nov 20, dim1
            TestEvents.At(now.AddHours(-5), 9m, resource: Other),       // Nov 19, other resource
        };
        var bulk = await h.Client.SubmitUsageEventsAsync(sent);
        bulk.Summary.AllDelivered.Should().BeTrue();

        var rows = await h.Client.GetUsageEventsAsync(new UsageEventQuery(now.AddDays(-2)));

        var expected = h.Emulator.Ledger.Entries
            .GroupBy(e => (e.ResourceId, e.Dimension, Day: e.EffectiveStartTime.UtcDateTime.Date))
            .Select(g => (g.Key.ResourceId, g.Key.Dimension, g.Key.Day, Quantity: g.Sum(e => e.Quantity), Count: g.Count()))
            .ToList();
        expected.Should().HaveCount(4);
        rows.Select(r => (r.UsageResourceId, r.Dimension, r.UsageDate.UtcDateTime.Date, r.SubmittedQuantity, r.SubmittedCount!.Value))
            .Should().BeEquivalentTo(expected);
        rows.Should().OnlyContain(r => r.ReconStatus == ReconStatus.Accepted && r.ProcessedQuantity == r.SubmittedQuantity && r.PlanId == TestEvents.Plan);
        rows.Single(r => r.UsageResourceId == TestEvents.Resource && r.Dimension == "dim1" && r.UsageDate.Day == 19).SubmittedQuantity.Should().Be(3.75m);
    }

    [Fact]
    public async Task GetUsageEventsAsync_WithEndAndFilters_SendsUsageEndDateWithCapitalUAndEveryFilter()
    {
        await using var h = await Harness.StartAsync();
        var subscription = Guid.Parse("0f0e0d0c-0b0a-0908-0706-050403020100");
        var query = new UsageEventQuery(new DateTimeOffset(2026, 11, 18, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero))
        {
            OfferId = "offer 1",
            PlanId = "plan1",
            Dimension = "dim&1",
            AzureSubscriptionId = subscription,
            ReconStatus = ReconStatus.Accepted,
        };

        await h.Client.GetUsageEventsAsync(query);

        var request = h.Emulator.Requests.Should().ContainSingle().Subject;
        request.Method.Should().Be("GET");
        request.Path.Should().Be("/api/usageEvents");
        var parameters = request.QueryString.TrimStart('?').Split('&')
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => p[0], p => Uri.UnescapeDataString(p[1]), StringComparer.Ordinal);
        parameters.Should().Equal(new Dictionary<string, string>
        {
            ["api-version"] = "2018-08-31",
            ["usageStartDate"] = "2026-11-18T00:00:00Z",
            ["UsageEndDate"] = "2026-11-21T00:00:00Z",
            ["offerId"] = "offer 1",
            ["planId"] = "plan1",
            ["dimension"] = "dim&1",
            ["azureSubscriptionId"] = subscription.ToString("D"),
            ["reconStatus"] = "Accepted",
        });
        request.Headers["Authorization"].Should().StartWith("Bearer ");
    }

    [Fact]
    public async Task GetUsageEventsAsync_NoEndOrFilters_SendsOnlyTheStart()
    {
        await using var h = await Harness.StartAsync();

        await h.Client.GetUsageEventsAsync(new UsageEventQuery(new DateTimeOffset(2026, 11, 18, 12, 0, 0, TimeSpan.FromHours(2))));

        h.Emulator.Requests.Single().QueryString.Should().Be("?api-version=2018-08-31&usageStartDate=2026-11-18T10%3A00%3A00Z");
    }

    [Fact]
    public async Task GetUsageEventsAsync_DimensionFilter_ReturnsOnlyThatDimension()
    {
        await using var h = await Harness.StartAsync();
        await h.Client.SubmitUsageEventsAsync([h.HourAgo(1m), h.HourAgo(2m, dimension: "dim2")]);

        var rows = await h.Client.GetUsageEventsAsync(new UsageEventQuery(h.Clock.GetUtcNow().AddDays(-1)) { Dimension = "dim2" });

        rows.Should().ContainSingle().Which.SubmittedQuantity.Should().Be(2m);
    }

    [Theory]
    [InlineData("OfferId", "")]
    [InlineData("PlanId", " ")]
    [InlineData("Dimension", "")]
    [InlineData("ReconStatus", "")]
    public async Task GetUsageEventsAsync_EmptyFilter_ThrowsArgumentExceptionAndSendsNothing(string property, string value)
    {
        // Left out of the query string, an empty filter would list every offer, plan, dimension or status: a caller
        // whose setting was unset ("") would read, and maybe reconcile, another listing than the one asked for.
        await using var h = await Harness.StartAsync();
        var query = new UsageEventQuery(h.Clock.GetUtcNow().AddDays(-1));
        switch (property)
        {
            case "OfferId": query.OfferId = value; break;
            case "PlanId": query.PlanId = value; break;
            case "Dimension": query.Dimension = value; break;
            default: query.ReconStatus = new ReconStatus(value); break;
        }

        var act = () => h.Client.GetUsageEventsAsync(query);

        var thrown = (await act.Should().ThrowExactlyAsync<ArgumentException>()).Which;
        thrown.Message.Should().StartWith("query." + property + " is empty");
        thrown.ParamName.Should().Be("query");
        h.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task GetUsageEventsAsync_EndBeforeStart_ThrowsArgumentExceptionAndSendsNothing()
    {
        await using var h = await Harness.StartAsync();
        var start = h.Clock.GetUtcNow();

        var act = () => h.Client.GetUsageEventsAsync(new UsageEventQuery(start, start.AddDays(-1)));

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("UsageEndDate").And.Contain("before");
        h.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task GetUsageEventsAsync_StartNotSet_ThrowsArgumentExceptionAndSendsNothing()
    {
        await using var h = await Harness.StartAsync();

        var act = () => h.Client.GetUsageEventsAsync(new UsageEventQuery(default));

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("UsageStartDate is required");
        h.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task GetUsageEventsAsync_NullQuery_ThrowsArgumentNullException()
    {
        await using var h = await Harness.StartAsync();

        var act = () => h.Client.GetUsageEventsAsync(null!);

        (await act.Should().ThrowAsync<ArgumentNullException>()).Which.ParamName.Should().Be("query");
    }

    public static TheoryData<string, string, string> MalformedAnswers => new()
    {
        { "truncated JSON", """[{"usageDate":"2026-11-19T00:00:00Z","usageResourceId":""", "not JSON" },
        { "object instead of array", """{"value":[]}""", "an object, not a list of rows" },
        { "null instead of array", "null", "null, not a list of rows" },
        { "empty body", string.Empty, "the body is empty" },
        { "null row", "[null]", "row 0 is null, not an object" },
        { "number row", """[42]""", "row 0 is a number" },
        { "dimension is a number", Row("\"dimension\":7"), "row 0's dimension is a number, not text" },
        { "dimension is half a surrogate pair", Row("\"dimension\":\"dim\\uD800\""), "row 0's dimension is not valid text" },
        { "plan id is a lone low surrogate", Row("\"planId\":\"\\uDC00plan\""), "row 0's planId is not valid text" },
        { "quantity is text", Row("\"submittedQuantity\":\"five\""), "row 0's submittedQuantity is text, not a number" },
        { "quantity is negative", Row("\"submittedQuantity\":-1"), "row 0's submittedQuantity is not a quantity" },
        { "resource id is null", Row("\"usageResourceId\":null"), "row 0 has no usageResourceId" },
        { "resource id is not a GUID", Row("\"usageResourceId\":\"abc\""), "row 0's usageResourceId is not a GUID" },
        { "usage date is not a time", Row("\"usageDate\":\"yesterday\""), "row 0's usageDate is not a time" },
        { "usage date is a time with no date", Row("\"usageDate\":\"00:00:00\""), "row 0's usageDate is not a time" },
        { "submitted count is text", Row("\"submittedCount\":\"3\""), "row 0's submittedCount is text, not a number" },
        { "recon status is an object", Row("\"reconStatus\":{\"v\":1}"), "row 0's reconStatus is an object, not text" },
        { "quantity twice, the second larger", Row("\"submittedQuantity\":5.0,\"submittedQuantity\":500.0"), "row 0 has submittedQuantity twice" },
        { "resource twice, in another case", Row("\"usageResourceId\":\"6f1a2b3c-0000-4000-8000-000000000001\",\"UsageResourceId\":\"6f1a2b3c-0000-4000-8000-000000000002\""), "row 0 has usageResourceId twice" },
        { "the same row twice, in another case", "[" + GoodRow() + "," + GoodRow().Replace("\"dim1\"", "\"DIM1\"", StringComparison.Ordinal) + "]", "rows 0 and 1 are both for resource 6f1a2b3c-0000-4000-8000-000000000001, dimension 'DIM1', plan 'plan1' on 2026-11-19 (Accepted)" },
        { "second row bad", "[" + GoodRow() + "," + GoodRow().Replace("\"dim1\"", "null", StringComparison.Ordinal) + "]", "row 1 has no dimension" },
    };

    [Theory]
    [MemberData(nameof(MalformedAnswers))]
    public async Task GetUsageEventsAsync_MalformedAnswer_ThrowsMeteringExceptionNamingTheProblem(string what, string body, string problem)
    {
        using var server = Canned(200, body);
        using var client = server.ClientWithoutRetries();

        var act = () => client.GetUsageEventsAsync(new UsageEventQuery(TestClock.DefaultStart.AddDays(-1)));

        var thrown = (await act.Should().ThrowExactlyAsync<MeteringException>(what)).Which;
        thrown.Message.Should().Contain(problem).And.Contain("GET /api/usageEvents");
        thrown.StatusCode.Should().Be(200);
        thrown.IsRetryable.Should().BeFalse();
        thrown.InnerException.Should().BeNull();
    }

    public static TheoryData<string, string> RowsNotAskedFor => new()
    {
        { "Dimension", "row 0 is for dimension 'dim1', not the 'dim2' asked for" },
        { "PlanId", "row 0 is for planId 'plan1', not the 'gold' asked for" },
        { "OfferId", "row 0 is for offerId 'o', not the 'other-offer' asked for" },
        { "AzureSubscriptionId", "row 0 is for azureSubscriptionId '0f0e0d0c-0b0a-0908-0706-050403020100', not the '00000000-0000-4000-8000-0000000000aa' asked for" },
        { "ReconStatus", "row 0 is for reconStatus 'Accepted', not the 'Rejected' asked for" },
    };

    [Theory]
    [MemberData(nameof(RowsNotAskedFor))]
    public async Task GetUsageEventsAsync_RowForAnotherFilterValueThanAsked_ThrowsMeteringExceptionNamingIt(string filter, string problem)
    {
        // A service (or a proxy) that ignores or mixes up the filter: listed, the dim1 row would be read as dim2's usage.
        using var server = Canned(200, "[" + GoodRow() + "]");
        using var client = server.ClientWithoutRetries();
        var query = new UsageEventQuery(TestClock.DefaultStart.AddDays(-1));
        switch (filter)
        {
            case "Dimension": query.Dimension = "dim2"; break;
            case "PlanId": query.PlanId = "gold"; break;
            case "OfferId": query.OfferId = "other-offer"; break;
            case "AzureSubscriptionId": query.AzureSubscriptionId = Guid.Parse("00000000-0000-4000-8000-0000000000aa"); break;
            default: query.ReconStatus = ReconStatus.Rejected; break;
        }

        var act = () => client.GetUsageEventsAsync(query);

        var thrown = (await act.Should().ThrowExactlyAsync<MeteringException>()).Which;
        thrown.Message.Should().Contain(problem);
        thrown.IsRetryable.Should().BeFalse();
    }

    [Fact]
    public async Task GetUsageEventsAsync_OneResourceDimensionAndDayUnderTwoPlansOrStatuses_ReadsEveryRow()
    {
        var body = "[" + GoodRow() + "," + GoodRow().Replace("\"plan1\"", "\"plan2\"", StringComparison.Ordinal) + "," + GoodRow().Replace("\"Accepted\"", "\"Rejected\"", StringComparison.Ordinal) + "]";
        using var server = Canned(200, body);
        using var client = server.ClientWithoutRetries();

        var rows = await client.GetUsageEventsAsync(new UsageEventQuery(TestClock.DefaultStart.AddDays(-1)));

        rows.Should().HaveCount(3);
    }

    [Fact]
    public async Task GetUsageEventsAsync_RowMatchingTheFiltersInAnotherCaseOrWithoutTheField_IsRead()
    {
        var row = GoodRow().Replace("\"dim1\"", "\"DIM1\"", StringComparison.Ordinal).Replace("\"planId\":\"plan1\",", string.Empty, StringComparison.Ordinal);
        using var server = Canned(200, "[" + row + "]");
        using var client = server.ClientWithoutRetries();

        var rows = await client.GetUsageEventsAsync(new UsageEventQuery(TestClock.DefaultStart.AddDays(-1)) { Dimension = "dim1", PlanId = "plan1", ReconStatus = "accepted" });

        rows.Should().ContainSingle().Which.Dimension.Should().Be("DIM1");
    }

    [Fact]
    public async Task GetUsageEventsAsync_OddButValidRow_ReadsUnknownReconStatusLongDoublesAndMissingOptionals()
    {
        var body = """[{"usageDate":"2026-11-19T00:00:00","usageResourceId":"6f1a2b3c-0000-4000-8000-000000000001","dimension":"dim1","reconStatus":"Frobnicated","submittedQuantity":9.1234567890123461,"processedQuantity":null,"extra":{"x":[1]}}]""";
        using var server = Canned(200, body);
        using var client = server.ClientWithoutRetries();

        var rows = await client.GetUsageEventsAsync(new UsageEventQuery(TestClock.DefaultStart.AddDays(-1)));

        var row = rows.Should().ContainSingle().Subject;
        row.ReconStatus.ToString().Should().Be("Frobnicated");
        row.ReconStatus.IsKnown.Should().BeFalse();
        row.SubmittedQuantity.Should().Be(9.123456789012346m);
        row.ProcessedQuantity.Should().BeNull();
        row.PlanId.Should().BeNull();
        row.SubmittedCount.Should().BeNull();
        row.UsageDate.Should().Be(new DateTimeOffset(2026, 11, 19, 0, 0, 0, TimeSpan.Zero));
    }

    [Theory]
    [InlineData("7.922816251426434E+28")]
    [InlineData("79228162514264337593543950335")]
    public async Task GetUsageEventsAsync_TotalThatIsTheLargestDecimalsDouble_ReadsAsTheLargestDecimal(string total)
    {
        // The service holds doubles: the largest decimal is held as 2^96, just past a decimal, and a day's total can be it.
        using var server = Canned(200, Row("\"submittedQuantity\":" + total));
        using var client = server.ClientWithoutRetries();

        var rows = await client.GetUsageEventsAsync(new UsageEventQuery(TestClock.DefaultStart.AddDays(-1)));

        rows.Should().ContainSingle().Which.SubmittedQuantity.Should().Be(decimal.MaxValue);
    }

    [Fact]
    public async Task GetUsageEventsAsync_EmulatorDayOverTheLargestDecimal_ReadsTheTotalItReports()
    {
        // Two hours of a quantity just under the largest decimal: the emulator reports the day as the largest decimal,
        // written in full, which reads as 2^96; the client refused the whole report (metering usage exited 1).
        await using var h = await Harness.StartAsync(clock: HalfPastMidnight());
        var now = h.Clock.GetUtcNow();
        const decimal Big = 79228162514264328000000000000m;
        var bulk = await h.Client.SubmitUsageEventsAsync([TestEvents.At(now.AddHours(-3), Big), TestEvents.At(now.AddHours(-2), Big)]);
        bulk.Summary.AllDelivered.Should().BeTrue();

        var rows = await h.Client.GetUsageEventsAsync(new UsageEventQuery(now.AddDays(-2)));

        var row = rows.Should().ContainSingle().Subject;
        row.SubmittedQuantity.Should().Be(decimal.MaxValue);
        row.SubmittedCount.Should().Be(2);
    }

    [Fact]
    public async Task GetUsageEventsAsync_TotalPastADecimal_ThrowsMeteringExceptionSayingSo()
    {
        using var server = Canned(200, Row("\"submittedQuantity\":1E+30"));
        using var client = server.ClientWithoutRetries();

        var act = () => client.GetUsageEventsAsync(new UsageEventQuery(TestClock.DefaultStart.AddDays(-1)));

        (await act.Should().ThrowExactlyAsync<MeteringException>()).Which.Message.Should()
            .Contain("row 0's submittedQuantity is 1E+30, more than this client can hold (a decimal, at most 79228162514264337593543950335)");
    }

    [Theory]
    [InlineData("2026-11-19")]
    [InlineData("2026-11-19T00:00:00Z")]
    public async Task GetUsageEventsAsync_UsageDateAsADayOrATime_IsThatDaysMidnightUtc(string usageDate)
    {
        using var server = Canned(200, "[" + GoodRow().Replace("\"2026-11-19T00:00:00Z\"", "\"" + usageDate + "\"", StringComparison.Ordinal) + "]");
        using var client = server.ClientWithoutRetries();

        var rows = await client.GetUsageEventsAsync(new UsageEventQuery(TestClock.DefaultStart.AddDays(-1)));

        rows.Should().ContainSingle().Which.UsageDate.Should().Be(new DateTimeOffset(2026, 11, 19, 0, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public async Task GetUsageEventsAsync_EmptyArray_ReturnsNoRows()
    {
        using var server = Canned(200, "[]");
        using var client = server.ClientWithoutRetries();

        var rows = await client.GetUsageEventsAsync(new UsageEventQuery(TestClock.DefaultStart.AddDays(-1)));

        rows.Should().BeEmpty();
    }

    [Fact]
    public async Task GetUsageEventsAsync_Service400_ThrowsMeteringExceptionQuotingTheService()
    {
        using var server = Canned(400, """{"code":"BadArgument","message":"The usageStartDate query parameter is not a valid date."}""");
        using var client = server.ClientWithoutRetries();

        var act = () => client.GetUsageEventsAsync(new UsageEventQuery(TestClock.DefaultStart));

        var thrown = (await act.Should().ThrowExactlyAsync<MeteringException>()).Which;
        thrown.StatusCode.Should().Be(400);
        thrown.ErrorCode.Should().Be("BadArgument");
        thrown.Message.Should().Contain("not a valid date");
    }

    [Fact]
    public async Task GetUsageEventsAsync_Service403_ThrowsMeteringAuthorizationException()
    {
        using var server = Canned(403, """{"message":"Client is not authorized for this usage resource.","code":"Forbidden"}""");
        using var client = server.ClientWithoutRetries();

        var act = () => client.GetUsageEventsAsync(new UsageEventQuery(TestClock.DefaultStart));

        (await act.Should().ThrowAsync<MeteringAuthorizationException>()).Which.StatusCode.Should().Be(403);
    }

    [Theory]
    [InlineData(403)]
    [InlineData(400)]
    public async Task GetUsageEventsAsync_ServiceMessageWithTerminalEscapes_ExceptionMessageHasNoControlCharacter(int status)
    {
        // A message is quoted into the exception, which lands in logs and on consoles: an ESC sequence would clear a
        // screen or retitle a terminal, a NUL or BEL would reach the log as it came.
        using var server = Canned(status, """{"message":"Denied\u001b]0;pwned\u0007\u001b[2J\u0000 \r\nforged line","code":"Forbidden\u001b[31m"}""");
        using var client = server.ClientWithoutRetries();

        var act = () => client.GetUsageEventsAsync(new UsageEventQuery(TestClock.DefaultStart));

        var thrown = (await act.Should().ThrowAsync<MeteringException>()).Which;
        thrown.Message.Should().Contain("Denied").And.Contain("forged line");
        thrown.Message.Where(char.IsControl).Should().BeEmpty();
    }

    [Fact]
    public async Task GetUsageEventsAsync_ServerErrorThenRows_RetriesTheGet()
    {
        await using var h = await Harness.StartAsync();
        await h.Client.SubmitUsageEventAsync(h.HourAgo());
        h.Emulator.ClearRequests();
        h.Emulator.Faults.Enqueue(EmulatorFault.ServerError(503));

        var rows = await h.Client.GetUsageEventsAsync(new UsageEventQuery(h.Clock.GetUtcNow().AddDays(-1)));

        rows.Should().ContainSingle();
        h.Emulator.Requests.Select(r => r.ResponseStatus).Should().Equal(503, 200);
    }

    [Fact]
    public async Task GetUsageEventsAsync_AnswerLargerThanOneMebibyte_IsRead()
    {
        var row = GoodRow();
        var count = (2 * 1024 * 1024 / row.Length) + 1;
        var body = "[" + string.Join(",", Enumerable.Range(0, count).Select(i => row.Replace("6f1a2b3c-0000-4000-8000-000000000001", Guid.NewGuid().ToString("D"), StringComparison.Ordinal))) + "]";
        using var server = Canned(200, body);
        using var client = server.ClientWithoutRetries();

        var rows = await client.GetUsageEventsAsync(new UsageEventQuery(TestClock.DefaultStart.AddDays(-1)));

        rows.Count.Should().BeGreaterThan(2 * 1024 * 1024 / row.Length);
    }

    private static string GoodRow() =>
        """{"usageDate":"2026-11-19T00:00:00Z","usageResourceId":"6f1a2b3c-0000-4000-8000-000000000001","dimension":"dim1","planId":"plan1","planName":"","offerId":"o","offerName":"","offerType":"SaaS","azureSubscriptionId":"0f0e0d0c-0b0a-0908-0706-050403020100","reconStatus":"Accepted","submittedQuantity":5.0,"processedQuantity":5.0,"submittedCount":1}""";

    /// <summary>A good row with one field replaced (<c>"name":value</c>).</summary>
    private static string Row(string replacement)
    {
        var name = replacement[..(replacement.IndexOf(':', StringComparison.Ordinal) + 1)];
        using var document = JsonDocument.Parse(GoodRow());
        var fields = document.RootElement.EnumerateObject()
            .Select(p => p.Name == name.Trim('"', ':') ? replacement : "\"" + p.Name + "\":" + p.Value.GetRawText());
        return "[{" + string.Join(",", fields) + "}]";
    }

    private static WireMockServer Canned(int status, string body)
    {
        var server = WireMockLoopback.Start();
        server.Given(Request.Create().WithPath("/api/usageEvents").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body));
        return server;
    }
}
