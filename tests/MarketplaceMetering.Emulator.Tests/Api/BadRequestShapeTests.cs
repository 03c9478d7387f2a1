using System.Text;
using System.Text.Json;
using MarketplaceMetering.Emulator.Tests.TestSupport;
using static MarketplaceMetering.Emulator.Tests.TestSupport.EventJson;

namespace MarketplaceMetering.Emulator.Tests.Api;

/// <summary>
/// Every 400 of the metering API has the documented shape (Microsoft Learn, "Marketplace metered billing APIs": a usage
/// event without a resourceId): the top level is a generic
/// <c>{"code": "BadArgument", "message": "One or more errors have occurred.", "target": "usageEventRequest"}</c>, and the
/// field, with its own code and message, is only in <c>details</c>. Where Microsoft documents no body (a batch of more
/// than 25, a query parameter, api-version, an unusable body) the emulator answers the same envelope.
/// </summary>
public sealed class BadRequestShapeTests
{
    private const string GenericMessage = "One or more errors have occurred.";

    [Fact]
    public async Task PostUsageEvent_NoResource_Returns400WithTheDocumentedShape()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostEventAsync(Event(host.Now, useResourceA: false));

        var detail = AssertDocumentedBadRequest(answer, "BadArgument", "resourceId");
        detail.GetProperty("message").GetString().Should().Be("Either usageEvent.resourceId or usageEvent.resourceUri is required.");
    }

    [Theory]
    [InlineData("wrongType", "BadArgument", "quantity", "The usageEvent.quantity must be a number.")]
    [InlineData("zeroQuantity", "InvalidQuantity", "quantity", "The usageEvent.quantity must be greater than 0.")]
    [InlineData("expired", "BadArgument", "effectiveStartTime", "The usageEvent.effectiveStartTime has expired or is in future.")]
    [InlineData("future", "BadArgument", "effectiveStartTime", "The usageEvent.effectiveStartTime has expired or is in future.")]
    [InlineData("unknownResource", "ResourceNotFound", "resourceId", "The resource was not found or is not authorized for this publisher.")]
    [InlineData("suspended", "ResourceNotActive", "resourceId", "The resource is not active: its status is Suspended.")]
    [InlineData("otherPlan", "BadArgument", "planId", "The usageEvent.planId does not match the resource's plan.")]
    [InlineData("otherDimension", "InvalidDimension", "dimension", "The usageEvent.dimension is not defined in the plan.")]
    public async Task PostUsageEvent_EachRule_Returns400WithTheRulesCodeFieldAndMessageOnlyInTheDetail(string shape, string code, string target, string message)
    {
        await using var host = await TestEmulator.StartAsync(options =>
        {
            options.Resources.Add(new EmulatedResource { ResourceId = ResourceA, PlanId = "plan1", Dimensions = ["dim1"] });
            options.Resources.Add(new EmulatedResource { ResourceId = ResourceB, PlanId = "plan1", Dimensions = ["dim1"], Status = EmulatedResourceStatus.Suspended });
        });
        var now = host.Now;
        var json = shape switch
        {
            "wrongType" => Event(now, quantity: "\"abc\""),
            "zeroQuantity" => Event(now, quantity: "0"),
            "expired" => Event(now.AddHours(-25)),
            "future" => Event(now.AddMinutes(5)),
            "unknownResource" => Event(now, resourceId: Guid.NewGuid()),
            "suspended" => Event(now, resourceId: ResourceB),
            "otherPlan" => Event(now, planId: "plan2"),
            "otherDimension" => Event(now, dimension: "gpu"),
            _ => throw new ArgumentOutOfRangeException(nameof(shape)),
        };

        var answer = await host.PostEventAsync(json);

        AssertDocumentedBadRequest(answer, code, target).GetProperty("message").GetString().Should().Be(message);
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Theory]
    [InlineData(TestEmulator.EventPath, "usageEventRequest")]
    [InlineData(TestEmulator.BatchPath, "batchUsageEventRequest")]
    public async Task Post_UnusableBody_Returns400WithTheDocumentedEnvelopeNamingTheBody(string path, string target)
    {
        await using var host = await TestEmulator.StartAsync(options => options.MaxRequestBodyBytes = 1000);

        var empty = await host.SendAsync(HttpMethod.Post, path, "");
        var notJson = await host.SendAsync(HttpMethod.Post, path, "{\"quantity\":1,}");
        var tooLarge = await host.SendAsync(HttpMethod.Post, path, "{\"dimension\":\"" + new string('d', 1000) + "\"}");
        var notSentAsJson = await PostAsync(host, path, "text/plain", "{}");

        AssertDocumentedBadRequest(empty, "BadArgument", target).GetProperty("message").GetString().Should().Be("The request body is required.");
        AssertDocumentedBadRequest(notJson, "BadArgument", target).GetProperty("message").GetString().Should().Be("The request body is not valid JSON.");
        AssertDocumentedBadRequest(tooLarge, "BadArgument", target).GetProperty("message").GetString().Should().Be("The request body is larger than the limit of 1000 bytes.");
        AssertDocumentedBadRequest(notSentAsJson, "BadArgument", target).GetProperty("message").GetString().Should().Contain("Content-Type: application/json");
    }

    [Fact]
    public async Task PostUsageEvent_BodyNotAnObject_Returns400WithTheDocumentedEnvelope()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostEventAsync("[]");

        AssertDocumentedBadRequest(answer, "BadArgument", "usageEventRequest").GetProperty("message").GetString().Should().Be("The request body must be a usage event object.");
    }

    [Theory]
    [InlineData(26, "A batch holds 1 to 25 usage events; this one holds 26.")]
    [InlineData(0, "A batch holds 1 to 25 usage events; this one holds 0.")]
    public async Task PostBatch_MoreThanTwentyFiveOrNoEvents_Returns400WithTheDocumentedEnvelopeNamingRequest(int count, string message)
    {
        await using var host = await TestEmulator.StartAsync();
        var events = Enumerable.Range(0, count).Select(i => Event(host.Now.AddHours(-i))).ToArray();

        var answer = await host.PostBatchAsync(Batch(events));

        AssertDocumentedBadRequest(answer, "BadArgument", "request").GetProperty("message").GetString().Should().Be(message);
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task PostBatch_NoRequestArray_Returns400WithTheDocumentedEnvelopeNamingRequest()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostBatchAsync("{\"events\":[]}");

        AssertDocumentedBadRequest(answer, "BadArgument", "request").GetProperty("message").GetString()
            .Should().Be("The request body must be an object with a \"request\" array of usage events.");
    }

    [Theory]
    [InlineData("api/usageEvent", "POST")]
    [InlineData("api/batchUsageEvent?api-version=2019-01-01", "POST")]
    [InlineData("api/usageEvents?usageStartDate=2026-11-20", "GET")]
    public async Task ApiRoute_ApiVersionMissingOrWrong_Returns400WithTheDocumentedEnvelopeNamingApiVersion(string pathAndQuery, string method)
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.SendAsync(new HttpMethod(method), pathAndQuery, method == "POST" ? Event(host.Now) : null);

        AssertDocumentedBadRequest(answer, "BadArgument", "api-version").GetProperty("message").GetString().Should().Contain("api-version=2018-08-31");
    }

    [Theory]
    [InlineData("", "usageStartDate", "The usageStartDate query parameter is required.")]
    [InlineData("&usageStartDate=yesterday", "usageStartDate", "The usageStartDate query parameter is not a valid date.")]
    [InlineData("&usageStartDate=2026-11-19&UsageEndDate=tomorrow", "UsageEndDate", "The UsageEndDate query parameter is not a valid date.")]
    [InlineData("&usageStartDate=2026-11-19&azureSubscriptionId=nope", "azureSubscriptionId", "The azureSubscriptionId query parameter is not a valid GUID.")]
    public async Task GetUsageEvents_BadQuery_Returns400WithTheDocumentedEnvelopeNamingTheParameter(string query, string target, string message)
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.GetUsageAsync(query);

        AssertDocumentedBadRequest(answer, "BadArgument", target).GetProperty("message").GetString().Should().Be(message);
    }

    /// <summary>
    /// Asserts the documented 400: exactly <c>code</c>, <c>message</c>, <c>target</c> and <c>details</c> at the top, with
    /// the generic values; one detail with exactly its own <c>code</c>, <c>message</c> and <c>target</c>. Returns the detail.
    /// </summary>
    internal static JsonElement AssertDocumentedBadRequest(ApiAnswer answer, string code, string target)
    {
        answer.Status.Should().Be(400);
        var json = answer.Json;
        json.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("code", "message", "target", "details");
        json.GetProperty("code").GetString().Should().Be("BadArgument");
        json.GetProperty("message").GetString().Should().Be(GenericMessage);
        json.GetProperty("target").GetString().Should().Be("usageEventRequest");
        var detail = json.GetProperty("details").EnumerateArray().Should().ContainSingle().Subject;
        detail.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("code", "message", "target");
        detail.GetProperty("code").GetString().Should().Be(code);
        detail.GetProperty("target").GetString().Should().Be(target);
        detail.GetProperty("message").GetString().Should().NotBeNullOrWhiteSpace().And.NotBe(GenericMessage);
        return detail;
    }

    private static async Task<ApiAnswer> PostAsync(TestEmulator host, string path, string contentType, string body)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + TestEmulator.Token);
        using var response = await host.Http.SendAsync(request);
        return await ApiAnswer.ReadAsync(response);
    }
}
