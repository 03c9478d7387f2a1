using Azure.Core;
using Microsoft.Identity.Client;

namespace MarketplaceMetering;

/// <summary>
/// A <see cref="TokenCredential"/> over an MSAL confidential client application (client secret or certificate),
/// the way SaaS publishers authenticate. MSAL keeps its own in-memory token cache.
/// </summary>
internal sealed class ConfidentialClientCredential : TokenCredential
{
    private readonly IConfidentialClientApplication _application;
    private readonly string _tenantId;
    private readonly string _clientId;
    private readonly string _kind;

    public ConfidentialClientCredential(IConfidentialClientApplication application, string tenantId, string clientId, string kind)
    {
        _application = application;
        _tenantId = tenantId;
        _clientId = clientId;
        _kind = kind;
    }

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

    public override async ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        var result = await _application
            .AcquireTokenForClient(requestContext.Scopes)
            .ExecuteAsync(cancellationToken)
            .ConfigureAwait(false);
        return new AccessToken(result.AccessToken, result.ExpiresOn);
    }

    /// <summary>Names the app and tenant; never the secret, the certificate's key or a token.</summary>
    public override string ToString() => $"MeteringCredential({_kind}, tenant {_tenantId}, client {_clientId})";
}
