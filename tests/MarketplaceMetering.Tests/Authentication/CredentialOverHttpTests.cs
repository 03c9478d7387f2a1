using MarketplaceMetering.Emulator;
using Microsoft.Extensions.Logging.Testing;

namespace MarketplaceMetering.Tests.Authentication;

/// <summary>Token handling seen from the service's side: one fetch, the bearer header, refresh, and no token in any output.</summary>
public class CredentialOverHttpTests
{
    [Fact]
    public async Task SubmitUsageEventAsync_ManyCalls_FetchOneTokenAndSendItAsBearer()
    {
        CountingCredential? credential = null;
        await using var h = await Harness.StartAsync(credential: e => credential = new CountingCredential(e.Token, TimeProvider.System));

        for (var i = 0; i < 5; i++)
        {
            await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(i)));
        }

        await h.Client.SubmitBatchUsageEventAsync(TestEvents.Distinct(h.Clock, 3, dimension: "dim2"));

        credential!.Fetches.Should().Be(1);
        h.Emulator.Requests.Should().HaveCount(6).And.OnlyContain(r => r.Headers["Authorization"] == "Bearer " + h.Emulator.Token);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_ConcurrentCalls_ShareOneFetch()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        CountingCredential? credential = null;
        await using var h = await Harness.StartAsync(credential: e => credential = new CountingCredential(e.Token, TimeProvider.System) { Gate = gate.Task });

        var calls = Enumerable.Range(0, 20).Select(i => h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(i)))).ToList();
        gate.SetResult();
        var results = await Task.WhenAll(calls);

        results.Should().AllBeOfType<UsageEventResult.Accepted>();
        credential!.Fetches.Should().Be(1);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_TokenNearExpiry_IsRefreshedFiveMinutesBefore()
    {
        var clock = new Testing.TestClock();
        CountingCredential? credential = null;
        await using var h = await Harness.StartAsync(clock: clock, credential: e => credential = new CountingCredential(e.Token, clock) { Lifetime = TimeSpan.FromHours(1) });
        await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(1)));

        clock.Advance(TimeSpan.FromMinutes(55) - TimeSpan.FromSeconds(1));
        await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(2)));
        credential!.Fetches.Should().Be(1);

        clock.Advance(TimeSpan.FromSeconds(1));
        await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(3)));
        await Eventually.HoldsAsync(() => credential.Fetches == 2, "the token is refreshed in the background five minutes before expiry");
        h.Emulator.Requests.Should().HaveCount(3).And.OnlyContain(r => r.ResponseStatus == 200);
    }

    [Fact]
    public async Task Token_NeverAppearsInLogsExceptionsOrToString()
    {
        const string Secret = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiIyMGU5NDBiMyJ9.c2VjcmV0LXNpZ25hdHVyZQ";
        var logs = new FakeLogCollector();
        using var factory = FakeLogging.CreateFactory(logs);
        await using var h = await Harness.StartAsync(
            emulator: o => o.Token = Secret,
            client: o => o.LoggerFactory = factory,
            credential: _ => new CountingCredential(Secret, TimeProvider.System));
        var outputs = new List<string>();

        h.Emulator.Faults.Enqueue(EmulatorFault.ServerError(503), EmulatorFault.DropAfterAccept());
        var replay = await h.Client.SubmitUsageEventAsync(h.HourAgo());
        outputs.Add(replay.ToString());
        outputs.Add((await h.Client.SubmitBatchUsageEventAsync(TestEvents.Distinct(h.Clock, 2, "dim2"))).ToString());

        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(403, "{\"message\":\"token " + Secret + " rejected\",\"code\":\"Forbidden\"}"));
        outputs.Add((await FluentActions.Awaiting(() => h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(7)))).Should().ThrowAsync<MeteringException>()).Which.ToString());

        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(500, "echo Bearer " + Secret), EmulatorFault.Respond(500, Secret), EmulatorFault.Respond(500, Secret), EmulatorFault.Respond(500, Secret));
        outputs.Add((await FluentActions.Awaiting(() => h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(8)))).Should().ThrowAsync<MeteringException>()).Which.ToString());

        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, "not json " + Secret));
        outputs.Add((await FluentActions.Awaiting(() => h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(9)))).Should().ThrowAsync<MeteringException>()).Which.ToString());
        outputs.Add(h.Client.ToString()!);

        var logged = logs.GetSnapshot().Select(r => r.Render()).ToList();
        logged.Should().NotBeEmpty();
        logged.Should().Contain(l => l.Contains("Retry", StringComparison.OrdinalIgnoreCase));
        logged.Should().NotContain(l => l.Contains(Secret));
        outputs.Should().NotContain(o => o.Contains(Secret));
    }
}
