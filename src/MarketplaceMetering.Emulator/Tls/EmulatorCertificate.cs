using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace MarketplaceMetering.Emulator.Tls;

/// <summary>
/// The https listener's certificate: self-signed, made up at start for <c>127.0.0.1</c> and <c>localhost</c>, valid
/// for 30 days, never stored anywhere but in memory and (its public part only) in a PEM file that clients can trust.
/// </summary>
internal sealed class EmulatorCertificate : IDisposable
{
    /// <summary>TLS 1.2 and 1.3 only, as the real service (which refuses 1.0 and 1.1).</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    public const string SubjectName = "CN=MarketplaceMetering Emulator";

    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(30);
    private static readonly TimeSpan ClockSkew = TimeSpan.FromDays(1);

    private EmulatorCertificate(X509Certificate2 certificate, string thumbprint, string pemPath)
    {
        Certificate = certificate;
        Thumbprint = thumbprint;
        PemPath = pemPath;
    }

    /// <summary>Gets the certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Gets the SHA-256 hash of the certificate, upper-case hex.</summary>
    public string Thumbprint { get; }

    /// <summary>Gets the path of the PEM file holding the certificate (not its key).</summary>
    public string PemPath { get; }

    /// <summary>Makes up a certificate and writes its PEM file into the temporary folder.</summary>
    public static EmulatorCertificate Create()
    {
        var certificate = CreateSelfSigned();
        try
        {
            var thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
            var pemPath = Path.Combine(Path.GetTempPath(), $"marketplace-metering-emulator-{thumbprint}.pem");

            // CreateNew: the name is only known now, so no one can have planted a file there to be trusted instead.
            using (var file = new FileStream(pemPath, FileMode.CreateNew, FileAccess.Write))
            using (var writer = new StreamWriter(file))
            {
                writer.Write(certificate.ExportCertificatePem());
                writer.Write('\n');
            }

            return new EmulatorCertificate(certificate, thumbprint, pemPath);
        }
        catch
        {
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>The https settings of the listener: this certificate, TLS 1.2 or later, no client certificate.</summary>
    public HttpsConnectionAdapterOptions HttpsOptions() => new()
    {
        ServerCertificate = Certificate,
        SslProtocols = Protocols,
        ClientCertificateMode = ClientCertificateMode.NoCertificate,
    };

    /// <summary>Deletes the PEM file and releases the key.</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(PemPath);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // A leftover PEM file holds only the public certificate.
        }

        Certificate.Dispose();
    }

    private static X509Certificate2 CreateSelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(SubjectName, key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build(critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));

        // Validity is checked against real time by every TLS client, so it comes from the real clock, not the
        // emulator's (which tests move).
        var now = TimeProvider.System.GetUtcNow();
        using var created = request.CreateSelfSigned(now - ClockSkew, now + Lifetime);

        // Loaded again from PKCS#12 so that the key is usable by SslStream on every platform (Windows refuses the
        // ephemeral key that CreateSelfSigned returns).
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), password: null);
    }
}
