using Azure.Core;
using MarketplaceMetering.Emulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace MarketplaceMetering.Tests.Docs;

/// <summary>The C# of docs/getting-started.md, docs/dependency-injection.md, docs/observability.md and docs/testing.md.</summary>
internal static class HostingSnippets
{
    public static async Task<UsageEventResult> GettingStartedAsync(TokenCredential credential, Uri endpoint, Guid subscriptionId)
    {
        #region getting-started
        using var client = new MeteringClient(credential, new MeteringClientOptions { Endpoint = endpoint });

        // One hour of one dimension: sum the hour's usage first, the service keeps one event per hour.
        var hour = DateTimeOffset.UtcNow.AddHours(-1);
        var usage = UsageEvent.ForResourceId(subscriptionId, planId: "gold", dimension: "emails", quantity: 1250, effectiveStartTime: hour);

        UsageEventResult result = await client.SubmitUsageEventAsync(usage);
        Console.WriteLine(result.IsDelivered ? "billed" : $"not billed: {result.Status}");
        #endregion
        return result;
    }

    public static IHost ConfigurationHost(string[] args, IDictionary<string, string?>? overrides = null, Action<IServiceCollection>? testServices = null)
    {
        #region di-configuration
        var builder = Host.CreateApplicationBuilder(args);

        // Settings and credential from the "MarketplaceMetering" section (appsettings.json, environment variables, a vault):
        // "MarketplaceMetering": { "Credential": { "Kind": "ClientSecret", "TenantId": "…", "ClientId": "…", "ClientSecret": "…" } }
        builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("MarketplaceMetering"));
        #endregion
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        testServices?.Invoke(builder.Services);
        builder.Services.AddHostedService<ReportingService>();
        return builder.Build();
    }

    public static IHost CodeHost(TokenCredential credential, Uri endpoint)
    {
        var builder = Host.CreateApplicationBuilder();
        #region di-code
        // Or in code, with any TokenCredential registered in the service collection:
        builder.Services.AddSingleton<TokenCredential>(credential);
        builder.Services.AddMarketplaceMeteringClient(options =>
        {
            options.Endpoint = endpoint;
            options.Retry.MaxRetries = 5;
        })
        .AddHttpMessageHandler(() => new AuditHandler());   // your own handlers, through IHttpClientFactory
        #endregion
        return builder.Build();
    }

    public static (TracerProvider Traces, MeterProvider Metrics) OpenTelemetry(ICollection<System.Diagnostics.Activity> spans, ICollection<Metric> metrics)
    {
        #region observability-otel
        // The client's spans and metrics are both named "MarketplaceMetering": subscribe to them.
        TracerProvider traces = Sdk.CreateTracerProviderBuilder()
            .AddSource("MarketplaceMetering")
            .AddInMemoryExporter(spans)          // or AddOtlpExporter(), AddConsoleExporter(), Azure Monitor…
            .Build();

        MeterProvider meters = Sdk.CreateMeterProviderBuilder()
            .AddMeter("MarketplaceMetering")
            .AddInMemoryExporter(metrics)
            .Build();
        #endregion
        return (traces, meters);
    }

    public static async Task<(UsageEventResult First, UsageEventResult AfterFault, int Requests)> EmulatorInTestsAsync()
    {
        #region testing-emulator
        // In a test: a real metering service on loopback, started in the test's process.
        await using var emulator = await MeteringEmulator.StartAsync();
        using var client = new MeteringClient(emulator.Credential, new MeteringClientOptions { Endpoint = emulator.Endpoint });
        var subscription = Guid.NewGuid();

        var first = await client.SubmitUsageEventAsync(UsageEvent.ForResourceId(subscription, "gold", "emails", 10, DateTimeOffset.UtcNow.AddHours(-2)));

        // Fault injection: the next request is answered 503, then one is recorded but its answer is lost.
        emulator.Faults.Enqueue(EmulatorFault.ServerError(503), EmulatorFault.DropAfterAccept());
        var afterFault = await client.SubmitUsageEventAsync(UsageEvent.ForResourceId(subscription, "gold", "emails", 20, DateTimeOffset.UtcNow.AddHours(-1)));
        // afterFault is a Duplicate with IsReplay: the client retried, and the service had recorded the event once.

        int requests = emulator.Requests.Count;   // what the client sent: 1 + 3
        #endregion
        return (first, afterFault, requests);
    }

    /// <summary>Stands in for a user's own hosted service that reports usage.</summary>
    public sealed class ReportingService(MeteringClient client) : BackgroundService
    {
        public MeteringClient Client { get; } = client;

        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.CompletedTask;
    }

    /// <summary>Stands in for a user's own delegating handler.</summary>
    public sealed class AuditHandler : DelegatingHandler
    {
        public static int Requests;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Requests);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
