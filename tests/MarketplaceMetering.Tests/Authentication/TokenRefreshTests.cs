using Azure.Core;
using MarketplaceMetering.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace MarketplaceMetering.Tests.Authentication;

/// <summary>
/// Refreshing a token never holds callers up while the cached one is valid (review of the core, item 2): one
/// background refresh at a time, a failed refresh backs off instead of being retried by every caller, callers block
/// only when no valid token exists, and the refresh margin adapts to short-lived tokens. Azure.Core's
/// <c>BearerTokenAuthenticationPolicy</c> is the model.
/// </summary>
public class TokenRefreshTests
{
    private readonly TestClock _clock = new();

    [Fact]
    public async Task GetTokenAsync_RefreshDueWhileTokenValid_CallersGetCachedTokenAtOnceAndOneRefreshRuns()
    {
        var refreshGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var credential = new ScriptedCredential(_clock).ThenToken("first-token-aaaa").ThenWait(refreshGate.Task);
        credential.Token = "second-token-bbbb";
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);
        await cache.GetTokenValueAsync();
        _clock.Advance(TimeSpan.FromMinutes(56));

        var tokens = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var pending = cache.GetTokenValueAsync();
            pending.IsCompleted.Should().BeTrue("a valid cached token is handed out without waiting for the refresh");
            tokens.Add(await pending);
        }

        tokens.Should().OnlyContain(t => t == "first-token-aaaa");
        await Eventually.HoldsAsync(() => credential.Calls == 2, "the background refresh started");
        credential.Calls.Should().Be(2, "one background refresh, not one per caller");

        refreshGate.SetResult();
        await Eventually.HoldsAsync(() => cache.GetTokenValueAsync().Result == "second-token-bbbb", "the refreshed token replaces the cached one");
        credential.Calls.Should().Be(2);
    }

    [Fact]
    public async Task GetTokenAsync_BackgroundRefreshFails_BacksOffInsteadOfAskingOnEveryCall()
    {
        var credential = new ScriptedCredential(_clock, "the-only-token-1").ThenToken("the-only-token-1").ThenThrow(() => new HttpRequestException("Entra is down"));
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);
        await cache.GetTokenValueAsync();
        _clock.Advance(TimeSpan.FromMinutes(56));

        (await cache.GetTokenValueAsync()).Should().Be("the-only-token-1");
        await Eventually.HoldsAsync(() => credential.Calls == 2 && !cache.IsFetching, "the background refresh ran and failed");
        for (var i = 0; i < 50; i++)
        {
            (await cache.GetTokenValueAsync()).Should().Be("the-only-token-1");
        }

        credential.Calls.Should().Be(2, "a failed refresh is not retried by every caller");

        _clock.Advance(TimeSpan.FromSeconds(30)); // the documented back-off after a failed refresh
        await cache.GetTokenValueAsync();
        await Eventually.HoldsAsync(() => credential.Calls == 3, "after the back-off one more refresh is tried");
    }

    [Fact]
    public async Task GetTokenAsync_RefreshesFailSlowly_ConcurrentCallersNeverWait()
    {
        var neverAnswers = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var credential = new ScriptedCredential(_clock, "cached-token-cccc").ThenToken("cached-token-cccc").ThenWait(neverAnswers.Task, () => new HttpRequestException("slow failure"));
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);
        await cache.GetTokenValueAsync();
        _clock.Advance(TimeSpan.FromMinutes(57));

        var callers = Enumerable.Range(0, 20).Select(_ => Task.Run(async () => await cache.GetTokenValueAsync())).ToArray();
        var tokens = await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(20));

        tokens.Should().OnlyContain(t => t == "cached-token-cccc");
        await Eventually.HoldsAsync(() => credential.Calls == 2, "the background refresh started");
        credential.Calls.Should().Be(2);
        neverAnswers.SetResult();
    }

    [Fact]
    public async Task GetTokenAsync_TokenExpiredAndRefreshPending_CallersWaitForTheOneFetch()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var credential = new ScriptedCredential(_clock, "fresh-token-dddd").ThenToken("old-token-eeee").ThenWait(gate.Task);
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);
        await cache.GetTokenValueAsync();
        _clock.Advance(TimeSpan.FromHours(1));

        var callers = Enumerable.Range(0, 10).Select(_ => cache.GetTokenValueAsync()).ToArray();
        callers.Should().OnlyContain(c => !c.IsCompleted, "no valid token exists: callers wait");
        gate.SetResult();

        (await Task.WhenAll(callers)).Should().OnlyContain(t => t == "fresh-token-dddd");
        credential.Calls.Should().Be(2);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(2)]
    public async Task GetTokenAsync_ShortLivedTokens_RefreshAtHalfLifeNotOnEveryCall(int minutes)
    {
        var credential = new ScriptedCredential(_clock, "short-lived-ffff") { Lifetime = TimeSpan.FromMinutes(minutes) };
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);

        for (var i = 0; i < 10; i++)
        {
            await cache.GetTokenValueAsync();
        }

        credential.Calls.Should().Be(1, "a token that lives under five minutes is still reused");

        _clock.Advance(TimeSpan.FromMinutes(minutes / 2.0) - TimeSpan.FromSeconds(1));
        await cache.GetTokenValueAsync();
        credential.Calls.Should().Be(1);

        _clock.Advance(TimeSpan.FromSeconds(1));
        await cache.GetTokenValueAsync();
        await Eventually.HoldsAsync(() => credential.Calls == 2, "half-way through its life the token is refreshed");
    }

    public static TheoryData<string> TooShortLifetimes => ["expired an hour ago", "expires now", "expires in a second", "no expiry set"];

    [Theory]
    [MemberData(nameof(TooShortLifetimes))]
    public async Task GetTokenAsync_TokenArrivesExpiredOrAboutTo_KeptThirtySecondsNotFetchedPerCall(string lifetime)
    {
        var credential = new ScriptedCredential(_clock, "too-short-hhhh").Then(_ => Task.FromResult(new AccessToken("too-short-hhhh", lifetime switch
        {
            "expired an hour ago" => _clock.GetUtcNow().AddHours(-1),
            "expires now" => _clock.GetUtcNow(),
            "expires in a second" => _clock.GetUtcNow().AddSeconds(1),
            _ => default,
        })));
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);

        for (var i = 0; i < 20; i++)
        {
            (await cache.GetTokenValueAsync()).Should().Be("too-short-hhhh");
        }

        credential.Calls.Should().Be(1, "a token that arrives (nearly) expired is still kept, not fetched again per call");
        _clock.Advance(AccessTokenCache.MinimumTokenLifetime / 2 - TimeSpan.FromSeconds(1));
        await cache.GetTokenValueAsync();
        (credential.Calls == 1 && !cache.IsFetching).Should().BeTrue("no refresh starts before half the kept time");

        _clock.Advance(TimeSpan.FromSeconds(1));
        var pending = cache.GetTokenValueAsync();
        pending.IsCompleted.Should().BeTrue("the kept token serves while the refresh runs in the background");
        await Eventually.HoldsAsync(() => credential.Calls == 2, "half-way through the kept time the token is refreshed");
    }

    [Fact]
    public async Task GetTokenAsync_RefreshHintAlreadyPast_NoRefreshPerCall()
    {
        var credential = new ScriptedCredential(_clock, "hinted-past-iiii") { Lifetime = TimeSpan.FromHours(1), RefreshAfter = TimeSpan.FromMinutes(-5) };
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);

        for (var i = 0; i < 20; i++)
        {
            await cache.GetTokenValueAsync();
        }

        (credential.Calls == 1 && !cache.IsFetching).Should().BeTrue("a refresh hint in the past must not start a refresh on every call");
        _clock.Advance(AccessTokenCache.MinimumTokenLifetime / 2);
        await cache.GetTokenValueAsync();
        await Eventually.HoldsAsync(() => credential.Calls == 2, "the refresh starts once the earliest refresh time has come");
    }

    [Fact]
    public async Task GetTokenAsync_CredentialSaysWhenToRefresh_ThatHintIsHonoured()
    {
        var credential = new ScriptedCredential(_clock, "hinted-token-gggg") { Lifetime = TimeSpan.FromHours(24), RefreshAfter = TimeSpan.FromHours(12) };
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);
        await cache.GetTokenValueAsync();

        _clock.Advance(TimeSpan.FromHours(12) - TimeSpan.FromSeconds(1));
        await cache.GetTokenValueAsync();
        credential.Calls.Should().Be(1);

        _clock.Advance(TimeSpan.FromSeconds(1));
        await cache.GetTokenValueAsync();
        await Eventually.HoldsAsync(() => credential.Calls == 2, "the credential's RefreshOn is honoured");
    }

    [Fact]
    public async Task SubmitUsageEventAsync_20ConcurrentCallsWhileRefreshFailsSlowly_AllReachTheServiceWithTheCachedToken()
    {
        var clock = new TestClock();
        var slowFailure = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ScriptedCredential? credential = null;
        await using var h = await Harness.StartAsync(
            clock: clock,
            client: o => o.NetworkTimeout = TimeSpan.FromSeconds(2),
            credential: e => credential = new ScriptedCredential(clock, e.Token).ThenToken(e.Token).ThenWait(slowFailure.Task, () => new HttpRequestException("Entra timed out")));
        await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(100)));
        clock.Advance(TimeSpan.FromMinutes(56));

        var calls = Enumerable.Range(0, 20).Select(i => h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(i)))).ToArray();
        var results = await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(30));

        results.Should().AllBeOfType<UsageEventResult.Accepted>();
        await Eventually.HoldsAsync(() => credential!.Calls == 2, "the background refresh started");
        credential!.Calls.Should().Be(2, "one initial fetch and one background refresh");
        h.Emulator.Requests.Should().HaveCount(21).And.OnlyContain(r => r.ResponseStatus == 200);
        slowFailure.SetResult();
    }
}
