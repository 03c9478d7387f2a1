using System.Security.Cryptography.X509Certificates;
using Azure.Core;
using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;
using MarketplaceMetering.Tests.Authentication;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Client;

namespace MarketplaceMetering.Tests.DependencyInjection;

/// <summary>
/// <c>AddMarketplaceMeteringClient</c> in a Generic Host: settings and credential from configuration, the
/// <see cref="HttpClient"/> from <c>IHttpClientFactory</c>, and start-up validation that names every bad key.
/// </summary>
public class AddMarketplaceMeteringClientTests
{
    [Fact]
    public async Task AddMarketplaceMeteringClient_FromInMemoryConfiguration_ResolvesClientThatSendsToTheEmulator()
    {
        await using var emulator = await MeteringEmulator.StartAsync();
        var counting = new CountingHandler();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MarketplaceMetering:Endpoint"] = emulator.Endpoint.ToString(),
            ["MarketplaceMetering:NetworkTimeout"] = "00:00:20",
            ["MarketplaceMetering:MaxConcurrency"] = "2",
            ["MarketplaceMetering:Retry:MaxRetries"] = "1",
            ["MarketplaceMetering:Retry:Delay"] = "00:00:00.010",
            ["MarketplaceMetering:Credential:Kind"] = "TokenCredential",
        });
        builder.Services.AddSingleton(emulator.Credential);
        builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("MarketplaceMetering")).AddHttpMessageHandler(() => counting);
        using var host = builder.Build();
        await host.StartAsync();

        var client = host.Services.GetRequiredService<MeteringClient>();
        var result = await client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        result.Should().BeOfType<UsageEventResult.Accepted>();
        client.Endpoint.Should().Be(emulator.Endpoint);
        counting.Requests.Should().Be(1, "the request went through the IHttpClientFactory pipeline the builder configures");
        host.Services.GetRequiredService<MeteringClient>().Should().BeSameAs(client, "one client, one token cache");
        host.Services.GetRequiredService<IOptions<MeteringClientOptions>>().Value.Retry.Delay.Should().Be(TimeSpan.FromMilliseconds(10));
        await host.StopAsync();
    }

    [Fact]
    public async Task AddMarketplaceMeteringClient_BadConfiguration_HostFailsAtStartNamingEveryBadKey()
    {
        const string Secret = "s3cr3t-that-must-not-appear";
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MarketplaceMetering:Endpoint"] = "http://metering.example.com",
            ["MarketplaceMetering:NetworkTimeout"] = "soon",
            ["MarketplaceMetering:MaxConcurrency"] = "0",
            ["MarketplaceMetering:Retry:Delay"] = "3.00:00:00",
            ["MarketplaceMetering:NetworkTimout"] = "00:00:10",
            ["MarketplaceMetering:Credential:Kind"] = "ClientSecret",
            ["MarketplaceMetering:Credential:ClientSecret"] = Secret,
        });
        builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("MarketplaceMetering"));
        using var host = builder.Build();

        var act = () => host.StartAsync();

        var message = (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message;
        message.Should().Contain("MarketplaceMetering:Endpoint must use https")
            .And.Contain("MarketplaceMetering:NetworkTimeout is 'soon'")
            .And.Contain("MarketplaceMetering:MaxConcurrency must be between 1 and 64")
            .And.Contain("MarketplaceMetering:Retry:Delay must be between zero and")
            .And.Contain("MarketplaceMetering:NetworkTimout is not a setting")
            .And.Contain("MarketplaceMetering:Credential:TenantId is required")
            .And.Contain("MarketplaceMetering:Credential:ClientId is required")
            .And.NotContain(Secret);
    }

    [Theory]
    [InlineData("Kind", "Magic", "MarketplaceMetering:Credential:Kind is 'Magic'")]
    [InlineData("Kind", "TokenCredential", "no TokenCredential is registered")]
    [InlineData("Kind", null, "MarketplaceMetering:Credential:Kind is required")]
    [InlineData("CertificatePath", "/no/such/file.pfx", "MarketplaceMetering:Credential:CertificatePath: the file '/no/such/file.pfx' does not exist")]
    public async Task AddMarketplaceMeteringClient_BadCredential_HostFailsAtStartNamingTheKey(string key, string? value, string expected)
    {
        var settings = new Dictionary<string, string?> { ["MarketplaceMetering:Credential:" + key] = value };
        if (key == "CertificatePath")
        {
            settings["MarketplaceMetering:Credential:Kind"] = "Certificate";
            settings["MarketplaceMetering:Credential:TenantId"] = LoginServer.Tenant;
            settings["MarketplaceMetering:Credential:ClientId"] = LoginServer.Client;
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("MarketplaceMetering"));
        using var host = builder.Build();

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(expected);
    }

    [Theory]
    [InlineData("wrong password")]
    [InlineData("no private key")]
    [InlineData("not a certificate")]
    public async Task AddMarketplaceMeteringClient_CertificateFileUnusable_HostFailsAtStartNamingTheKeyButNotThePassword(string problem)
    {
        const string Password = "pfx-password-value-1234";
        using var certificate = MeteringCredentialTests.SelfSigned("CN=metering-di-bad");
        var path = Path.Combine(Path.GetTempPath(), "metering-di-bad-" + Guid.NewGuid() + ".pfx");
        byte[] bytes = problem switch
        {
            "wrong password" => certificate.Export(X509ContentType.Pfx, "another-password"),
            "no private key" => X509CertificateLoader.LoadCertificate(certificate.Export(X509ContentType.Cert)).Export(X509ContentType.Pfx, Password),
            _ => "this is not a PKCS #12 file"u8.ToArray(),
        };
        await File.WriteAllBytesAsync(path, bytes);
        try
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["MarketplaceMetering:Credential:Kind"] = "Certificate",
                ["MarketplaceMetering:Credential:TenantId"] = LoginServer.Tenant,
                ["MarketplaceMetering:Credential:ClientId"] = LoginServer.Client,
                ["MarketplaceMetering:Credential:CertificatePath"] = path,
                ["MarketplaceMetering:Credential:CertificatePassword"] = Password,
            });
            builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("MarketplaceMetering"));
            using var host = builder.Build();

            var act = () => host.StartAsync();

            var message = (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message;
            message.Should().Contain("MarketplaceMetering:Credential:CertificatePath:").And.NotContain(Password);
            if (problem == "no private key")
            {
                message.Should().Contain("no private key");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("MarketplaceMetering:Endpoint", "not a uri", "MarketplaceMetering:Endpoint is 'not a uri', not an absolute URI")]
    [InlineData("MarketplaceMetering:Credential:CertificateStoreLocation", "Moon", "MarketplaceMetering:Credential:CertificateStoreLocation is 'Moon'; it must be CurrentUser or LocalMachine")]
    [InlineData("MarketplaceMetering:Credential:CertificateStoreLocation", "1", "MarketplaceMetering:Credential:CertificateStoreLocation is '1'")]
    [InlineData("MarketplaceMetering:Credential:CertificateThumbprint", "0123456789ABCDEF", "CertificatePath or MarketplaceMetering:Credential:CertificateThumbprint is required for a certificate (one of them, not both)")]
    public async Task AddMarketplaceMeteringClient_BadSetting_HostFailsAtStartNamingTheKeyAndValue(string key, string value, string expected)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MarketplaceMetering:Credential:Kind"] = "Certificate",
            ["MarketplaceMetering:Credential:TenantId"] = LoginServer.Tenant,
            ["MarketplaceMetering:Credential:ClientId"] = LoginServer.Client,
            ["MarketplaceMetering:Credential:CertificatePath"] = "/no/such/file.pfx",
            [key] = value,
        });
        builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("MarketplaceMetering"));
        using var host = builder.Build();

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(expected);
    }

    [Fact]
    public async Task AddMarketplaceMeteringClient_CodeOverloadWithoutCredential_FailsAtStartNamingTheProperty()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddMarketplaceMeteringClient(o => o.NetworkTimeout = TimeSpan.FromMilliseconds(1));
        using var host = builder.Build();

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should()
            .Contain("MeteringClientOptions.NetworkTimeout must be between")
            .And.Contain("MeteringCredentialOptions.Kind is required");
    }

    [Fact]
    public async Task AddMarketplaceMeteringClient_CodeOverload_UsesRegisteredTimeProviderLoggerAndCredential()
    {
        var clock = new TestClock();
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { TimeProvider = clock });
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddFakeLogging().SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Debug);
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddSingleton(emulator.Credential);
        builder.Services.AddMarketplaceMeteringClient(o => o.Endpoint = emulator.Endpoint);
        using var host = builder.Build();
        await host.StartAsync();

        // An hour before the fake clock's now: valid only if the client reads the registered TimeProvider.
        var result = await host.Services.GetRequiredService<MeteringClient>().SubmitUsageEventAsync(TestEvents.HourAgo(clock));

        result.Should().BeOfType<UsageEventResult.Accepted>();
        host.Services.GetFakeLogCollector().GetSnapshot().Should().Contain(r => r.Category == "MarketplaceMetering.MeteringClient" && r.Message.Contains("Sending POST /api/usageEvent"));
        await host.StopAsync();
    }

    [Fact]
    public async Task AddMarketplaceMeteringClient_ServiceRedirects_FactoryHandlerDoesNotFollow()
    {
        await using var emulator = await MeteringEmulator.StartAsync();
        using var other = WireMockLoopback.Answering();
        emulator.Faults.Enqueue(EmulatorFault.Respond(307, string.Empty, new Dictionary<string, string> { ["Location"] = other.LocalhostUrl("api/usageEvent") }));
        var services = new ServiceCollection();
        services.AddSingleton(emulator.Credential);
        services.AddMarketplaceMeteringClient(o => o.Endpoint = emulator.Endpoint);
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<MeteringClient>().SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        (await act.Should().ThrowAsync<MeteringException>()).Which.StatusCode.Should().Be(307);
        other.LogEntries.Should().BeEmpty("the redirect is never followed");
    }

    [Fact]
    public async Task AddMarketplaceMeteringClient_ClientSecretFromConfiguration_GetsTokenThroughRegisteredMsalFactory()
    {
        await using var emulator = await MeteringEmulator.StartAsync();
        using var login = LoginServer.Start(LoginServer.Token(emulator.Token));
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Metering:Endpoint"] = emulator.Endpoint.ToString(),
            ["Metering:Credential:Kind"] = "clientsecret",
            ["Metering:Credential:TenantId"] = LoginServer.Tenant,
            ["Metering:Credential:ClientId"] = LoginServer.Client,
            ["Metering:Credential:ClientSecret"] = "configured-secret-value",
        });
        builder.Services.AddSingleton<IMsalHttpClientFactory>(new RedirectingMsalFactory(login));
        builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("Metering"));
        using var host = builder.Build();
        await host.StartAsync();

        var result = await host.Services.GetRequiredService<MeteringClient>().SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        result.Should().BeOfType<UsageEventResult.Accepted>();
        var form = login.TokenRequests().Should().ContainSingle().Subject.Form;
        form["client_id"].Should().Be(LoginServer.Client);
        form["client_secret"].Should().Be("configured-secret-value");
        await host.StopAsync();
    }

    [Fact]
    public async Task AddMarketplaceMeteringClient_CertificateFile_IsLoadedAndSignsTheTokenRequest()
    {
        using var certificate = MeteringCredentialTests.SelfSigned("CN=metering-di-test");
        var path = Path.Combine(Path.GetTempPath(), "metering-di-" + Guid.NewGuid() + ".pfx");
        await File.WriteAllBytesAsync(path, certificate.Export(X509ContentType.Pfx, "pfx-password"));
        try
        {
            await using var emulator = await MeteringEmulator.StartAsync();
            using var login = LoginServer.Start(LoginServer.Token(emulator.Token));
            var services = new ServiceCollection();
            services.AddSingleton<IMsalHttpClientFactory>(new RedirectingMsalFactory(login));
            services.AddMarketplaceMeteringClient(o => o.Endpoint = emulator.Endpoint, c =>
            {
                c.Kind = MeteringCredentialKind.Certificate;
                c.TenantId = LoginServer.Tenant;
                c.ClientId = LoginServer.Client;
                c.CertificatePath = path;
                c.CertificatePassword = "pfx-password";
            });
            await using var provider = services.BuildServiceProvider();

            var result = await provider.GetRequiredService<MeteringClient>().SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

            result.Should().BeOfType<UsageEventResult.Accepted>();
            login.TokenRequests().Should().ContainSingle().Which.Form.Should().ContainKey("client_assertion", "a certificate credential signs a client assertion");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MeteringCredentialOptions_ToString_NeverShowsTheSecretOrPassword()
    {
        var options = new MeteringCredentialOptions { Kind = MeteringCredentialKind.ClientSecret, TenantId = "t", ClientId = "c", ClientSecret = "the-secret-value", CertificatePassword = "the-password" };

        options.ToString().Should().NotContain("the-secret-value").And.NotContain("the-password").And.Contain("ClientSecret");
    }

    private sealed class CountingHandler : DelegatingHandler
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
