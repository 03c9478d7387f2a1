using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace MarketplaceMetering.Emulator.Tests.Docs;

/// <summary>The examples of docs/emulator.md, compiled and run: change both together.</summary>
public sealed class EmulatorDocsExampleTests
{
    private static readonly Guid SubscriptionId = Guid.Parse("6f1b9e2a-4c53-4d7e-8a10-3b2c1d0e9f87");

    [Fact]
    public async Task SecondEventInTheSameHour_IsADuplicate()
    {
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions
        {
            Resources =
            {
                new EmulatedResource { ResourceId = SubscriptionId, PlanId = "gold", Dimensions = ["api-calls"] },
            },
        });
        using var http = new HttpClient { BaseAddress = emulator.Endpoint };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", emulator.Token);
        var usage = $$"""
            {"resourceId":"{{SubscriptionId}}","planId":"gold","dimension":"api-calls","quantity":12,
             "effectiveStartTime":"{{DateTimeOffset.UtcNow.AddMinutes(-5):O}}"}
            """;

        using var first = await http.PostAsync("api/usageEvent?api-version=2018-08-31", new StringContent(usage, Encoding.UTF8, "application/json"));
        using var second = await http.PostAsync("api/usageEvent?api-version=2018-08-31", new StringContent(usage, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal(12m, Assert.Single(emulator.Ledger.Entries).Quantity);
    }

    [Fact]
    public async Task LostResponse_IsStillRecorded()
    {
        await using var emulator = await MeteringEmulator.StartAsync();
        using var http = new HttpClient { BaseAddress = emulator.Endpoint };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", emulator.Token);
        var usage = $$"""
            {"resourceId":"{{SubscriptionId}}","planId":"gold","dimension":"api-calls","quantity":1,
             "effectiveStartTime":"{{DateTimeOffset.UtcNow.AddMinutes(-1):O}}"}
            """;

        emulator.Faults.Enqueue(EmulatorFault.DropAfterAccept());

        await Assert.ThrowsAsync<HttpRequestException>(
            () => http.PostAsync("api/usageEvent?api-version=2018-08-31", new StringContent(usage, Encoding.UTF8, "application/json")));
        Assert.Single(emulator.Ledger.Entries);
    }

    [Fact]
    public async Task AzureCoreClient_OverHttps_TrustsExactlyTheEmulatorsCertificate()
    {
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { UseHttps = true });

        // Trust this emulator's certificate, and nothing else.
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate?.GetCertHashString(HashAlgorithmName.SHA256) == emulator.CertificateThumbprint;

        // What the official client (and any Azure SDK client) builds: a pipeline with the bearer token policy.
        var options = new PipelineOptions { Transport = new HttpClientTransport(handler) };
        var pipeline = HttpPipelineBuilder.Build(options, new BearerTokenAuthenticationPolicy(emulator.Credential, "20e940b3-4c77-4b0b-9a53-9e16a1b010a7/.default"));

        using var message = pipeline.CreateMessage();
        message.Request.Method = RequestMethod.Post;
        message.Request.Uri.Reset(new Uri(emulator.Endpoint, "api/usageEvent?api-version=2018-08-31"));
        message.Request.Headers.Add("Content-Type", "application/json");
        message.Request.Content = RequestContent.Create(Encoding.UTF8.GetBytes($$"""
            {"resourceId":"{{SubscriptionId}}","planId":"gold","dimension":"api-calls","quantity":12,
             "effectiveStartTime":"{{DateTimeOffset.UtcNow.AddMinutes(-5):O}}"}
            """));
        await pipeline.SendAsync(message, CancellationToken.None);

        Assert.Equal(200, message.Response.Status);
    }

    [Fact]
    public async Task HttpClient_OverHttps_TrustsThePemFileAsItsOnlyRoot()
    {
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { UseHttps = true });

        // Full validation (name, dates, chain), with the emulator's certificate as the only trusted root.
        var root = X509CertificateLoader.LoadCertificateFromFile(emulator.CertificatePemPath!);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            CustomTrustStore = { root },
        };
        using var http = new HttpClient(handler) { BaseAddress = emulator.Endpoint };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", emulator.Token);

        using var response = await http.GetAsync("api/usageEvents?api-version=2018-08-31&usageStartDate=2026-01-01");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>Options for an Azure.Core pipeline; Azure SDK clients each have their own (the official one: MarketplaceMeteringClientOptions).</summary>
    private sealed class PipelineOptions : ClientOptions;

    [Fact]
    public async Task EventWithoutResource_IsAnsweredWithTheDocumentedBadRequest()
    {
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions());
        using var http = new HttpClient { BaseAddress = emulator.Endpoint };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", emulator.Token);
        var usage = $$"""
            {"planId":"gold","dimension":"api-calls","quantity":12,"effectiveStartTime":"{{DateTimeOffset.UtcNow.AddMinutes(-5):O}}"}
            """;

        using var answer = await http.PostAsync("api/usageEvent?api-version=2018-08-31", new StringContent(usage, Encoding.UTF8, "application/json"));

        // The body shown in docs/emulator.md ("Every 400 of the metering API has the shape Microsoft documents …").
        const string Documented = """
            {
              "code": "BadArgument",
              "message": "One or more errors have occurred.",
              "target": "usageEventRequest",
              "details": [
                { "code": "BadArgument", "target": "resourceId", "message": "Either usageEvent.resourceId or usageEvent.resourceUri is required." }
              ]
            }
            """;
        answer.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        System.Text.Json.Nodes.JsonNode.DeepEquals(
            System.Text.Json.Nodes.JsonNode.Parse(await answer.Content.ReadAsStringAsync()),
            System.Text.Json.Nodes.JsonNode.Parse(Documented)).Should().BeTrue();
    }
}
