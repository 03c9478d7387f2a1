using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;

namespace MarketplaceMetering;

/// <summary>
/// Reads the client's settings from a configuration section, key by key. Hand-written rather than
/// <c>ConfigurationBinder</c>: the binder throws on the first value it cannot convert, at first use, with a message
/// that names no key, and ignores misspelt keys; this reader reports every bad or unknown key by its configuration path
/// (<c>MarketplaceMetering:Credential:TenantId</c>) in the one start-up validation message, and needs no reflection
/// (the core is AOT-compatible).
/// </summary>
internal static class MeteringConfiguration
{
    // "Accumulation" is the MarketplaceMetering.Accumulation package's section, read by that package.
    private static readonly string[] ClientKeys = ["Endpoint", "ApiVersion", "NetworkTimeout", "MaxConcurrency", "Retry", "Credential", "Accumulation"];
    private static readonly string[] RetryKeys = ["MaxRetries", "Delay", "MaxDelay"];
    private static readonly string[] CredentialKeys = ["Kind", "TenantId", "ClientId", "ClientSecret", "CertificatePath", "CertificatePassword", "CertificateThumbprint", "CertificateStoreLocation"];

    public static void Read(IConfiguration section, string path, MeteringClientOptions options, List<string> problems)
    {
        Unknown(section, path, ClientKeys, problems);
        if (section["Endpoint"] is { } endpoint)
        {
            if (Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
            {
                options.Endpoint = uri;
            }
            else
            {
                problems.Add(Key(path, "Endpoint") + " is '" + endpoint + "', not an absolute URI such as " + MeteringClientOptions.DefaultEndpoint + ".");
            }
        }

        if (section["ApiVersion"] is { } apiVersion)
        {
            options.ApiVersion = apiVersion;
        }

        TimeSpanValue(section, path, "NetworkTimeout", problems, value => options.NetworkTimeout = value);
        IntValue(section, path, "MaxConcurrency", problems, value => options.MaxConcurrency = value);

        var retry = section.GetSection("Retry");
        var retryPath = Key(path, "Retry");
        Unknown(retry, retryPath, RetryKeys, problems);
        IntValue(retry, retryPath, "MaxRetries", problems, value => options.Retry.MaxRetries = value);
        TimeSpanValue(retry, retryPath, "Delay", problems, value => options.Retry.Delay = value);
        TimeSpanValue(retry, retryPath, "MaxDelay", problems, value => options.Retry.MaxDelay = value);
    }

    public static void Read(IConfiguration section, string path, MeteringCredentialOptions credential, List<string> problems)
    {
        var credentialSection = section.GetSection("Credential");
        var credentialPath = Key(path, "Credential");
        Unknown(credentialSection, credentialPath, CredentialKeys, problems);
        if (credentialSection["Kind"] is { Length: > 0 } kind)
        {
            if (!kind.Contains(',') && !int.TryParse(kind, out _) && Enum.TryParse<MeteringCredentialKind>(kind, ignoreCase: true, out var parsed))
            {
                credential.Kind = parsed;
            }
            else
            {
                problems.Add(Key(credentialPath, "Kind") + " is '" + kind + "'; it must be ClientSecret, Certificate, ManagedIdentity or TokenCredential.");
            }
        }

        credential.TenantId = credentialSection["TenantId"] ?? credential.TenantId;
        credential.ClientId = credentialSection["ClientId"] ?? credential.ClientId;
        credential.ClientSecret = credentialSection["ClientSecret"] ?? credential.ClientSecret;
        credential.CertificatePath = credentialSection["CertificatePath"] ?? credential.CertificatePath;
        credential.CertificatePassword = credentialSection["CertificatePassword"] ?? credential.CertificatePassword;
        credential.CertificateThumbprint = credentialSection["CertificateThumbprint"] ?? credential.CertificateThumbprint;
        if (credentialSection["CertificateStoreLocation"] is { Length: > 0 } location)
        {
            if (!location.Contains(',') && !int.TryParse(location, out _) && Enum.TryParse<StoreLocation>(location, ignoreCase: true, out var store))
            {
                credential.CertificateStoreLocation = store;
            }
            else
            {
                problems.Add(Key(credentialPath, "CertificateStoreLocation") + " is '" + location + "'; it must be CurrentUser or LocalMachine.");
            }
        }
    }

    /// <summary>A key's configuration path under <paramref name="path"/>.</summary>
    public static string Key(string path, string key) => path.Length == 0 ? key : path + ":" + key;

    private static void Unknown(IConfiguration section, string path, string[] known, List<string> problems)
    {
        foreach (var child in section.GetChildren())
        {
            if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                problems.Add(Key(path, child.Key) + " is not a setting of the metering client; the settings here are " + string.Join(", ", known) + ".");
            }
        }
    }

    private static void TimeSpanValue(IConfiguration section, string path, string key, List<string> problems, Action<TimeSpan> set)
    {
        if (section[key] is not { } text)
        {
            return;
        }

        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value))
        {
            set(value);
        }
        else
        {
            problems.Add(Key(path, key) + " is '" + text + "', not a time span such as 00:00:30.");
        }
    }

    private static void IntValue(IConfiguration section, string path, string key, List<string> problems, Action<int> set)
    {
        if (section[key] is not { } text)
        {
            return;
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            set(value);
        }
        else
        {
            problems.Add(Key(path, key) + " is '" + text + "', not a whole number.");
        }
    }
}
