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

    [Theory]
    [InlineData("eyJ0.abc\r\nx-ms-evil: injected", "a line break")]
    [InlineData("eyJ0.abc\nx-ms-evil: injected", "a line break")]
    [InlineData("eyJ0.abc\rdef", "a line break")]
    [InlineData("eyJ0.abc\u0000def", "a control character")]
    [InlineData("eyJ0.abc\tdef", "a control character")]
    [InlineData("eyJ0.abc\u007Fdef", "a control character")]
    [InlineData("eyJ0.abc def", "a space")]
    [InlineData("   ", "a space")]
    [InlineData("eyJ0.tökén", "a character outside ASCII")]
    [InlineData("eyJ0.abc\u2028def", "a character outside ASCII")]
    public async Task GetTokenAsync_TokenThatCannotBeAHeaderValue_ThrowsAuthorizationExceptionWithoutQuotingIt(string token, string what)
    {
        var credential = new CountingCredential(token, _clock);
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);

        var act = () => cache.GetTokenValueAsync();

        var e = (await act.Should().ThrowAsync<MeteringAuthorizationException>()).Which;
        e.Message.Should().Contain("cannot be sent in an Authorization header").And.Contain(what).And.Contain(nameof(CountingCredential));
        e.Message.Should().NotContain("eyJ0").And.NotContain("injected");
        e.FailureCode.Should().Be("TokenRefused");
        e.IsRetryable.Should().BeFalse();
    }

    [Theory]
    [InlineData("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiIyMGU5NDBiMyJ9.c2lnbmF0dXJl")]
    [InlineData("opaque~token+with/b64=")]
    [InlineData("emulator-token!#$%&'*^`|")]
    public async Task GetTokenAsync_VisibleAsciiToken_IsAccepted(string token)
    {
        var credential = new CountingCredential(token, _clock);
        using var cache = new AccessTokenCache(credential, _clock, NullLogger.Instance);

        (await cache.GetTokenValueAsync()).Should().Be(token);
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
