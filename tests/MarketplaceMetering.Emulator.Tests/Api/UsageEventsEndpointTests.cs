using System.Text.Json;
using MarketplaceMetering.Emulator.Tests.TestSupport;
using static MarketplaceMetering.Emulator.Tests.TestSupport.EventJson;

namespace MarketplaceMetering.Emulator.Tests.Api;

public sealed class UsageEventsEndpointTests
{
    private static readonly DateTimeOffset Day1 = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task GetUsageEvents_EventsOverSeveralHoursAndDays_SumsPerResourceDimensionAndDay()
    {
        await using var host = await SeededAsync();

        var answer = await host.GetUsageAsync("&usageStartDate=2026-11-20");

        answer.Status.Should().Be(200);
        answer.Json.ValueKind.Should().Be(JsonValueKind.Array);
        var rows = Rows(answer);
        rows.Should().BeEquivalentTo(
        [
            new Row("2026-11-20T00:00:00Z", ResourceA, "dim1", 5.5m, 2),
            new Row("2026-11-20T00:00:00Z", ResourceA, "dim2", 1m, 1),
            new Row("2026-11-20T00:00:00Z", ResourceB, "dim1", 10m, 1),
            new Row("2026-11-21T00:00:00Z", ResourceA, "dim1", 4m, 1),
        ]);
        var first = answer.Json[0];
        first.GetProperty("reconStatus").GetString().Should().Be("Accepted");
        first.GetProperty("processedQuantity").GetDecimal().Should().Be(first.GetProperty("submittedQuantity").GetDecimal());
        first.GetProperty("offerType").GetString().Should().Be("SaaS");
        first.GetProperty("planId").GetString().Should().Be("plan1");
        first.GetProperty("offerId").GetString().Should().Be("emulated-offer");
    }

    [Fact]
    public async Task GetUsageEvents_EndDate_IsExclusiveAndStartInclusive()
    {
        await using var host = await SeededAsync();

        var answer = await host.GetUsageAsync("&usageStartDate=2026-11-21T00:00:00Z&UsageEndDate=2026-11-22");
        var beforeDay2 = await host.GetUsageAsync("&usageStartDate=2026-11-20&UsageEndDate=2026-11-21");

        Rows(answer).Should().ContainSingle().Which.UsageDate.Should().Be("2026-11-21T00:00:00Z");
        Rows(beforeDay2).Should().HaveCount(3).And.OnlyContain(r => r.UsageDate == "2026-11-20T00:00:00Z");
    }

    [Theory]
    [InlineData("&dimension=DIM2", 1)]
    [InlineData("&planId=plan1", 4)]
    [InlineData("&planId=plan2", 0)]
    [InlineData("&offerId=emulated-offer", 4)]
    [InlineData("&offerId=other", 0)]
    [InlineData("&reconStatus=Accepted", 4)]
    [InlineData("&reconStatus=Rejected", 0)]
    [InlineData("&azureSubscriptionId=11111111-2222-3333-4444-555555555555", 0)]
    public async Task GetUsageEvents_Filter_KeepsOnlyMatchingRows(string filter, int expectedRows)
    {
        await using var host = await SeededAsync();

        var answer = await host.GetUsageAsync("&usageStartDate=2026-11-20" + filter);

        answer.Status.Should().Be(200);
        Rows(answer).Should().HaveCount(expectedRows);
    }

    [Fact]
    public async Task GetUsageEvents_CatalogueResource_ReportsOfferPlanAndSubscription()
    {
        var azureSubscription = Guid.Parse("11111111-2222-3333-4444-555555555555");
        await using var host = await TestEmulator.StartAsync(options => options.Resources.Add(new EmulatedResource
        {
            ResourceId = ResourceB,
            ResourceUri = AppUri,
            PlanId = "gold",
            PlanName = "Gold plan",
            OfferId = "contoso-offer",
            OfferName = "Contoso",
            Dimensions = ["cpu"],
        }));
        (await host.PostEventAsync(Event(host.Now, resourceUri: AppUri, planId: "gold", dimension: "cpu", quantity: "2"))).Status.Should().Be(200);

        var answer = await host.GetUsageAsync($"&usageStartDate=2026-11-20&azureSubscriptionId={azureSubscription}&offerId=contoso-offer");

        var row = answer.Json.EnumerateArray().Should().ContainSingle().Subject;
        row.GetProperty("usageResourceId").GetGuid().Should().Be(ResourceB);
        row.GetProperty("planName").GetString().Should().Be("Gold plan");
        row.GetProperty("offerName").GetString().Should().Be("Contoso");
        row.GetProperty("offerType").GetString().Should().Be("ManagedApplication");
        row.GetProperty("azureSubscriptionId").GetGuid().Should().Be(azureSubscription);
    }

