using Azure.Core;

namespace MarketplaceMetering.Cli.Authentication;

/// <summary>
/// A bearer token obtained elsewhere (<c>--token</c>: the emulator's, or one from <c>az account get-access-token</c>),
/// handed out as is. Its lifetime is unknown, so it is declared to last an hour; a token the service rejects is not
/// renewed, and the call fails as unauthorized.
/// </summary>
internal sealed class StaticTokenCredential(string token, TimeProvider clock) : TokenCredential
{
    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        new(token, clock.GetUtcNow().AddHours(1));

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        new(GetToken(requestContext, cancellationToken));

    /// <summary>Never shows the token.</summary>
    public override string ToString() => "StaticTokenCredential(***)";
}
