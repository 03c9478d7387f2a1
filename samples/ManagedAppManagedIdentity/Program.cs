// ManagedAppManagedIdentity: code running inside a customer's managed-application deployment (a VM, a Function, a
// container) reports its last hour of usage, authenticated by the managed identity of the resource it runs on, and
// naming its resource by the managed application's resource id (resourceUri).
//
//   dotnet run --project samples/ManagedAppManagedIdentity
//       starts the metering emulator in this process and reports to it.
//   Sample__UseEmulator=false dotnet run --project samples/ManagedAppManagedIdentity
//       inside the deployment: reports to the real marketplace with the managed identity.
using System.Globalization;
using MarketplaceMetering;
using MarketplaceMetering.Emulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// appsettings.json is read from next to the program, wherever it is started from.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
var resourceUri = builder.Configuration["ManagedApp:ResourceUri"];
var planId = builder.Configuration["ManagedApp:PlanId"];
var usage = builder.Configuration.GetSection("ManagedApp:Usage").GetChildren()
    .ToDictionary(d => d.Key, d => decimal.Parse(d.Value!, NumberStyles.Float, CultureInfo.InvariantCulture));
if (string.IsNullOrWhiteSpace(resourceUri) || string.IsNullOrWhiteSpace(planId) || usage.Count == 0)
{
    Console.Error.WriteLine("Set ManagedApp:ResourceUri (the managed application's resource id), ManagedApp:PlanId and ManagedApp:Usage; see README.md.");
    return 2;
}

await using var emulator = builder.Configuration.GetValue("Sample:UseEmulator", true) ? await StartEmulatorAsync(resourceUri, planId, usage.Keys) : null;
if (emulator is not null)
{
    // The emulator accepts one bearer token: its credential stands in for the managed identity.
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["MarketplaceMetering:Endpoint"] = emulator.Endpoint.ToString(),
        ["MarketplaceMetering:Credential:Kind"] = "TokenCredential",
    });
    builder.Services.AddSingleton(emulator.Credential);
    Console.WriteLine($"Metering emulator running in this process at {emulator.Endpoint}");
}

builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("MarketplaceMetering"));
using var host = builder.Build();
await host.StartAsync();
var client = host.Services.GetRequiredService<MeteringClient>();

// The last closed hour: the service keeps one event per resource, dimension and hour.
var now = TimeProvider.System.GetUtcNow();
var lastHour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(-1);
var events = usage.Select(u => UsageEvent.ForResourceUri(resourceUri, planId, u.Key, u.Value, lastHour)).ToList();

var batch = await client.SubmitBatchUsageEventAsync(events);
foreach (var result in batch.Results)
{
    var detail = result switch
    {
        UsageEventResult.Accepted accepted => $"usage event {accepted.UsageEventId}, resource usage id {accepted.ResourceUsageId}",
        UsageEventResult.Duplicate { IsReplay: true } => "already billed (a replay)",
        UsageEventResult.Duplicate conflict => $"the hour already holds {conflict.Original?.Quantity}",
        UsageEventResult.Failure failure => $"{failure.Code}: {failure.Message}",
        _ => result.Status.ToString(),
    };
    Console.WriteLine($"{result.Event.Dimension,-14} {result.Event.Quantity,8} {result.Status,-10} {detail}");
}

await host.StopAsync();
Console.WriteLine(batch.IsAllDelivered ? "All usage delivered." : "Some usage was not delivered; see above.");
return batch.IsAllDelivered ? 0 : 1;

static async Task<MeteringEmulator> StartEmulatorAsync(string resourceUri, string planId, IEnumerable<string> dimensions)
{
    var options = new MeteringEmulatorOptions();
    // The marketplace gives each managed application a resource usage id, which it answers a URI event with.
    var resourceUsageId = Guid.Parse("3e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c0b");
    options.Resources.Add(new EmulatedResource { ResourceId = resourceUsageId, ResourceUri = resourceUri, PlanId = planId, Dimensions = dimensions.ToList() });
    return await MeteringEmulator.StartAsync(options);
}
