// AspNetCoreAccumulation: a minimal web API that records usage per request and bills each hour exactly once.
//
//   dotnet run --project samples/AspNetCoreAccumulation
//       starts the metering emulator in this process and a SQLite ledger (usage.db next to the program). Each
//       POST /convert/{subscriptionId} records one "conversions" unit; GET /usage shows the ledger. The flusher sends
//       every hour closed longer than the grace period; with the emulator, usage recorded an hour ago at start-up
//       shows a flush within seconds.
//   See README.md for the real service and for PostgreSQL.
using MarketplaceMetering;
using MarketplaceMetering.Emulator;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
var useEmulator = builder.Configuration.GetValue("Sample:UseEmulator", true);
var planId = builder.Configuration["Sample:PlanId"] ?? "pro";
var dimension = builder.Configuration["Sample:Dimension"] ?? "conversions";

await using var emulator = useEmulator ? await MeteringEmulator.StartAsync() : null;
if (emulator is not null)
{
    // The emulator accepts one bearer token: its credential stands in for the offer's app registration. The demo
    // flushes every few seconds, with no grace, so that usage from the previous hour is sent at once.
    builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["MarketplaceMetering:Endpoint"] = emulator.Endpoint.ToString(),
        ["MarketplaceMetering:Credential:Kind"] = "TokenCredential",
        ["MarketplaceMetering:Accumulation:Grace"] = "00:00:00",
        ["MarketplaceMetering:Accumulation:FlushInterval"] = "00:00:02",
    });
    builder.Services.AddSingleton(emulator.Credential);
    Console.WriteLine($"Metering emulator running in this process at {emulator.Endpoint}");
}

// A relative SQLite path is read against the working directory, as any SQLite connection string is. This sample keeps
// its ledger next to the program instead, so that `dotnet run` leaves no file in the source tree.
var isPostgreSql = string.Equals(builder.Configuration["MarketplaceMetering:Accumulation:Ledger"], "PostgreSql", StringComparison.OrdinalIgnoreCase);
if (!isPostgreSql && builder.Configuration["MarketplaceMetering:Accumulation:ConnectionString"] is { Length: > 0 } ledgerFile
    && !ledgerFile.Contains('=', StringComparison.Ordinal) && !Path.IsPathRooted(ledgerFile))
{
    builder.Configuration["MarketplaceMetering:Accumulation:ConnectionString"] = Path.Combine(builder.Environment.ContentRootPath, ledgerFile);
}

builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("MarketplaceMetering"));
var accumulation = builder.Services.AddMarketplaceMeteringAccumulation(builder.Configuration.GetSection("MarketplaceMetering:Accumulation"));
if (isPostgreSql)
{
    accumulation.UsePostgreSqlLedger();
}

var app = builder.Build();

// The hot path: one pre-resolved meter per subscription would do too; Record looks the meter up by name.
app.MapPost("/convert/{subscriptionId:guid}", (Guid subscriptionId, UsageRecorder recorder) =>
{
    recorder.Record(subscriptionId, planId, dimension, 1m);
    return Results.Ok(new { recorded = 1, dimension });
});

// What the ledger holds for the last day, with each hour's state.
app.MapGet("/usage", async (UsageRecorder recorder) =>
{
    await recorder.SaveAsync();
    var now = DateTimeOffset.UtcNow;
    var rows = await recorder.Ledger.GetEntriesAsync(now.AddDays(-1), now.AddHours(1));
    return Results.Ok(rows.Select(r => new { resource = r.Resource.ToString(), r.Dimension, hour = r.Hour, r.Quantity, state = r.State.ToString(), r.UsageEventId }));
});

if (emulator is not null)
{
    // Stand-in for usage recorded before a restart: the previous hour of a demo subscription, already closed.
    var recorder = app.Services.GetRequiredService<UsageRecorder>();
    var demo = Guid.Parse("6f1e4d2c-8b3a-4c5d-9e0f-1a2b3c4d5e6f");
    await recorder.RecordAsync(demo, planId, dimension, 42m, DateTimeOffset.UtcNow.AddHours(-1));
    Console.WriteLine($"Recorded 42 {dimension} for {demo} in the previous hour; the flusher sends it shortly.");
}

app.Run();
