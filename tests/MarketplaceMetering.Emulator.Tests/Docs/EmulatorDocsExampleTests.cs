using System.Net;
using System.Net.Http.Headers;
using System.Text;

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
}