    [Fact]
    public async Task GetUsageEvents_OneDaysUsageUnderTwoPlans_IsOneRowForTheResourceDimensionAndDay()
    {
        // The service reports one row per resource, dimension and day; an open catalogue takes any plan, so a
        // subscription whose plan changed during the day sends usage under both.
        await using var host = await TestEmulator.StartAsync();
        host.Time.SetUtcNow(Day1.AddHours(11));
        await Accept(host, Event(Day1.AddHours(8), planId: "silver", quantity: "2"));
        await Accept(host, Event(Day1.AddHours(10), planId: "gold", quantity: "3"));
        await Accept(host, Event(Day1.AddHours(9), planId: "silver", dimension: "dim2", quantity: "1"));

        var answer = await host.GetUsageAsync("&usageStartDate=2026-11-20");

        Rows(answer).Should().BeEquivalentTo(
        [
            new Row("2026-11-20T00:00:00Z", ResourceA, "dim1", 5m, 2),
            new Row("2026-11-20T00:00:00Z", ResourceA, "dim2", 1m, 1),
        ]);
        answer.Json.EnumerateArray().Select(r => r.GetProperty("planId").GetString()).Should().Equal(["gold", "silver"], "a row names the plan of its latest usage");
    }

    [Fact]
    public async Task GetUsageEvents_PlanIdSentInOtherLetterCase_IsOneRowForTheResourceDimensionAndDay()
    {
        await using var host = await TestEmulator.StartAsync(options => options.Resources.Add(new EmulatedResource
        {
            ResourceId = ResourceA,
            PlanId = "gold",
            Dimensions = ["cpu"],
        }));
        host.Time.SetUtcNow(Day1.AddHours(11));

        // The catalogue takes the plan id in any case, so both are accepted for the same plan.
        await Accept(host, Event(Day1.AddHours(8), planId: "GOLD", dimension: "cpu", quantity: "2"));
        await Accept(host, Event(Day1.AddHours(9), planId: "gold", dimension: "cpu", quantity: "3"));
        var answer = await host.GetUsageAsync("&usageStartDate=2026-11-20");

        Rows(answer).Should().BeEquivalentTo([new Row("2026-11-20T00:00:00Z", ResourceA, "cpu", 5m, 2)]);
        answer.Json[0].GetProperty("planId").GetString().Should().Be("gold", "the row names the catalogue's plan");
    }

    [Fact]
    public async Task GetUsageEvents_DayTotalBeyondDecimalRange_AnswersRowsNotA500()
    {
        await using var host = await TestEmulator.StartAsync();
        host.Time.SetUtcNow(Day1.AddHours(11));
        const string Huge = "50000000000000000000000000000"; // 5e28: accepted alone; two of them overflow decimal.
        await Accept(host, Event(Day1.AddHours(8), quantity: Huge));
        await Accept(host, Event(Day1.AddHours(9), quantity: Huge));
        await Accept(host, Event(Day1.AddHours(9), resourceId: ResourceB, quantity: "1"));

        var answer = await host.GetUsageAsync("&usageStartDate=2026-11-20");

        // Every event was accepted, so the report must answer; the overflow made it a 500 for every resource that day.
        answer.Status.Should().Be(200);
        Rows(answer).Should().Contain(r => r.ResourceId == ResourceB && r.Quantity == 1m);
        Rows(answer).Should().Contain(r => r.ResourceId != ResourceB && r.Quantity == decimal.MaxValue, "the total is the nearest a decimal can write");
    }

    [Fact]
    public async Task SetReconciliation_RowsOfThatResourceDimensionAndDay_ReportedWithTheStatusAndProcessedQuantity()
    {
        await using var host = await SeededAsync();
        host.Emulator.SetReconciliation(ResourceA, "DIM1", Day1.AddHours(13), "Mismatch", processedQuantity: 5m);
        host.Emulator.SetReconciliation(ResourceB, "dim1", Day1, "Rejected");
        host.Emulator.SetReconciliation(ResourceA, "dim2", Day1, "Submitted");

        var answer = await host.GetUsageAsync("&usageStartDate=2026-11-20");

        answer.Json.EnumerateArray()
            .Select(r => (r.GetProperty("usageDate").GetString(), r.GetProperty("usageResourceId").GetGuid(), r.GetProperty("dimension").GetString(), r.GetProperty("reconStatus").GetString(), r.GetProperty("submittedQuantity").GetDecimal(), r.GetProperty("processedQuantity").GetDecimal()))
            .Should().BeEquivalentTo(
            [
                ("2026-11-20T00:00:00Z", ResourceA, "dim1", "Mismatch", 5.5m, 5m),
                ("2026-11-20T00:00:00Z", ResourceA, "dim2", "Submitted", 1m, 0m),
                ("2026-11-20T00:00:00Z", ResourceB, "dim1", "Rejected", 10m, 0m),
                ("2026-11-21T00:00:00Z", ResourceA, "dim1", "Accepted", 4m, 4m), // another day: untouched
            ]);
        Rows(await host.GetUsageAsync("&usageStartDate=2026-11-20&reconStatus=rejected")).Should().ContainSingle().Which.ResourceId.Should().Be(ResourceB);
        Rows(await host.GetUsageAsync("&usageStartDate=2026-11-20&reconStatus=Accepted")).Should().ContainSingle().Which.UsageDate.Should().Be("2026-11-21T00:00:00Z");

        host.Emulator.SetReconciliation(ResourceB, "dim1", Day1, "Accepted");
        Rows(await host.GetUsageAsync("&usageStartDate=2026-11-20&reconStatus=Accepted")).Should().HaveCount(2, "Accepted restores the default");
    }

