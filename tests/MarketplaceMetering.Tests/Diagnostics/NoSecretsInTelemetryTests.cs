using System.Diagnostics;
using MarketplaceMetering.Emulator;
using MarketplaceMetering.Tests.Authentication;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Identity.Client;

namespace MarketplaceMetering.Tests.Diagnostics;

/// <summary>
/// Everything a run writes (every log record of the host at the finest level, every span tag, every metric tag), with a
/// client-secret credential against a stand-in Entra ID token endpoint, holds neither the token nor the secret.
/// </summary>
[Collection(TelemetryTestGroup.Name)]
public class NoSecretsInTelemetryTests
{
    private const string Token = "opaque-token-value-4f9b2c7e81d0";
    private const string Secret = "client-secret-value-7d2e9a41c3";

    [Fact]
    public async Task HostedRun_ClientSecretAgainstFakeTokenEndpoint_NoTokenOrSecretInAnyLogSpanOrMetric()
    {
        using var telemetry = new TelemetryCollector();
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { Token = Token });
        using var login = LoginServer.Start(LoginServer.Token(Token));
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddFakeLogging().SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Trace);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MarketplaceMetering:Endpoint"] = emulator.Endpoint.ToString(),
            ["MarketplaceMetering:Retry:Delay"] = "00:00:00",
            ["MarketplaceMetering:Credential:Kind"] = "ClientSecret",
            ["MarketplaceMetering:Credential:TenantId"] = LoginServer.Tenant,
            ["MarketplaceMetering:Credential:ClientId"] = LoginServer.Client,
            ["MarketplaceMetering:Credential:ClientSecret"] = Secret,
        });
        builder.Services.AddSingleton<IMsalHttpClientFactory>(new RedirectingMsalFactory(login));
        builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("MarketplaceMetering"));
        using var host = builder.Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<MeteringClient>();
        using var parent = new Activity("test").Start();
        var n = 0;
        UsageEvent Next() => TestEvents.HourAgo(TimeProvider.System, resource: TestEvents.ResourceNumber(n++));

        // Accepted; a 401 then a resend; a retried 503 that echoes the token; a 400 that echoes it; a bulk run.
        await client.SubmitUsageEventAsync(Next());
        emulator.Faults.Enqueue(EmulatorFault.Respond(401, "{\"message\":\"bad token " + Token + "\"}"));
        await client.SubmitUsageEventAsync(Next());
        emulator.Faults.Enqueue(EmulatorFault.Respond(503, "upstream saw Bearer " + Token));
        await client.SubmitUsageEventAsync(Next());
        emulator.Faults.Enqueue(EmulatorFault.Respond(400, "{\"code\":\"BadArgument\",\"message\":\"" + Token + "\",\"target\":\"planId\"}"));
        var rejected = await client.SubmitUsageEventAsync(Next());
        await client.SubmitUsageEventsAsync(Enumerable.Range(0, 30).Select(_ => Next()).ToList());
        parent.Stop();
        await host.StopAsync();

        rejected.Should().BeOfType<UsageEventResult.BadArgument>().Which.ToString().Should().NotContain(Token);
        var records = host.Services.GetFakeLogCollector().GetSnapshot();
        records.Should().Contain(r => r.Category == "MarketplaceMetering.MeteringClient", "the client logged");
        records.Should().NotContain(
            r => r.Category != null && r.Category.StartsWith("System.Net.Http.HttpClient.MarketplaceMetering", StringComparison.Ordinal),
            "IHttpClientFactory's default logging hands raw headers, the token included, to providers as structured state; it is removed for the client");
        var logged = records.Select(r => r.Render()).ToList();
        logged.Should().OnlyContain(l => !l.Contains(Token, StringComparison.Ordinal) && !l.Contains(Secret, StringComparison.Ordinal));

        var tags = telemetry.Spans(parent.TraceId).SelectMany(s => s.TagObjects.Select(t => t.Key + "=" + t.Value)).ToList();
        tags.Should().NotBeEmpty().And.OnlyContain(t => !t.Contains(Token, StringComparison.Ordinal) && !t.Contains(Secret, StringComparison.Ordinal));
        telemetry.AllMeasurements.SelectMany(m => m.Tags.Select(t => t.Key + "=" + t.Value))
            .Should().OnlyContain(t => !t.Contains(Token, StringComparison.Ordinal) && !t.Contains(Secret, StringComparison.Ordinal));
    }
}
