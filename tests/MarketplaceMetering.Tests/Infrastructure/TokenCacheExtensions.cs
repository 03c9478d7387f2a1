namespace MarketplaceMetering.Tests;

/// <summary>The token a cache hands out, as text, for tests that compare it with what a credential issued.</summary>
internal static class TokenCacheExtensions
{
    public static async Task<string> GetTokenValueAsync(this AccessTokenCache cache, CancellationToken cancellationToken = default) =>
        (await cache.GetTokenAsync(cancellationToken)).Value;
}
