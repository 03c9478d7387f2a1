using System.Collections.Concurrent;
using Azure.Core;

namespace MarketplaceMetering.Tests;

/// <summary>
/// A credential that follows a script, one step per call (throw, hand out a given token, wait at a gate), then hands
/// out <see cref="Token"/> once the script is used up. Counts calls and records every token it issued, so tests can
/// tell which token a request carried.
/// </summary>
internal sealed class ScriptedCredential(TimeProvider clock, string token = "scripted-token-0001") : TokenCredential
{
    private readonly ConcurrentQueue<Func<CancellationToken, Task<AccessToken>>> _script = new();
    private readonly ConcurrentQueue<string> _issued = new();
    private int _calls;

    /// <summary>The token handed out when the script is used up.</summary>
    public string Token { get; set; } = token;

    /// <summary>How long the tokens handed out live.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The credential's own refresh hint (<see cref="AccessToken.RefreshOn"/>), relative to issue time.</summary>
    public TimeSpan? RefreshAfter { get; set; }

    public int Calls => Volatile.Read(ref _calls);

    public IReadOnlyList<string> Issued => _issued.ToArray();

    public ScriptedCredential ThenThrow(Func<Exception> failure) => Then(_ => Task.FromException<AccessToken>(failure()));

    public ScriptedCredential ThenToken(string value) => Then(_ => Task.FromResult(Issue(value)));

    /// <summary>Waits at <paramref name="gate"/> (the caller's cancellation ends the wait), then throws or hands out <see cref="Token"/>.</summary>
    public ScriptedCredential ThenWait(Task gate, Func<Exception>? failure = null) => Then(async cancellationToken =>
    {
        await gate.WaitAsync(cancellationToken);
        return failure is null ? Issue(Token) : throw failure();
    });

    public ScriptedCredential Then(Func<CancellationToken, Task<AccessToken>> step)
    {
        _script.Enqueue(step);
        return this;
    }

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        return _script.TryDequeue(out var step) ? await step(cancellationToken) : Issue(Token);
    }

    private AccessToken Issue(string value)
    {
        _issued.Enqueue(value);
        var now = clock.GetUtcNow();
        return RefreshAfter is { } after
            ? new AccessToken(value, now + Lifetime, now + after)
            : new AccessToken(value, now + Lifetime);
    }
}
