using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Azure.Identity;

namespace MarketplaceMetering.Tests.Authentication;

public class MeteringCredentialTests
{
    private const string Tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    private const string Client = "0b7a2d4e-1111-4222-8333-944455556666";
    private const string Secret = "s3cr3t~VALUE.that-must-never-show";

    [Fact]
    public void FromClientSecret_ToString_NamesAppButNotSecret()
    {
        var credential = MeteringCredential.FromClientSecret(Tenant, Client, Secret);

        var text = credential.ToString();

        text.Should().Contain(Tenant).And.Contain(Client).And.NotContain(Secret);
    }

    [Theory]
    [InlineData("", Client, Secret, "tenantId")]
    [InlineData(Tenant, " ", Secret, "clientId")]
    [InlineData(Tenant, Client, "", "clientSecret")]
    [InlineData(null, Client, Secret, "tenantId")]
    public void FromClientSecret_EmptyArgument_ThrowsNamingIt(string? tenant, string client, string secret, string param)
    {
        var act = () => MeteringCredential.FromClientSecret(tenant!, client, secret);

        var e = act.Should().Throw<ArgumentException>().Which;
        e.ParamName.Should().Be(param);
        e.Message.Should().NotContain(Secret);
    }

    [Fact]
    public void FromClientCertificate_CertificateWithoutPrivateKey_Throws()
    {
        using var withKey = SelfSigned();
#if NET9_0_OR_GREATER
        using var publicOnly = X509CertificateLoader.LoadCertificate(withKey.Export(X509ContentType.Cert));
#else
        using var publicOnly = new X509Certificate2(withKey.Export(X509ContentType.Cert));
#endif

        var act = () => MeteringCredential.FromClientCertificate(Tenant, Client, publicOnly);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("certificate");
    }

    [Fact]
    public void FromClientCertificate_WithPrivateKey_NamesThumbprintNotKey()
    {
        using var certificate = SelfSigned();

        var credential = MeteringCredential.FromClientCertificate(Tenant, Client, certificate);

        credential.ToString().Should().Contain(certificate.Thumbprint).And.Contain(Client);
    }

    [Fact]
    public void FromClientCertificate_NullCertificate_ThrowsArgumentNull()
    {
        var act = () => MeteringCredential.FromClientCertificate(Tenant, Client, null!);

        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("certificate");
    }

    [Fact]
    public void FromManagedIdentity_SystemOrUserAssigned_IsAzureIdentityManagedIdentity()
    {
        MeteringCredential.FromManagedIdentity().Should().BeOfType<ManagedIdentityCredential>();
        MeteringCredential.FromManagedIdentity(Client).Should().BeOfType<ManagedIdentityCredential>();
    }

    [Fact]
    public void FromManagedIdentity_BlankClientId_Throws()
    {
        var act = () => MeteringCredential.FromManagedIdentity(" ");

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("clientId");
    }

    internal static X509Certificate2 SelfSigned(string subject = "CN=metering-test")
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }
}
