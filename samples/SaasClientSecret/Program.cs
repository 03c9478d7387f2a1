// SaasClientSecret: a SaaS backend worker that reports each closed hour's usage of its subscriptions.
//
//   dotnet run --project samples/SaasClientSecret
//       starts the metering emulator in this process, sends the last closed hour and exits.
//   Sample__UseEmulator=false MarketplaceMetering__Credential__TenantId=… MarketplaceMetering__Credential__ClientId=… \
//   MarketplaceMetering__Credential__ClientSecret=… dotnet run --project samples/SaasClientSecret
//       reports to the real marketplace with the offer's app registration.
using MarketplaceMetering.Emulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SaasClientSecret;

// appsettings.json is read from next to the program, wherever it is started from.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
var settings = builder.Configuration.GetSection("Sample").Get<SampleSettings>() ?? new SampleSettings();

await using var emulator = settings.UseEmulator ? await StartEmulatorAsync(settings) : null;
if (emulator is not null)
{
    // The emulator accepts one bearer token: its credential stands in for the client secret.
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["MarketplaceMetering:Endpoint"] = emulator.Endpoint.ToString(),
        ["MarketplaceMetering:Credential:Kind"] = "TokenCredential",
        ["MarketplaceMetering:Credential:TenantId"] = null,
        ["MarketplaceMetering:Credential:ClientId"] = null,
        ["MarketplaceMetering:Credential:ClientSecret"] = null,
    });
    builder.Services.AddSingleton(emulator.Credential);
    Console.WriteLine($"Metering emulator running in this process at {emulator.Endpoint}");
}

builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("MarketplaceMetering"));
builder.Services.AddSingleton(settings);
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<UsageStore>();
builder.Services.AddHostedService<HourlyUsageWorker>();

using var host = builder.Build();
if (emulator is not null)
{
    // Stand-in for the usage your request handlers record during the hour.
    host.Services.GetRequiredService<UsageStore>().SimulateLastHour(settings, TimeProvider.System.GetUtcNow());
}

await host.RunAsync();
return Environment.ExitCode;

static async Task<MeteringEmulator> StartEmulatorAsync(SampleSettings settings)
{
    var options = new MeteringEmulatorOptions();
    foreach (var subscription in settings.Subscriptions)
    {
        options.Resources.Add(new EmulatedResource { ResourceId = subscription.Id, PlanId = subscription.PlanId, Dimensions = settings.Dimensions });
    }

    return await MeteringEmulator.StartAsync(options);
}
