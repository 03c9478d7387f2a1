using System.Text;
using MarketplaceMetering.Emulator.Tests.TestSupport;
using static MarketplaceMetering.Emulator.Tests.TestSupport.EventJson;

namespace MarketplaceMetering.Emulator.Tests.Api;

public sealed class BadInputTests
{
    [Theory]
    [InlineData(TestEmulator.EventPath, "{\"resourceId\":")]
    [InlineData(TestEmulator.EventPath, "not json at all")]
    [InlineData(TestEmulator.EventPath, "{\"quantity\":1,}")]
    [InlineData(TestEmulator.BatchPath, "{\"request\":[{]}")]
    [InlineData(TestEmulator.BatchPath, "\u0000\u0001")]
    public async Task Post_MalformedJson_Returns400ServiceShapeAndServerKeepsAnswering(string path, string body)
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.SendAsync(HttpMethod.Post, path, body);

        answer.Status.Should().Be(400);
        answer.Json.GetProperty("code").GetString().Should().Be("BadArgument");
        answer.Json.GetProperty("details")[0].GetProperty("message").GetString().Should().Contain("JSON");
        answer.Json.GetProperty("details").GetArrayLength().Should().Be(1);
        await AssertStillServesAsync(host);
    }

    [Theory]
    [InlineData(TestEmulator.EventPath, "[]")]
    [InlineData(TestEmulator.EventPath, "\"a string\"")]
    [InlineData(TestEmulator.EventPath, "42")]
    [InlineData(TestEmulator.EventPath, "null")]
    public async Task PostUsageEvent_BodyIsNotAnObject_Returns400(string path, string body)
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.SendAsync(HttpMethod.Post, path, body);

        answer.Status.Should().Be(400);
        UsageEventEndpointTests.AssertServiceError(answer, "BadArgument", "usageEventRequest");
    }

    [Theory]
    [InlineData(TestEmulator.EventPath)]
    [InlineData(TestEmulator.BatchPath)]
    public async Task Post_EmptyOrMissingBody_Returns400(string path)
    {
        await using var host = await TestEmulator.StartAsync();

        var empty = await host.SendAsync(HttpMethod.Post, path, "");
        var missing = await host.SendAsync(HttpMethod.Post, path, null);

        empty.Status.Should().Be(400);
        empty.Json.GetProperty("details")[0].GetProperty("message").GetString().Should().Contain("required");
        missing.Status.Should().Be(400);
        missing.Json.GetProperty("code").GetString().Should().Be("BadArgument");
        await AssertStillServesAsync(host);
    }

    [Theory]
    [InlineData(TestEmulator.EventPath)]
    [InlineData(TestEmulator.BatchPath)]
    public async Task Post_TenMegabyteBody_Returns400AndServerKeepsAnswering(string path)
    {
        await using var host = await TestEmulator.StartAsync();
        var huge = "{\"resourceId\":\"" + ResourceA + "\",\"dimension\":\"" + new string('x', 10 * 1024 * 1024) + "\"}";

        var answer = await host.SendAsync(HttpMethod.Post, path, huge);

        answer.Status.Should().Be(400);
        answer.Json.GetProperty("code").GetString().Should().Be("BadArgument");
        answer.Json.GetProperty("details")[0].GetProperty("message").GetString().Should().Contain("larger than");
        host.Emulator.Requests.Single().Body.Length.Should().Be(64 * 1024, "the log keeps the first 64 KiB");
        await AssertStillServesAsync(host);
    }

    [Fact]
    public async Task PostUsageEvent_BodyJustOverAConfiguredLimit_Returns400()
    {
        await using var host = await TestEmulator.StartAsync(options => options.MaxRequestBodyBytes = 100);
        var body = Event(host.Now, dimension: new string('d', 100));

        var answer = await host.SendAsync(HttpMethod.Post, TestEmulator.EventPath, body);

        answer.Status.Should().Be(400);
        answer.Json.GetProperty("details")[0].GetProperty("message").GetString().Should().Contain("100 bytes");
    }

    [Fact]
    public async Task PostUsageEvent_DeeplyNestedJson_Returns400()
    {
        await using var host = await TestEmulator.StartAsync();
        var nested = new StringBuilder().Append('[', 5000).Append(']', 5000).ToString();

        var answer = await host.SendAsync(HttpMethod.Post, TestEmulator.EventPath, "{\"resourceId\":" + nested + "}");

        answer.Status.Should().Be(400);
        await AssertStillServesAsync(host);
    }

    [Fact]
    public async Task PostUsageEvent_InvalidUtf8_Returns400()
    {
        await using var host = await TestEmulator.StartAsync();
        using var content = new ByteArrayContent([0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]);
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, TestEmulator.EventPath) { Content = content };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + TestEmulator.Token);

        using var response = await host.Http.SendAsync(request);

        ((int)response.StatusCode).Should().Be(400);
        (await ApiAnswer.ReadAsync(response)).Json.GetProperty("details")[0].GetProperty("message").GetString().Should().Contain("not valid JSON");
        await AssertStillServesAsync(host);
    }

    [Theory]
    [InlineData(TestEmulator.EventPath)]
    [InlineData(TestEmulator.BatchPath)]
    public async Task Post_LoneSurrogateEscapes_Returns400(string path)
    {
        await using var host = await TestEmulator.StartAsync();
        var bad = "{\"resourceId\":\"" + ResourceA + "\",\"quantity\":1,\"dimension\":\"\\ud800\",\"effectiveStartTime\":\"2026-11-20T10:00:00Z\",\"planId\":\"\\udc00x\",\"\\ud800\":1}";
        var body = path == TestEmulator.BatchPath ? "{\"request\":[" + bad + "]}" : bad;

        var answer = await host.SendAsync(HttpMethod.Post, path, body);

        answer.Status.Should().Be(400);
        answer.Json.GetProperty("code").GetString().Should().Be("BadArgument");
        await AssertStillServesAsync(host);
    }

    [Theory]
    [InlineData(TestEmulator.EventPath, "text/plain; charset=utf-8")]
    [InlineData(TestEmulator.EventPath, "application/x-www-form-urlencoded")]
    [InlineData(TestEmulator.EventPath, null)]
    [InlineData(TestEmulator.BatchPath, "text/plain")]
    [InlineData(TestEmulator.BatchPath, null)]
    public async Task Post_JsonSentAsAnotherContentType_Returns400AndRecordsNothing(string path, string? contentType)
    {
        await using var host = await TestEmulator.StartAsync();
        var json = path == TestEmulator.BatchPath ? Batch(Event(host.Now)) : Event(host.Now);
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + TestEmulator.Token);

        using var response = await host.Http.SendAsync(request);
        var answer = await ApiAnswer.ReadAsync(response);

        // The service reads JSON only from a body sent as JSON; a client that forgets the header must not pass here.
        answer.Status.Should().Be(400);
        answer.Json.GetProperty("code").GetString().Should().Be("BadArgument");
        answer.Json.GetProperty("details")[0].GetProperty("message").GetString().Should().Contain("application/json");
        answer.Json.GetProperty("details").GetArrayLength().Should().Be(1);
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Theory]
    [InlineData(TestEmulator.EventPath, "application/json; charset=utf-16")]
    [InlineData(TestEmulator.EventPath, "application/json; charset=iso-8859-1")]
    [InlineData(TestEmulator.BatchPath, "application/json; charset=\"utf-32\"")]
    public async Task Post_Utf8JsonSentWithAnotherCharset_Returns400AndRecordsNothing(string path, string contentType)
    {
        // The service decodes the body by the charset it is told; UTF-8 bytes said to be UTF-16 never get through.
        await using var host = await TestEmulator.StartAsync();
        var json = path == TestEmulator.BatchPath ? Batch(Event(host.Now)) : Event(host.Now);
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + TestEmulator.Token);

        using var response = await host.Http.SendAsync(request);
        var answer = await ApiAnswer.ReadAsync(response);

        var target = path == TestEmulator.BatchPath ? "batchUsageEventRequest" : "usageEventRequest";
        BadRequestShapeTests.AssertDocumentedBadRequest(answer, "BadArgument", target)
            .GetProperty("message").GetString().Should().Be("The request body must be JSON in UTF-8: send charset=utf-8, or no charset.");
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("Application/JSON; charset=UTF-8")]
    [InlineData("application/json; charset=\"utf-8\"")]
    [InlineData("application/json;charset=utf8")]
    [InlineData("text/json")]
    [InlineData("application/merge-patch+json")]
    public async Task PostUsageEvent_JsonContentTypes_AreAccepted(string contentType)
    {
        await using var host = await TestEmulator.StartAsync();
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Event(host.Now)));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, TestEmulator.EventPath) { Content = content };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + TestEmulator.Token);

        using var response = await host.Http.SendAsync(request);

        ((int)response.StatusCode).Should().Be(200);
    }

    private static async Task AssertStillServesAsync(TestEmulator host)
    {
        var answer = await host.PostEventAsync(Event(host.Now, dimension: "still-alive-" + Guid.NewGuid()));
        answer.Status.Should().Be(200);
    }
}
