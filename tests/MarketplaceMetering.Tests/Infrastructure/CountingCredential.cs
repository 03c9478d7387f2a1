using Azure.Core;

namespace MarketplaceMetering.Tests;

/// <summary>A credential that hands out a fixed token valid for <see cref="Lifetime"/>, counts fetches, and can be held at a gate.</summary>
internal sealed class CountingCredential(string token, TimeProvider clock) : TokenCredential
{
    private int _fetches;

    public TimeSpan Lifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>When set, every fetch waits for this task first (to make concurrent callers pile up).</summary>
    public Task? Gate { get; set; }

    public Func<Exception>? Failure { get; set; }

    public int Fetches => Volatile.Read(ref _fetches);

    public List<string[]> Scopes { get; } = [];

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _fetches);
        lock (Scopes)
        {
            Scopes.Add(requestContext.Scopes);
        }

        if (Gate is { } gate)
        {
            await gate.WaitAsync(cancellationToken);
        }

        if (Failure is { } failure)
        {
            throw failure();
        }

        return new AccessToken(token, clock.GetUtcNow() + Lifetime);
    }
}
