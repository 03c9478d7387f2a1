using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using MarketplaceMetering.Cli.Authentication;

namespace MarketplaceMetering.Cli.CommandLine;

/// <summary>The options every command takes (recursive on the root command), and the client they describe.</summary>
internal sealed class GlobalOptions
{
    public const string EndpointVariable = "METERING_ENDPOINT";
    public const string TokenVariable = "METERING_TOKEN";
    public const string ManagedIdentityVariable = "METERING_MANAGED_IDENTITY";
    public const string TenantVariable = "AZURE_TENANT_ID";
    public const string ClientIdVariable = "AZURE_CLIENT_ID";
    public const string ClientSecretVariable = "AZURE_CLIENT_SECRET";
    public const string CertificateVariable = "AZURE_CLIENT_CERTIFICATE_PATH";
    public const string CertificatePasswordVariable = "AZURE_CLIENT_CERTIFICATE_PASSWORD";

    public Option<string> Endpoint { get; } = new("--endpoint")
    {
        Description = $"The metering service root (env {EndpointVariable}; default {MeteringClientOptions.DefaultEndpoint}). Plain http only to loopback, such as the emulator.",
        HelpName = "URL",
        Recursive = true,
    };

    public Option<string> Token { get; } = new("--token")
    {
        Description = $"A bearer token obtained elsewhere, such as the emulator's (env {TokenVariable}). For `metering emulator`: the token it accepts.",
        HelpName = "TOKEN",
        Recursive = true,
    };

    public Option<string> TenantId { get; } = new("--tenant-id")
    {
        HelpName = "ID",
        Description = $"Microsoft Entra tenant of the app registration (env {TenantVariable}).",
        Recursive = true,
    };

    public Option<string> ClientId { get; } = new("--client-id")
    {
        HelpName = "ID",
        Description = $"App registration (client) id; with --managed-identity, the user-assigned identity's client id (env {ClientIdVariable}).",
        Recursive = true,
    };

    public Option<string> ClientSecret { get; } = new("--client-secret")
    {
        HelpName = "SECRET",
        Description = $"The app registration's client secret (env {ClientSecretVariable}; prefer the variable: arguments show in process lists).",
        Recursive = true,
    };

    public Option<string> Certificate { get; } = new("--certificate")
    {
        Description = $"A PFX/PKCS#12 or PEM file with the app registration's certificate and private key (env {CertificateVariable}).",
        HelpName = "FILE",
        Recursive = true,
    };

    public Option<string> CertificatePassword { get; } = new("--certificate-password")
    {
        HelpName = "PASSWORD",
        Description = $"The PFX file's password (env {CertificatePasswordVariable}).",
        Recursive = true,
    };

    public Option<bool> ManagedIdentity { get; } = new("--managed-identity")
    {
        Description = $"Use the managed identity of the machine (a managed application's VM, Function or container) (env {ManagedIdentityVariable}=true).",
        Recursive = true,
    };

    public Option<int> MaxRetries { get; } = new("--max-retries")
    {
        Description = "Retries of a call that failed in a way that may pass (throttling, 5xx, timeouts) (default 3).",
        HelpName = "N",
        Recursive = true,
        DefaultValueFactory = _ => 3,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Write JSON to standard output instead of tables.",
        Recursive = true,
    };

    public Option<bool> Verbose { get; } = new("--verbose")
    {
        Description = "On failure, also print the exception's details and stack trace.",
        Recursive = true,
    };

