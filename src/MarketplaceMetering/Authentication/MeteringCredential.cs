using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using Azure.Identity;
using Microsoft.Identity.Client;

namespace MarketplaceMetering;

/// <summary>
/// Credentials for the metering service. Any <see cref="TokenCredential"/> works with <see cref="MeteringClient"/>
/// (<c>DefaultAzureCredential</c>, <c>WorkloadIdentityCredential</c>, …); these cover the usual cases. Each asks
/// Microsoft Entra ID for a token for the marketplace's resource (<see cref="MeteringClient.Scope"/>).
/// </summary>
public static class MeteringCredential
{
    /// <summary>
    /// A SaaS offer's registered app, authenticated with a client secret (MSAL confidential client).
    /// Use the tenant id and app (client) id from the offer's technical configuration in Partner Center.
    /// </summary>
    /// <param name="tenantId">The Microsoft Entra tenant id of the app registration.</param>
    /// <param name="clientId">The app (client) id.</param>
    /// <param name="clientSecret">The app's client secret. Never logged or shown by <c>ToString()</c>.</param>
    /// <exception cref="ArgumentException">An argument is empty.</exception>
    public static TokenCredential FromClientSecret(string tenantId, string clientId, string clientSecret) =>
        FromClientSecret(tenantId, clientId, clientSecret, httpClientFactory: null);

    /// <summary>As the public overload; <paramref name="httpClientFactory"/> carries MSAL's calls (a proxy, or a test's loopback token endpoint).</summary>
    internal static TokenCredential FromClientSecret(string tenantId, string clientId, string clientSecret, IMsalHttpClientFactory? httpClientFactory)
    {
        RequireText(tenantId, nameof(tenantId));
        RequireText(clientId, nameof(clientId));
        RequireText(clientSecret, nameof(clientSecret));
        var application = Builder(tenantId, clientId, httpClientFactory).WithClientSecret(clientSecret).Build();
        return new ConfidentialClientCredential(application, tenantId, clientId, "client secret", clientSecret);
    }

    /// <summary>
    /// A SaaS offer's registered app, authenticated with a certificate (MSAL confidential client).
    /// </summary>
    /// <param name="tenantId">The Microsoft Entra tenant id of the app registration.</param>
    /// <param name="clientId">The app (client) id.</param>
    /// <param name="certificate">A certificate registered on the app, with its private key.</param>
    /// <exception cref="ArgumentException">An argument is empty, or the certificate has no private key.</exception>
    public static TokenCredential FromClientCertificate(string tenantId, string clientId, X509Certificate2 certificate) =>
        FromClientCertificate(tenantId, clientId, certificate, httpClientFactory: null);

    /// <summary>As the public overload; <paramref name="httpClientFactory"/> carries MSAL's calls (a proxy, or a test's loopback token endpoint).</summary>
    internal static TokenCredential FromClientCertificate(string tenantId, string clientId, X509Certificate2 certificate, IMsalHttpClientFactory? httpClientFactory)
    {
        RequireText(tenantId, nameof(tenantId));
        RequireText(clientId, nameof(clientId));
        Argument.NotNull(certificate);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("The certificate must include its private key: the app signs its token request with it.", nameof(certificate));
        }

        var application = Builder(tenantId, clientId, httpClientFactory).WithCertificate(certificate).Build();
        return new ConfidentialClientCredential(application, tenantId, clientId, "certificate " + certificate.Thumbprint);
    }

    /// <summary>
    /// The managed identity of the Azure resource the code runs on (VM, App Service, Functions, containers), for
    /// code deployed inside a managed application. Tokens come from the instance metadata endpoint (Azure.Identity).
    /// </summary>
    /// <param name="clientId">A user-assigned identity's client id; <see langword="null"/> for the system-assigned identity.</param>
    public static TokenCredential FromManagedIdentity(string? clientId = null)
    {
        if (clientId is not null && string.IsNullOrWhiteSpace(clientId))
        {
            throw new ArgumentException("The client id of a user-assigned identity must not be empty; pass null for the system-assigned identity.", nameof(clientId));
        }

        var id = clientId is null ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(clientId);
        return new ManagedIdentityCredential(id);
    }

    private static ConfidentialClientApplicationBuilder Builder(string tenantId, string clientId, IMsalHttpClientFactory? httpClientFactory)
    {
        var builder = ConfidentialClientApplicationBuilder.Create(clientId).WithAuthority(AzureCloudInstance.AzurePublic, tenantId);
        return httpClientFactory is null ? builder : builder.WithHttpClientFactory(httpClientFactory);
    }

    private static void RequireText(string value, string paramName)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException("The " + paramName + " must not be empty.", paramName);
        }
    }
}
