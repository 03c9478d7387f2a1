using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using MarketplaceMetering.Emulator.Tests.TestSupport;
using MarketplaceMetering.Emulator.Tls;
using static MarketplaceMetering.Emulator.Tests.TestSupport.EventJson;

namespace MarketplaceMetering.Emulator.Tests.Tls;

/// <summary>
/// The emulator over https, driven the way Microsoft's official metering client and every Azure-SDK-style client
/// drive a service: an Azure.Core <see cref="HttpPipeline"/> built with a <see cref="BearerTokenAuthenticationPolicy"/>,
/// which refuses to send a token over plain http.
/// </summary>
public sealed class HttpsTests
{
    private const string MeteringScope = "20e940b3-4c77-4b0b-9a53-9e16a1b010a7/.default";

    [Fact]
    public async Task AzureCorePipeline_HttpsEmulatorTrustedByThumbprint_GetsTheUsageEventAccepted()
    {
        await using var host = await TestEmulator.StartAsync(options => options.UseHttps = true);
        var pipeline = Pipeline(host.Emulator, TrustingOnly(host.Emulator.CertificateThumbprint!));

        using var message = UsageEventMessage(pipeline, host, Event(host.Now.AddMinutes(-5), quantity: "3"));
        await pipeline.SendAsync(message, CancellationToken.None);

        message.Response.Status.Should().Be(200);
        using var body = JsonDocument.Parse(message.Response.Content.ToMemory());
        body.RootElement.GetProperty("status").GetString().Should().Be("Accepted");
        body.RootElement.GetProperty("usageEventId").GetGuid().Should().Be(host.Emulator.Ledger.Entries.Single().UsageEventId);
        host.Emulator.Requests.Single().Headers["Authorization"].Should().Be("Bearer " + TestEmulator.Token, "the bearer policy sent the emulator's token");
        host.Emulator.TokenRequests.Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task AzureCorePipeline_HandlerWithTheSystemTrust_FailsTheTlsHandshake()
    {
        await using var host = await TestEmulator.StartAsync(options => options.UseHttps = true);
        var pipeline = Pipeline(host.Emulator, new SocketsHttpHandler());

        using var message = UsageEventMessage(pipeline, host, Event(host.Now.AddMinutes(-5)));
        var act = async () => await pipeline.SendAsync(message, CancellationToken.None);

        var thrown = await act.Should().ThrowAsync<RequestFailedException>();
        thrown.Which.GetBaseException().Should().BeOfType<AuthenticationException>();
        host.Emulator.Requests.Should().BeEmpty("no request gets past a failed handshake");
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task AzureCorePipeline_HandlerPinnedToAnotherEmulatorsCertificate_FailsTheTlsHandshake()
    {
        await using var host = await TestEmulator.StartAsync(options => options.UseHttps = true);
        await using var other = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { UseHttps = true });
        var pipeline = Pipeline(host.Emulator, TrustingOnly(other.CertificateThumbprint!));

        using var message = UsageEventMessage(pipeline, host, Event(host.Now.AddMinutes(-5)));
        var act = async () => await pipeline.SendAsync(message, CancellationToken.None);

        other.CertificateThumbprint.Should().NotBe(host.Emulator.CertificateThumbprint, "every emulator makes up its own certificate");
        var thrown = await act.Should().ThrowAsync<RequestFailedException>();
        thrown.Which.GetBaseException().Should().BeOfType<AuthenticationException>();
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task AzureCorePipeline_PlainHttpEmulator_RefusesToSendTheBearerToken()
    {
        await using var host = await TestEmulator.StartAsync();
        var pipeline = Pipeline(host.Emulator, new SocketsHttpHandler());

        using var message = UsageEventMessage(pipeline, host, Event(host.Now.AddMinutes(-5)));
        var act = async () => await pipeline.SendAsync(message, CancellationToken.None);

        // Why UseHttps exists: Azure.Core will not put a bearer token on a plain http request.
        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("*TLS*");
        host.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task StartAsync_UseHttps_ServesTheAnnouncedCertificateFor127001AndLocalhost()
    {
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { UseHttps = true });
        X509Certificate2? served = null;
        var errors = SslPolicyErrors.None;
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, policyErrors) =>
        {
            served = certificate is null ? null : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            errors = policyErrors;
            return policyErrors == SslPolicyErrors.RemoteCertificateChainErrors;
        };
        using var http = new HttpClient(handler) { BaseAddress = emulator.Endpoint };

        using var response = await http.GetAsync("api/usageEvents?api-version=2018-08-31&usageStartDate=2026-01-01");

        emulator.Endpoint.Should().Be(new Uri($"https://127.0.0.1:{emulator.Endpoint.Port}/"));
        response.StatusCode.Should().Be(HttpStatusCode.Forbidden, "the request got through TLS to the API (without a token)");
        errors.Should().Be(SslPolicyErrors.RemoteCertificateChainErrors, "the name matches; only the self-signed root is unknown to the system");
        using (served)
        {
            served.Should().NotBeNull();
            served!.GetCertHashString(HashAlgorithmName.SHA256).Should().Be(emulator.CertificateThumbprint);
            served.HasPrivateKey.Should().BeFalse();
            var names = served.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
            names.EnumerateIPAddresses().Should().Equal(IPAddress.Loopback);
            names.EnumerateDnsNames().Should().Equal("localhost");
            served.MatchesHostname("127.0.0.1").Should().BeTrue();
            served.MatchesHostname("localhost").Should().BeTrue();
            served.NotAfter.ToUniversalTime().Should().BeAfter(DateTime.UtcNow, "validity follows the real clock, which TLS clients check");
        }

        var pem = await File.ReadAllTextAsync(emulator.CertificatePemPath!);
        pem.Should().StartWith("-----BEGIN CERTIFICATE-----").And.NotContain("PRIVATE KEY");
        using var fromFile = X509CertificateLoader.LoadCertificateFromFile(emulator.CertificatePemPath!);
        fromFile.GetCertHashString(HashAlgorithmName.SHA256).Should().Be(emulator.CertificateThumbprint);
    }

    [Theory]
    [InlineData(SslProtocols.Tls12)]
    [InlineData(SslProtocols.Tls13)]
    public async Task StartAsync_UseHttps_NegotiatesTls12AndTls13(SslProtocols protocol)
    {
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { UseHttps = true });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, emulator.Endpoint.Port);
        await using var tls = new SslStream(tcp.GetStream());

        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            EnabledSslProtocols = protocol,
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate?.GetCertHashString(HashAlgorithmName.SHA256) == emulator.CertificateThumbprint,
        });

        tls.SslProtocol.Should().Be(protocol);
    }

    [Fact]
    public void HttpsOptions_OfTheListener_AllowOnlyTls12AndLaterWithTheCertificate()
    {
        // Clients on this machine refuse TLS 1.0 and 1.1 themselves, so a handshake cannot show that the server does:
        // the listener's settings are checked instead.
        using var certificate = EmulatorCertificate.Create();

        var options = certificate.HttpsOptions();

        options.SslProtocols.Should().Be(SslProtocols.Tls12 | SslProtocols.Tls13);
        options.ServerCertificate.Should().BeSameAs(certificate.Certificate);
        certificate.Certificate.HasPrivateKey.Should().BeTrue();
    }

    [Fact]
    public async Task DisposeAsync_UseHttps_DeletesThePemFile()
    {
        var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { UseHttps = true });
        var pemPath = emulator.CertificatePemPath!;
        File.Exists(pemPath).Should().BeTrue();

        await emulator.DisposeAsync();

        File.Exists(pemPath).Should().BeFalse();
    }

    private static HttpPipeline Pipeline(MeteringEmulator emulator, HttpMessageHandler handler)
    {
        var options = new PipelineOptions { Transport = new HttpClientTransport(handler) };
        options.Retry.MaxRetries = 0;
        return HttpPipelineBuilder.Build(options, new BearerTokenAuthenticationPolicy(emulator.Credential, MeteringScope));
    }

    private static SocketsHttpHandler TrustingOnly(string thumbprint)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null && string.Equals(certificate.GetCertHashString(HashAlgorithmName.SHA256), thumbprint, StringComparison.OrdinalIgnoreCase);
        return handler;
    }

    private static HttpMessage UsageEventMessage(HttpPipeline pipeline, TestEmulator host, string json)
    {
        var message = pipeline.CreateMessage();
        message.Request.Method = RequestMethod.Post;
        message.Request.Uri.Reset(new Uri(host.Emulator.Endpoint, TestEmulator.EventPath));
        message.Request.Headers.Add("Content-Type", "application/json");
        message.Request.Content = RequestContent.Create(Encoding.UTF8.GetBytes(json));
        return message;
    }

    private sealed class PipelineOptions : ClientOptions;
}