    [Theory]
    [InlineData("", "Submitted", null)]
    [InlineData("dim1", " ", null)]
    [InlineData("dim1", "Rejected", -1.0)]
    public async Task SetReconciliation_BadArgument_ThrowsArgumentException(string dimension, string status, double? processed)
    {
        await using var host = await TestEmulator.StartAsync();

        var act = () => host.Emulator.SetReconciliation(ResourceA, dimension, Day1, status, (decimal?)processed);

        act.Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData("")]
    [InlineData("&UsageEndDate=2026-11-21")]
    [InlineData("&usageStartDate=not-a-date")]
    public async Task GetUsageEvents_StartDateMissingOrInvalid_Returns400(string query)
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.GetUsageAsync(query);

        answer.Status.Should().Be(400);
        UsageEventEndpointTests.AssertServiceError(answer, "BadArgument", "usageStartDate");
    }

    [Theory]
    [InlineData("&usageStartDate=2026-11-20&usageEndDate=2026-11-21", "usageEndDate", "UsageEndDate")]
    [InlineData("&UsageStartDate=2026-11-20", "UsageStartDate", "usageStartDate")]
    [InlineData("&usageStartDate=2026-11-20&PlanId=plan2", "PlanId", "planId")]
    [InlineData("&usageStartDate=2026-11-20&DIMENSION=dim2", "DIMENSION", "dimension")]
    [InlineData("&usageStartDate=2026-11-20&reconstatus=Rejected", "reconstatus", "reconStatus")]
    public async Task GetUsageEvents_DocumentedParameterInOtherLetterCase_Returns400NamingTheDocumentedSpelling(string query, string sent, string documented)
    {
        // The service documents "UsageEndDate" with a capital U and the others in camel case; a report that honoured
        // another spelling here could come back without its end or filter in production.
        await using var host = await SeededAsync();

        var answer = await host.GetUsageAsync(query);

        BadRequestShapeTests.AssertDocumentedBadRequest(answer, "BadArgument", documented)
            .GetProperty("message").GetString().Should().Be($"The query parameter {sent} must be spelled {documented}.");
    }

    [Fact]
    public async Task GetUsageEvents_EveryParameterSpelledAsDocumented_IsRead()
    {
        await using var host = await SeededAsync();

        var answer = await host.GetUsageAsync(
            "&usageStartDate=2026-11-20&UsageEndDate=2026-11-21&offerId=emulated-offer&planId=plan1&dimension=dim1"
            + "&azureSubscriptionId=00000000-0000-0000-0000-000000000000&reconStatus=Accepted");

        answer.Status.Should().Be(200);
        Rows(answer).Should().BeEquivalentTo(
        [
            new Row("2026-11-20T00:00:00Z", ResourceA, "dim1", 5.5m, 2),
            new Row("2026-11-20T00:00:00Z", ResourceB, "dim1", 10m, 1),
        ]);
    }

    [Fact]
    public async Task GetUsageEvents_NothingRecorded_ReturnsEmptyArray()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.GetUsageAsync("&usageStartDate=2026-11-01");

        answer.Status.Should().Be(200);
        answer.Body.Should().Be("[]");
    }

    /// <summary>
    /// Day 1 (2026-11-20): resource A dim1 2.5 at 08:00 and 3 at 09:00, dim2 1 at 09:00; resource B dim1 10 at 10:00.
    /// Day 2: resource A dim1 4 at 01:00.
    /// </summary>
    private static async Task<TestEmulator> SeededAsync()
    {
        var host = await TestEmulator.StartAsync();
        await Accept(host, Event(Day1.AddHours(8), quantity: "2.5"));
        await Accept(host, Event(Day1.AddHours(9).AddMinutes(30), quantity: "3"));
        await Accept(host, Event(Day1.AddHours(9), dimension: "dim2", quantity: "1"));
        await Accept(host, Event(Day1.AddHours(10), resourceId: ResourceB, quantity: "10"));
        host.Time.SetUtcNow(Day1.AddDays(1).AddHours(2));
        await Accept(host, Event(Day1.AddDays(1).AddHours(1), quantity: "4"));
        return host;
    }

    private static async Task Accept(TestEmulator host, string json) =>
        (await host.PostEventAsync(json)).Status.Should().Be(200);

    private static List<Row> Rows(ApiAnswer answer) =>
        answer.Json.EnumerateArray().Select(r => new Row(
            r.GetProperty("usageDate").GetString()!,
            r.GetProperty("usageResourceId").GetGuid(),
            r.GetProperty("dimension").GetString()!,
            r.GetProperty("submittedQuantity").GetDecimal(),
            r.GetProperty("submittedCount").GetInt32())).ToList();

    private sealed record Row(string UsageDate, Guid ResourceId, string Dimension, decimal Quantity, int Count);
}
