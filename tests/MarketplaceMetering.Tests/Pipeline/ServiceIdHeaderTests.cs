using MarketplaceMetering.Emulator;
using MarketplaceMetering.Tests.Authentication;
using Microsoft.Extensions.Logging.Testing;

namespace MarketplaceMetering.Tests.Pipeline;

/// <summary>
/// The ids a service answers in its x-ms-requestid and x-ms-correlationid headers are the service's text, like its
/// body: a hostile or broken service (or a gateway that echoes request headers) must not get the token, a terminal
/// escape or a page of text into a result, an exception message or a log through them.
/// </summary>
public class ServiceIdHeaderTests
{
    private const string OpaqueToken = "opaque0123456789abcdefXYZ";

    [Theory]
    [InlineData("x-ms-requestid")]
    [InlineData("x-ms-correlationid")]
    public async Task SubmitUsageEventAsync_ServiceEchoesTheTokenInAnIdHeader_TokenMaskedInExceptionResultAndLogs(string header)
    {
        var logs = new FakeLogCollector();
        using var factory = FakeLogging.CreateFactory(logs);
        await using var h = await Harness.StartAsync(
            emulator: o => o.Token = OpaqueToken,
            client: o => o.LoggerFactory = factory,
            credential: _ => new ScriptedCredential(TimeProvider.System, OpaqueToken));
        var echo = new Dictionary<string, string> { [header] = "Bearer " + OpaqueToken };
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(404, "{}", echo));
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(409, "{}", echo));

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(1)));
        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        var duplicate = await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(2)));

        duplicate.Should().BeOfType<UsageEventResult.Duplicate>();
        e.ToString().Should().NotContain(OpaqueToken);
        (e.RequestId + " " + e.CorrelationId).Should().NotContain(OpaqueToken);
        duplicate.ToString().Should().NotContain(OpaqueToken);
        (duplicate.RequestId + " " + duplicate.CorrelationId).Should().NotContain(OpaqueToken);
        logs.GetSnapshot().Select(r => r.Render()).Should().OnlyContain(l => !l.Contains(OpaqueToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task SubmitUsageEventAsync_ServiceRequestIdWithEscapesAndAPageOfText_ExceptionMessageStaysShortAndHasNoControlCharacter()
    {
        // Kestrel (and so the emulator) refuses to send such a header, so a socket of our own writes it.
        var requestId = "req\u001b[2J\u001b]0;pwned\u0007" + new string('x', 8000);
        var head = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\nx-ms-requestid: " + requestId + "\r\n\r\n{}";
        await using var server = RawHttpServer.Start((_, _) => new RawAnswer(System.Text.Encoding.ASCII.GetBytes(head), Close: false));
        var options = new MeteringClientOptions { Endpoint = server.Endpoint };
        options.Retry.MaxRetries = 0;
        using var client = new MeteringClient(new CountingCredential("raw-server-token", TimeProvider.System), options);

        var act = () => client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.StatusCode.Should().Be(404);
        e.Message.Where(char.IsControl).Should().BeEmpty();
        e.Message.Length.Should().BeLessThan(1000);
        (e.RequestId ?? string.Empty).Where(char.IsControl).Should().BeEmpty();
    }
}
