using Azure.Core;
using Microsoft.Identity.Client;

namespace MarketplaceMetering;

/// <summary>
/// A <see cref="TokenCredential"/> over an MSAL confidential client application (client secret or certificate),
/// the way SaaS publishers authenticate. MSAL keeps its own in-memory token cache; after the service rejects a token
/// the client asks for a forced refresh, so the next token comes from Entra ID, not from that cache.
/// </summary>
internal sealed class ConfidentialClientCredential : TokenCredential, IForceRefreshCredential
{
    private readonly IConfidentialClientApplication _application;
    private readonly string _tenantId;
    private readonly string _clientId;
    private readonly string _kind;

    public ConfidentialClientCredential(IConfidentialClientApplication application, string tenantId, string clientId, string kind, string? clientSecret = null)
    {
        _application = application;
        _tenantId = tenantId;
        _clientId = clientId;
        _kind = kind;
        ClientSecret = clientSecret;
    }

    /// <summary>The client secret, for the client's redaction of its own outputs only; never shown.</summary>
    internal string? ClientSecret { get; }

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, forceRefresh: false, cancellationToken).AsTask().GetAwaiter().GetResult();

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, forceRefresh: false, cancellationToken);

    public async ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, bool forceRefresh, CancellationToken cancellationToken)
    {
        var result = await _application
            .AcquireTokenForClient(requestContext.Scopes)
            .WithForceRefresh(forceRefresh)
            .ExecuteAsync(cancellationToken)
            .ConfigureAwait(false);
        return new AccessToken(result.AccessToken, result.ExpiresOn, result.AuthenticationResultMetadata?.RefreshOn);
    }

    /// <summary>Names the app and tenant; never the secret, the certificate's key or a token.</summary>
    public override string ToString() => $"MeteringCredential({_kind}, tenant {_tenantId}, client {_clientId})";
}
