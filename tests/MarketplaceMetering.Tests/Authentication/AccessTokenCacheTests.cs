using MarketplaceMetering.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace MarketplaceMetering.Tests.Authentication;

public class AccessTokenCacheTests
{
    private readonly TestClock _clock = new();

    [Fact]
    public async Task GetTokenAsync_ManyCalls_FetchesOnceForTheMarketplaceScope()
    {
        var credential = new CountingCredential("tok", _clock);
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);

        for (var i = 0; i < 10; i++)
        {
            (await cache.GetTokenValueAsync()).Should().Be("tok");
        }

        credential.Fetches.Should().Be(1);
        credential.Scopes.Single().Should().Equal("20e940b3-4c77-4b0b-9a53-9e16a1b010a7/.default");
    }

    [Fact]
    public async Task GetTokenAsync_UntilFiveMinutesBeforeExpiry_ReusesThenRefreshes()
    {
        var credential = new CountingCredential("tok", _clock) { Lifetime = TimeSpan.FromMinutes(60) };
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);
        await cache.GetTokenValueAsync();

        _clock.Advance(TimeSpan.FromMinutes(55) - TimeSpan.FromSeconds(1));
        await cache.GetTokenValueAsync();
        credential.Fetches.Should().Be(1, "the token still has more than five minutes to live");

        _clock.Advance(TimeSpan.FromSeconds(1));
        await cache.GetTokenValueAsync();
        await Eventually.HoldsAsync(() => credential.Fetches == 2, "five minutes before expiry the token is refreshed (in the background)");
    }

    [Fact]
    public async Task GetTokenAsync_ConcurrentCallers_TriggerOneFetch()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var credential = new CountingCredential("tok", _clock) { Gate = gate.Task };
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);

        var callers = Enumerable.Range(0, 32).Select(_ => Task.Run(async () => await cache.GetTokenValueAsync())).ToList();
        await Task.Yield();
        gate.SetResult();
        var tokens = await Task.WhenAll(callers);

        tokens.Should().OnlyContain(t => t == "tok");
        credential.Fetches.Should().Be(1);
    }

    [Fact]
    public async Task GetTokenAsync_RefreshFailsWhileTokenStillValid_KeepsUsingIt()
    {
        var credential = new CountingCredential("tok", _clock) { Lifetime = TimeSpan.FromMinutes(60) };
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);
        await cache.GetTokenValueAsync();
        credential.Failure = () => new InvalidOperationException("Entra ID is down");

        _clock.Advance(TimeSpan.FromMinutes(57));

        (await cache.GetTokenValueAsync()).Should().Be("tok");
        await Eventually.HoldsAsync(() => credential.Fetches == 2, "the background refresh ran and failed");
        (await cache.GetTokenValueAsync()).Should().Be("tok");
    }

    [Fact]
    public async Task GetTokenAsync_CredentialFails_ThrowsAuthorizationExceptionWithCause()
    {
        var credential = new CountingCredential("tok", _clock) { Failure = () => new InvalidOperationException("AADSTS7000215: Invalid client secret provided.") };
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);

        var act = () => cache.GetTokenValueAsync();

        var e = (await act.Should().ThrowAsync<MeteringAuthorizationException>()).Which;
        e.InnerException.Should().BeOfType<InvalidOperationException>();
        e.Message.Should().Contain("AADSTS7000215").And.Contain(MeteringClient.Scope);
        e.StatusCode.Should().BeNull();
    }

    [Fact]
    public async Task GetTokenAsync_EmptyToken_ThrowsAuthorizationException()
    {
        var credential = new CountingCredential(string.Empty, _clock);
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);

        var act = () => cache.GetTokenValueAsync();

        await act.Should().ThrowAsync<MeteringAuthorizationException>().WithMessage("*empty token*");
    }
}
