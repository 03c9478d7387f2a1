using System.Security.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using MarketplaceMetering.Tests.Authentication;

namespace MarketplaceMetering.Tests.Pipeline;

/// <summary>The client's own handler against a real TLS server on loopback.</summary>
public class TlsTests
{
    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task SubmitUsageEventAsync_ServerSpeaksTls12Or13_Connects(SslProtocols serverProtocol)
    {
        using var certificate = MeteringCredentialTests.SelfSigned("CN=127.0.0.1");
        SslProtocols? negotiated = null;
        var clock = new Testing.TestClock();
        await using var server = await LoopbackServer.StartAsync(
            app => app.MapPost("/api/usageEvent", async (HttpContext context) =>
            {
                negotiated = context.Features.Get<ITlsHandshakeFeature>()?.Protocol;
                // The service echoes the event it recorded, with its id, status and time.
                var echo = (await System.Text.Json.Nodes.JsonNode.ParseAsync(context.Request.Body))!.AsObject();
                echo["usageEventId"] = Guid.NewGuid().ToString();
                echo["status"] = "Accepted";
                echo["messageTime"] = clock.GetUtcNow().ToString("O");
                return Results.Text(echo.ToJsonString(), "application/json");
            }),
            certificate,
            o => o.SslProtocols = serverProtocol);
        var handler = MeteringTransport.CreateHandler((_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString());
        using var http = new HttpClient(handler);
        using var client = new MeteringClient(http, new CountingCredential("tok", clock), new MeteringClientOptions
        {
            Endpoint = new Uri($"https://127.0.0.1:{server.Address.Port}/"),
            TimeProvider = clock,
        });

        var result = await client.SubmitUsageEventAsync(TestEvents.HourAgo(clock));

        result.Should().BeOfType<UsageEventResult.Accepted>();
        negotiated.Should().Be(serverProtocol);
    }
}
