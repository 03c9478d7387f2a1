using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace MarketplaceMetering.Tests.Authentication;

/// <summary>
/// A rejected token is never reused (review of the core, item 4): a 401 evicts the cached token, a fresh one is
/// fetched and the call is sent once more; a second 401 is <see cref="MeteringAuthorizationException"/>.
/// </summary>
public class UnauthorizedTests
{
    private const string Unauthorized = """{"code":"Unauthorized","message":"The access token has expired."}""";

    [Fact]
    public async Task SubmitUsageEventAsync_401Once_EvictsTokenFetchesFreshOneAndResends()
    {
        ScriptedCredential? credential = null;
        await using var h = await Harness.StartAsync(credential: e => credential = new ScriptedCredential(TimeProvider.System, e.Token).ThenToken("rejected-token-0001"));
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(401, Unauthorized));

        var result = await h.Client.SubmitUsageEventAsync(h.HourAgo());

        result.Should().BeOfType<UsageEventResult.Accepted>();
        credential!.Calls.Should().Be(2, "the rejected token was evicted and a fresh one fetched");
        h.Emulator.Requests.Select(r => r.Headers["Authorization"]).Should().Equal("Bearer rejected-token-0001", "Bearer " + h.Emulator.Token);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_CredentialHandsOutTokensAlreadyExpired_OneTokenRequestForManyCallsAndA401StillEvicts()
    {
        // A clock running an hour fast, or a credential that sets no expiry: every token looks expired on arrival.
        var clock = new TestClock();
        var logs = new FakeLogCollector();
        using var factory = FakeLogging.CreateFactory(logs);
        ScriptedCredential? credential = null;
        await using var h = await Harness.StartAsync(
            clock: clock,
            client: o => o.LoggerFactory = factory,
            credential: e => credential = new ScriptedCredential(clock, e.Token) { Lifetime = TimeSpan.FromHours(-1) });

        for (var i = 0; i < 10; i++)
        {
            (await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(i)))).Should().BeOfType<UsageEventResult.Accepted>();
        }

        credential!.Calls.Should().Be(1, "ten calls, one token request");
        logs.GetSnapshot().Should().Contain(r => r.Level == LogLevel.Warning && r.Message.Contains("too soon", StringComparison.Ordinal))
            .And.OnlyContain(r => !r.Message.Contains(h.Emulator.Token, StringComparison.Ordinal));

        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(401, Unauthorized));
        (await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(10)))).Should().BeOfType<UsageEventResult.Accepted>();
        credential.Calls.Should().Be(2, "the service's 401 still evicts the kept token at once");
    }

    [Fact]
    public async Task SubmitUsageEventAsync_401Twice_ThrowsAuthorizationExceptionAfterOneResend()
    {
        ScriptedCredential? credential = null;
        await using var h = await Harness.StartAsync(credential: e => credential = new ScriptedCredential(TimeProvider.System, e.Token));
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(401, Unauthorized), EmulatorFault.Respond(401, Unauthorized));

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo());

        var e = (await act.Should().ThrowAsync<MeteringAuthorizationException>()).Which;
        e.StatusCode.Should().Be(401);
        credential!.Calls.Should().Be(2);
        h.Emulator.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_401Once_ResendsWithFreshToken()
    {
        ScriptedCredential? credential = null;
        await using var h = await Harness.StartAsync(credential: e => credential = new ScriptedCredential(TimeProvider.System, e.Token).ThenToken("rejected-token-0002"));
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(401, Unauthorized));

        var batch = await h.Client.SubmitBatchUsageEventAsync(TestEvents.Distinct(h.Clock, 5));

        batch.IsAllDelivered.Should().BeTrue();
        credential!.Calls.Should().Be(2);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_403_TokenIsEvictedSoTheNextCallFetchesAFreshOne()
    {
        ScriptedCredential? credential = null;
        await using var h = await Harness.StartAsync(credential: e => credential = new ScriptedCredential(TimeProvider.System, e.Token).ThenToken("refused-token-0004"));

        var first = () => h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(1)));
        (await first.Should().ThrowAsync<MeteringAuthorizationException>()).Which.StatusCode.Should().Be(403);
        var second = await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(2)));

        second.Should().BeOfType<UsageEventResult.Accepted>();
        h.Emulator.Requests.Should().HaveCount(2, "a 403 is not resent");
        credential!.Calls.Should().Be(2, "the refused token was not kept");
    }

    [Fact]
    public async Task SubmitUsageEventAsync_After401_RejectedTokenIsNeverSentAgain()
    {
        ScriptedCredential? credential = null;
        await using var h = await Harness.StartAsync(credential: e => credential = new ScriptedCredential(TimeProvider.System, e.Token).ThenToken("rejected-token-0003"));
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(401, Unauthorized));

        for (var i = 0; i < 5; i++)
        {
            await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(i)));
        }

        h.Emulator.Requests.Skip(1).Should().OnlyContain(r => r.Headers["Authorization"] == "Bearer " + h.Emulator.Token);
        credential!.Calls.Should().Be(2);
    }

    [Fact]
    public async Task FromClientSecret_After401_AsksEntraForAFreshTokenNotMsalsCachedOne()
    {
        await using var emulator = await MeteringEmulator.StartAsync();
        using var login = LoginServer.Start(LoginServer.Token("entra-token-rejected"), LoginServer.Token(emulator.Token));
        var credential = MeteringCredential.FromClientSecret(LoginServer.Tenant, LoginServer.Client, "s3cr3t-value-401-test", new RedirectingMsalFactory(login));
        using var client = new MeteringClient(credential, new MeteringClientOptions { Endpoint = emulator.Endpoint });
        emulator.Faults.Enqueue(EmulatorFault.Respond(401, Unauthorized));

        var result = await client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        result.Should().BeOfType<UsageEventResult.Accepted>("the resend carries Entra's second token, not MSAL's cached first one (which the emulator would refuse)");
        emulator.Requests.Select(r => r.Headers["Authorization"]).Should().Equal("Bearer entra-token-rejected", "Bearer " + emulator.Token);
        login.TokenRequests().Should().HaveCount(2);
    }
}