    public GlobalOptions()
    {
        // The client's own check named its setting (Retry.MaxRetries), not the option given.
        MaxRetries.Validators.Add(result =>
        {
            var retries = result.GetValueOrDefault<int>();
            if (retries is < 0 or > MaxRetriesLimit)
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"--max-retries must be a number from 0 to {MaxRetriesLimit}; it is {retries}."));
            }
        });
    }

    /// <summary>The most retries the client allows (MeteringRetryOptions.MaxRetries).</summary>
    private const int MaxRetriesLimit = 100;

    public IEnumerable<Option> All => [Endpoint, Token, TenantId, ClientId, ClientSecret, Certificate, CertificatePassword, ManagedIdentity, MaxRetries, Json, Verbose];

    /// <summary>The value of an option, else of its environment variable, else <see langword="null"/>.</summary>
    public static string? Read(ParseResult parse, Option<string> option, CliContext context, string variable) =>
        parse.GetValue(option) is { Length: > 0 } value ? value : context.Environment(variable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null;

    /// <summary>A client for the endpoint and credential the options and environment name.</summary>
    public MeteringClient CreateClient(ParseResult parse, CliContext context)
    {
        var endpointText = Read(parse, Endpoint, context, EndpointVariable);
        var options = new MeteringClientOptions { TimeProvider = context.TimeProvider };
        options.Retry.MaxRetries = parse.GetValue(MaxRetries);
        if (endpointText is not null)
        {
            if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint))
            {
                throw new CliException($"--endpoint '{Messages.Shown(endpointText)}' is not an absolute URL such as {MeteringClientOptions.DefaultEndpoint}.");
            }

            options.Endpoint = endpoint;
        }

        var credential = CreateCredential(parse, context);
        try
        {
            return context.HttpHandler is { } handler
                ? new MeteringClient(new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan }, credential, options)
                : new MeteringClient(credential, options);
        }
        catch (ArgumentException e)
        {
            throw new CliException(OptionProblem(Messages.WithoutParameter(e)));
        }
    }

    /// <summary>
    /// The client's options error in the words of the command line: the endpoint is the one setting a user gives that
    /// the client checks (--max-retries is checked by its option), and "The metering client options are not valid:
    /// - Endpoint must …" names a property the user never saw. Any other message is kept as it is.
    /// </summary>
    private static string OptionProblem(string message)
    {
        const string Prefix = "The metering client options are not valid:";
        const string Endpoint = " - Endpoint ";
        var problems = message.StartsWith(Prefix, StringComparison.Ordinal) ? message[Prefix.Length..].Split(Endpoint) : null;
        return problems is [{ Length: 0 } or " ", .. var rest] && rest.Length > 0
            ? string.Join(" ", rest.Select(p => $"--endpoint (or {EndpointVariable}) {p.Trim()}"))
            : message;
    }

    private TokenCredential CreateCredential(ParseResult parse, CliContext context)
    {
        if (Read(parse, Token, context, TokenVariable) is { } token)
        {
            if (TokenProblem(token) is { } problem)
            {
                // Else the client refused it per call: exit 3 (a refused credential) for emit and usage, and exit 4 (some
                // events not delivered) for batch, each event an Error, for what is a typing or copying mistake.
                var bearer = token.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? " (give the token without 'Bearer ')" : string.Empty;
                throw new CliException($"--token (or {TokenVariable}) is not a bearer token: {problem}; a token is one word of printable ASCII{bearer}. Nothing was sent.");
            }

            return new StaticTokenCredential(token, context.TimeProvider);
        }

        var tenant = Read(parse, TenantId, context, TenantVariable);
        var clientId = Read(parse, ClientId, context, ClientIdVariable);
        if (Read(parse, ClientSecret, context, ClientSecretVariable) is { } secret)
        {
            return MeteringCredential.FromClientSecret(
                tenant ?? throw new CliException($"A client secret needs --tenant-id (or {TenantVariable})."),
                clientId ?? throw new CliException($"A client secret needs --client-id (or {ClientIdVariable})."),
                secret);
        }

        if (Read(parse, Certificate, context, CertificateVariable) is { } path)
        {
            return MeteringCredential.FromClientCertificate(
                tenant ?? throw new CliException($"A certificate needs --tenant-id (or {TenantVariable})."),
                clientId ?? throw new CliException($"A certificate needs --client-id (or {ClientIdVariable})."),
                LoadCertificate(path, Read(parse, CertificatePassword, context, CertificatePasswordVariable)));
        }

        if (parse.GetValue(ManagedIdentity) || string.Equals(context.Environment(ManagedIdentityVariable), "true", StringComparison.OrdinalIgnoreCase))
        {
            return MeteringCredential.FromManagedIdentity(clientId);
        }

        throw new CliException(
            $"No credential: pass --token (or {TokenVariable}); or --tenant-id, --client-id and --client-secret (or {TenantVariable}, {ClientIdVariable}, {ClientSecretVariable}); or --certificate; or --managed-identity.");
    }

    /// <summary>
    /// What keeps <paramref name="token"/> out of an Authorization header (a line break from a file saved on Windows, a
    /// space after a pasted "Bearer"), without quoting it; <see langword="null"/> when it can be sent. The client
    /// refuses the same characters.
    /// </summary>
    private static string? TokenProblem(string token)
    {
        for (var i = 0; i < token.Length; i++)
        {
            var c = token[i];
            if (c is > (char)0x20 and < (char)0x7F)
            {
                continue;
            }

            var what = c switch
            {
                '\r' or '\n' => "a line break",
                ' ' => "a space",
                < (char)0x20 or (char)0x7F => "a control character",
                _ => "a character outside ASCII",
            };
            return string.Create(CultureInfo.InvariantCulture, $"character {i + 1} of {token.Length} is {what}");
        }

        return null;
    }

    private static X509Certificate2 LoadCertificate(string path, string? password)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"--certificate: file '{path}' does not exist.");
        }

        try
        {
            return Path.GetExtension(path).Equals(".pem", StringComparison.OrdinalIgnoreCase)
                ? X509Certificate2.CreateFromPemFile(path)
                : X509CertificateLoader.LoadPkcs12FromFile(path, password);
        }
        catch (CryptographicException e)
        {
            throw new CliException($"--certificate: '{path}' could not be read as a certificate with a private key ({e.Message.TrimEnd('.')}).");
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            // No permission, a device error: bad input like a missing file (exit 2), not a service that failed (exit 1).
            throw new CliException($"--certificate: '{path}' cannot be read ({e.Message.TrimEnd('.')}).");
        }
    }
}
