using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Identity.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MarketplaceMetering;

/// <summary>
/// What one <c>AddMarketplaceMeteringClient</c> call registered: the configuration section it reads (if any), and how
/// its settings are named in messages (by configuration path, or by property when configured in code).
/// </summary>
internal sealed class MeteringRegistration(IConfiguration? section)
{
    /// <summary>The name of the <see cref="HttpClient"/> the client takes from <c>IHttpClientFactory</c>.</summary>
    public const string HttpClientName = "MarketplaceMetering";

    public IConfiguration? Section { get; } = section;

    /// <summary>The section's path, such as <c>MarketplaceMetering</c>.</summary>
    public string Path { get; } = (section as IConfigurationSection)?.Path ?? string.Empty;

    /// <summary>How a client setting (<c>Retry.Delay</c>) is named in a message.</summary>
    public string ClientSetting(string setting) =>
        Section is null ? "MeteringClientOptions." + setting : MeteringConfiguration.Key(Path, setting.Replace('.', ':'));

    /// <summary>How a credential setting (<c>TenantId</c>) is named in a message.</summary>
    public string CredentialSetting(string setting) =>
        Section is null ? "MeteringCredentialOptions." + setting : MeteringConfiguration.Key(Path, "Credential:" + setting);
}

/// <summary>
/// The settings one <c>AddMarketplaceMeteringClient</c> call configures (its section, or its action). A type of its own,
/// so that a later call can find and remove them: the last call wins entirely, while configure actions the user added
/// with <c>services.Configure</c> stay.
/// </summary>
internal sealed class MeteringSettings<TOptions>(Action<TOptions> configure) : IConfigureOptions<TOptions>
    where TOptions : class
{
    public void Configure(TOptions options) => configure(options);
}

/// <summary>
/// Validates the registered client's settings and credential at start-up (<c>ValidateOnStart</c>), in one message that
/// names every bad key: values that cannot be read, unknown keys, out-of-range settings, missing credential settings.
/// </summary>
internal sealed class MeteringOptionsValidator(MeteringRegistration registration, IOptions<MeteringCredentialOptions> credential, IServiceProvider services)
    : IValidateOptions<MeteringClientOptions>
{
    public ValidateOptionsResult Validate(string? name, MeteringClientOptions options)
    {
        var failures = new List<string>();
        if (registration.Section is { } section)
        {
            // Read again into scratch objects: reading is deterministic, and options may be built more than once.
            MeteringConfiguration.Read(section, registration.Path, new MeteringClientOptions(), failures);
            MeteringConfiguration.Read(section, registration.Path, new MeteringCredentialOptions(), failures);
        }

        foreach (var (setting, problem) in options.Problems())
        {
            failures.Add(registration.ClientSetting(setting) + " " + problem);
        }

        var hasTokenCredential = services.GetService<IServiceProviderIsService>()?.IsService(typeof(TokenCredential)) == true;
        ConfiguredCredential.Validate(credential.Value, registration, hasTokenCredential, failures);
        return failures.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("The metering client is not configured correctly: " + string.Join(" ", failures.Distinct(StringComparer.Ordinal)));
    }
}

/// <summary>Builds the <see cref="TokenCredential"/> that <see cref="MeteringCredentialOptions"/> describe.</summary>
internal static class ConfiguredCredential
{
    public static void Validate(MeteringCredentialOptions options, MeteringRegistration names, bool hasTokenCredential, List<string> problems)
    {
        void Require(string? value, string setting, string why)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                problems.Add(names.CredentialSetting(setting) + " is required " + why + ".");
            }
        }

        switch (options.Kind)
        {
            case null when !hasTokenCredential:
                problems.Add(names.CredentialSetting("Kind") + " is required: ClientSecret, Certificate or ManagedIdentity (or register a TokenCredential in the service collection).");
                break;
            case MeteringCredentialKind.TokenCredential when !hasTokenCredential:
                problems.Add(names.CredentialSetting("Kind") + " is TokenCredential, but no TokenCredential is registered in the service collection.");
                break;
            case MeteringCredentialKind.ClientSecret:
                Require(options.TenantId, "TenantId", "for a client secret (the tenant of the offer's app registration)");
                Require(options.ClientId, "ClientId", "for a client secret (the app registration's client id)");
                Require(options.ClientSecret, "ClientSecret", "for a client secret");
                break;
            case MeteringCredentialKind.Certificate:
                Require(options.TenantId, "TenantId", "for a certificate (the tenant of the offer's app registration)");
                Require(options.ClientId, "ClientId", "for a certificate (the app registration's client id)");
                if (string.IsNullOrWhiteSpace(options.CertificatePath) == string.IsNullOrWhiteSpace(options.CertificateThumbprint))
                {
                    problems.Add(names.CredentialSetting("CertificatePath") + " or " + names.CredentialSetting("CertificateThumbprint") + " is required for a certificate (one of them, not both).");
                }
                else
                {
                    try
                    {
                        using var certificate = LoadCertificate(options);
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
                    {
                        problems.Add(names.CredentialSetting(string.IsNullOrWhiteSpace(options.CertificatePath) ? "CertificateThumbprint" : "CertificatePath") + ": " + e.Message);
                    }
                }

                break;
            case MeteringCredentialKind.ManagedIdentity when options.ClientId is not null && string.IsNullOrWhiteSpace(options.ClientId):
                problems.Add(names.CredentialSetting("ClientId") + " must not be empty; leave it out for the system-assigned identity.");
                break;
        }
    }

    /// <summary>
    /// Builds the credential. An <see cref="IMsalHttpClientFactory"/> registered in the service collection carries MSAL's
    /// calls to Entra ID (a proxy, say) for a client secret or certificate.
    /// </summary>
    public static TokenCredential Create(MeteringCredentialOptions options, IServiceProvider services) => options.Kind switch
    {
        MeteringCredentialKind.ClientSecret => MeteringCredential.FromClientSecret(options.TenantId!, options.ClientId!, options.ClientSecret!, services.GetService<IMsalHttpClientFactory>()),
        MeteringCredentialKind.Certificate => MeteringCredential.FromClientCertificate(options.TenantId!, options.ClientId!, LoadCertificate(options), services.GetService<IMsalHttpClientFactory>()),
        MeteringCredentialKind.ManagedIdentity => MeteringCredential.FromManagedIdentity(options.ClientId),
        _ => services.GetRequiredService<TokenCredential>(),
    };

    private static X509Certificate2 LoadCertificate(MeteringCredentialOptions options)
    {
        X509Certificate2 certificate;
        if (!string.IsNullOrWhiteSpace(options.CertificatePath))
        {
            if (!File.Exists(options.CertificatePath))
            {
                throw new IOException("the file '" + options.CertificatePath + "' does not exist.");
            }

#if NET9_0_OR_GREATER
            certificate = X509CertificateLoader.LoadPkcs12FromFile(options.CertificatePath!, options.CertificatePassword);
#else
            certificate = new X509Certificate2(options.CertificatePath!, options.CertificatePassword);
#endif
        }
        else
        {
            using var store = new X509Store(StoreName.My, options.CertificateStoreLocation);
            store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
            var found = store.Certificates.Find(X509FindType.FindByThumbprint, options.CertificateThumbprint!, validOnly: false);
            certificate = found.Count > 0
                ? found[0]
                : throw new InvalidOperationException("no certificate with thumbprint " + options.CertificateThumbprint + " is in the " + options.CertificateStoreLocation + "\\My store.");
        }

        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new InvalidOperationException("the certificate has no private key; the app signs its token request with it.");
        }

        return certificate;
    }
}
