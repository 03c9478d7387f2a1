using System.Diagnostics;
using MarketplaceMetering.Emulator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace MarketplaceMetering.Tests.Docs;

/// <summary>The snippets of the getting-started, dependency-injection, observability and testing pages do what those pages say.</summary>
[Collection(TelemetryTestGroup.Name)]
public class HostingSnippetTests
{
    [Fact]
    public async Task GettingStarted_AgainstTheEmulator_IsBilled()
    {
        await using var emulator = await MeteringEmulator.StartAsync();

        var result = await HostingSnippets.GettingStartedAsync(emulator.Credential, emulator.Endpoint, Guid.NewGuid());

        result.Should().BeOfType<UsageEventResult.Accepted>();
    }

    [Fact]
    public async Task DiConfiguration_FromEnvironmentStyleSettings_ResolvesTheClientIntoAHostedService()
    {
        await using var emulator = await MeteringEmulator.StartAsync();
        using var host = HostingSnippets.ConfigurationHost([], new Dictionary<string, string?>
        {
            ["MarketplaceMetering:Endpoint"] = emulator.Endpoint.ToString(),
            ["MarketplaceMetering:Credential:Kind"] = "TokenCredential",
        }, services => services.AddSingleton(emulator.Credential));

        await host.StartAsync();
        var service = host.Services.GetServices<IHostedService>().OfType<HostingSnippets.ReportingService>().Single();

        (await service.Client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System))).Should().BeOfType<UsageEventResult.Accepted>();
        await host.StopAsync();
    }

    [Fact]
    public async Task DiCode_WithRegisteredCredentialAndOwnHandler_SendsThroughTheHandler()
    {
        await using var emulator = await MeteringEmulator.StartAsync();
        using var host = HostingSnippets.CodeHost(emulator.Credential, emulator.Endpoint);
        await host.StartAsync();
        var before = Volatile.Read(ref HostingSnippets.AuditHandler.Requests);

        var result = await host.Services.GetRequiredService<MeteringClient>().SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        result.Should().BeOfType<UsageEventResult.Accepted>();
        Volatile.Read(ref HostingSnippets.AuditHandler.Requests).Should().Be(before + 1);
        host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<MeteringClientOptions>>().Value.Retry.MaxRetries.Should().Be(5);
        await host.StopAsync();
    }

    [Fact]
    public async Task ObservabilityOtel_ABatch_ExportsTheSpansAndMetricsTheDocNames()
    {
        var spans = new List<Activity>();
        var metrics = new List<Metric>();
        var (traces, meters) = HostingSnippets.OpenTelemetry(spans, metrics);
        await using var h = await Harness.StartAsync();

        using (traces)
        using (meters)
        {
            await h.Client.SubmitBatchUsageEventAsync(TestEvents.Distinct(h.Clock, 3));
            traces.ForceFlush();
            meters.ForceFlush();
        }

        spans.Select(s => s.DisplayName).Should().Contain(["MeteringClient.SubmitBatchUsageEvent", "POST /api/batchUsageEvent"]);
        metrics.Select(m => m.Name).Should().Contain(
        [
            "marketplace_metering.client.operation.duration",
            "marketplace_metering.client.request.duration",
            "marketplace_metering.events",
            "marketplace_metering.quantity.delivered",
            "marketplace_metering.token.fetches",
        ]);
    }

    [Fact]
    public async Task TestingEmulator_FaultsInjected_SecondEventIsAReplayAfterFourRequests()
    {
        var (first, afterFault, requests) = await HostingSnippets.EmulatorInTestsAsync();

        first.Should().BeOfType<UsageEventResult.Accepted>();
        afterFault.Should().BeOfType<UsageEventResult.Duplicate>().Which.IsReplay.Should().BeTrue();
        requests.Should().Be(4);
    }
}
