using System.Security.Cryptography.X509Certificates;

namespace MarketplaceMetering;

/// <summary>
/// Where a client registered with <c>AddMarketplaceMeteringClient</c> gets its tokens: read from the <c>Credential</c>
/// subsection of its configuration, or set in code. Leave <see cref="Kind"/> unset to use a <c>TokenCredential</c>
/// registered in the service collection.
/// </summary>
/// <example>
/// <code>
/// "MarketplaceMetering": {
///   "Credential": { "Kind": "ClientSecret", "TenantId": "…", "ClientId": "…", "ClientSecret": "…" }
/// }
/// </code>
/// </example>
public sealed class MeteringCredentialOptions
{
    /// <summary>Which credential to build.</summary>
    /// <value>The default is <see langword="null"/>: a <c>TokenCredential</c> registered in the service collection.</value>
    public MeteringCredentialKind? Kind { get; set; }

    /// <summary>The Microsoft Entra tenant id of the app registration (<see cref="MeteringCredentialKind.ClientSecret"/>, <see cref="MeteringCredentialKind.Certificate"/>).</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? TenantId { get; set; }

    /// <summary>
    /// The app (client) id; for <see cref="MeteringCredentialKind.ManagedIdentity"/>, a user-assigned identity's client
    /// id (leave it unset for the system-assigned identity).
    /// </summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? ClientId { get; set; }

    /// <summary>The app's client secret (<see cref="MeteringCredentialKind.ClientSecret"/>). Never logged or shown.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? ClientSecret { get; set; }

    /// <summary>A PFX/PKCS#12 file holding the certificate and its private key (<see cref="MeteringCredentialKind.Certificate"/>).</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? CertificatePath { get; set; }

    /// <summary>The password of <see cref="CertificatePath"/>, if it has one. Never logged or shown.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? CertificatePassword { get; set; }

    /// <summary>The thumbprint of a certificate in the <c>My</c> store of <see cref="CertificateStoreLocation"/>, instead of a file.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? CertificateThumbprint { get; set; }

    /// <summary>The store <see cref="CertificateThumbprint"/> is looked up in.</summary>
    /// <value>The default is <see cref="StoreLocation.CurrentUser"/>.</value>
    public StoreLocation CertificateStoreLocation { get; set; } = StoreLocation.CurrentUser;

    /// <summary>Names the kind, tenant and client; never the secret or the password.</summary>
    /// <returns>A description without secrets.</returns>
    public override string ToString() =>
        "MeteringCredentialOptions { Kind = " + (Kind?.ToString() ?? "(a TokenCredential from the service collection)")
        + ", TenantId = " + (TenantId ?? "(none)") + ", ClientId = " + (ClientId ?? "(none)")
        + (ClientSecret is null ? string.Empty : ", ClientSecret = ***")
        + (CertificatePath is null ? string.Empty : ", CertificatePath = " + CertificatePath)
        + (CertificateThumbprint is null ? string.Empty : ", CertificateThumbprint = " + CertificateThumbprint)
        + " }";
}

/// <summary>The credentials <see cref="MeteringCredentialOptions"/> can build.</summary>
public enum MeteringCredentialKind
{
    /// <summary>A SaaS offer's app registration with a client secret (<see cref="MeteringCredential.FromClientSecret(string, string, string)"/>).</summary>
    ClientSecret,

    /// <summary>A SaaS offer's app registration with a certificate (<see cref="MeteringCredential.FromClientCertificate(string, string, X509Certificate2)"/>).</summary>
    Certificate,

    /// <summary>The managed identity of the Azure resource the code runs on (<see cref="MeteringCredential.FromManagedIdentity"/>).</summary>
    ManagedIdentity,

    /// <summary>The <c>TokenCredential</c> registered in the service collection.</summary>
    TokenCredential,
}
