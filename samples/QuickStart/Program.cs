// QuickStart: report metered usage with MarketplaceMetering.
//
//   dotnet run --project samples/QuickStart
//       starts the metering emulator in this process and shows the service's rules at work.
//   dotnet run --project samples/QuickStart -- --tenant-id T --client-id C --client-secret S --resource-id R --plan-id P --dimension D
//       sends to the real service (or to --endpoint); the same settings can come from METERING_* environment variables.
using MarketplaceMetering;
using MarketplaceMetering.Emulator;
using QuickStart;

var settings = Settings.Parse(args);
if (settings.Help)
{
    Console.WriteLine(Settings.Usage);
    return 0;
}

if (settings.Problem is { } problem)
{
    Console.Error.WriteLine(problem);
    Console.Error.WriteLine(Settings.Usage);
    return 2;
}

try
{
    return settings.UseEmulator ? await RunOnEmulatorAsync() : await RunOnServiceAsync(settings);
}
catch (MeteringException e)
{
    Console.Error.WriteLine($"The metering service could not be used: {e.Message}");
    return 1;
}

static async Task<int> RunOnEmulatorAsync()
{
    // The emulator's clock runs 10 minutes ahead of this machine's: a common real-world skew, and how an event this
    // machine still thinks is inside the 24-hour window reaches the service already expired.
    var serviceClock = new SkewedTimeProvider(TimeSpan.FromMinutes(10));
    var subscription = Guid.Parse("8f7e6d5c-4b3a-4291-8a7b-6c5d4e3f2a10");
    var suspended = Guid.Parse("1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5");
    var options = new MeteringEmulatorOptions { TimeProvider = serviceClock, Seed = 7 };
    options.Resources.Add(new EmulatedResource { ResourceId = subscription, PlanId = "gold", Dimensions = ["emails", "sms"], OfferId = "contoso-mail" });
    options.Resources.Add(new EmulatedResource { ResourceId = suspended, PlanId = "gold", Dimensions = ["emails"], Status = EmulatedResourceStatus.Suspended });

    await using var emulator = await MeteringEmulator.StartAsync(options);
    using var client = new MeteringClient(emulator.Credential, new MeteringClientOptions { Endpoint = emulator.Endpoint });
    Console.WriteLine($"Metering emulator running in this process at {emulator.Endpoint}");
    Console.WriteLine();

    var now = TimeProvider.System.GetUtcNow();
    var previousHour = now.AddHours(-1);
    var lastHour = new DateTimeOffset(previousHour.Year, previousHour.Month, previousHour.Day, previousHour.Hour, 5, 0, TimeSpan.Zero);
    var table = new ResultTable();

    var first = UsageEvent.ForResourceId(subscription, "gold", "emails", 1250, lastHour);
    table.Add("1. An hour of usage", await client.SubmitUsageEventAsync(first));

    var again = UsageEvent.ForResourceId(subscription, "gold", "emails", 1250, lastHour.AddMinutes(40));
    table.Add("2. The same hour again", await client.SubmitUsageEventAsync(again));

    var late = UsageEvent.ForResourceId(subscription, "gold", "sms", 40, now - TimeSpan.FromHours(24) + TimeSpan.FromMinutes(5));
    table.Add("3. Usage from ~24 h ago", await client.SubmitUsageEventAsync(late));

    var batch = await client.SubmitBatchUsageEventAsync(
    [
        UsageEvent.ForResourceId(subscription, "gold", "emails", 980, lastHour.AddHours(-1)),
        UsageEvent.ForResourceId(subscription, "gold", "emails", 7, lastHour),
        UsageEvent.ForResourceId(subscription, "gold", "fax", 3, lastHour),
        UsageEvent.ForResourceId(suspended, "gold", "emails", 12, lastHour),
        UsageEvent.ForResourceId(Guid.Parse("00000000-0000-4000-8000-00000000dead"), "gold", "emails", 5, lastHour),
        UsageEvent.ForResourceId(subscription, "gold", "sms", 64.5m, lastHour.AddHours(-2)),
    ]);
    foreach (var result in batch.Results)
    {
        table.Add("4. A batch of six", result);
    }

    table.Print(Console.Out);
    Console.WriteLine();
    Console.WriteLine($"The emulator's ledger holds {emulator.Ledger.Count} accepted events.");
    Console.WriteLine("Step 3: this machine saw the event as 23 h 55 min old and sent it; the service's clock, 10 min ahead, found it expired.");
    Console.WriteLine("Next: docs/results-and-errors.md explains each outcome; docs/authentication.md connects to the real service.");
    return 0;
}

static async Task<int> RunOnServiceAsync(Settings settings)
{
    var credential = MeteringCredential.FromClientSecret(settings.TenantId!, settings.ClientId!, settings.ClientSecret!);
    var options = new MeteringClientOptions();
    if (settings.Endpoint is { } endpoint)
    {
        options.Endpoint = endpoint;
    }

    using var client = new MeteringClient(credential, options);
    Console.WriteLine($"Sending to {client.Endpoint} as app {settings.ClientId} of tenant {settings.TenantId}");
    var usage = UsageEvent.ForResourceId(settings.ResourceId!.Value, settings.PlanId!, settings.Dimension!, settings.Quantity, TimeProvider.System.GetUtcNow().AddHours(-1));

    var table = new ResultTable();
    table.Add("1. An hour of usage", await client.SubmitUsageEventAsync(usage));
    table.Add("2. The same hour again", await client.SubmitUsageEventAsync(usage));
    table.Print(Console.Out);
    return 0;
}
