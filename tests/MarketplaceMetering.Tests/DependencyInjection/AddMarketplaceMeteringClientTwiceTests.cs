using MarketplaceMetering.Emulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Client;

namespace MarketplaceMetering.Tests.DependencyInjection;

/// <summary>
/// <c>AddMarketplaceMeteringClient</c> called twice (a "production" registration, then a "staging" one): the last call
/// wins entirely. Nothing the earlier call configured survives into the options or the credential, whichever overload
/// each call used; what the user configured with <c>services.Configure</c> still applies.
/// </summary>
public class AddMarketplaceMeteringClientTwiceTests
{
    private static readonly Uri Production = new("https://metering-production.example.com/");

    private static readonly Dictionary<string, string?> ProductionSettings = new()
    {
        ["Production:Endpoint"] = Production.ToString(),
        ["Production:MaxConcurrency"] = "9",
        ["Production:Retry:MaxRetries"] = "7",
        ["Production:Credential:Kind"] = "ClientSecret",
        ["Production:Credential:TenantId"] = LoginServer.Tenant,
        ["Production:Credential:ClientId"] = LoginServer.Client,
        ["Production:Credential:ClientSecret"] = "production-secret-value",
    };

    [Fact]
    public async Task AddMarketplaceMeteringClient_CalledTwiceWithConfiguration_KeysAbsentFromTheSecondSectionAreNotTheFirstOnes()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(ProductionSettings).AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Staging:NetworkTimeout"] = "00:00:20",
            ["Staging:Credential:Kind"] = "ManagedIdentity",
        }).Build();
        var services = new ServiceCollection();
        services.AddMarketplaceMeteringClient(configuration.GetSection("Production"));
        services.AddMarketplaceMeteringClient(configuration.GetSection("Staging"));
        await using var provider = services.BuildServiceProvider();

        var (options, credential, client) = Resolve(provider);

        ShouldBeDefaultsBut(options, networkTimeout: TimeSpan.FromSeconds(20));
        client.Endpoint.Should().Be(new MeteringClientOptions().Endpoint, "the staging section names no endpoint");
        credential.Kind.Should().Be(MeteringCredentialKind.ManagedIdentity);
        credential.TenantId.Should().BeNull();
        credential.ClientId.Should().BeNull("a ClientId would make it a user-assigned identity, production's app id");
        credential.ClientSecret.Should().BeNull();
    }

    [Fact]
    public async Task AddMarketplaceMeteringClient_CalledTwiceInCode_OnlyTheSecondCallsActionsApply()
    {
        var services = new ServiceCollection();
        AddProductionInCode(services);
        services.AddMarketplaceMeteringClient(o => o.NetworkTimeout = TimeSpan.FromSeconds(20), c => c.Kind = MeteringCredentialKind.ManagedIdentity);
        await using var provider = services.BuildServiceProvider();

        var (options, credential, client) = Resolve(provider);

        ShouldBeDefaultsBut(options, networkTimeout: TimeSpan.FromSeconds(20));
        client.Endpoint.Should().Be(new MeteringClientOptions().Endpoint);
        credential.Kind.Should().Be(MeteringCredentialKind.ManagedIdentity);
        credential.ClientId.Should().BeNull();
        credential.ClientSecret.Should().BeNull();
    }

    [Fact]
    public async Task AddMarketplaceMeteringClient_ConfigurationThenCodeWithoutCredential_NothingOfTheSectionSurvives()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(ProductionSettings).Build();
        var services = new ServiceCollection();
        services.AddSingleton<Azure.Core.TokenCredential>(new StaticCredential());
        services.AddMarketplaceMeteringClient(configuration.GetSection("Production"));
        services.AddMarketplaceMeteringClient(o => o.NetworkTimeout = TimeSpan.FromSeconds(20));
        await using var provider = services.BuildServiceProvider();

        var (options, credential, client) = Resolve(provider);

        ShouldBeDefaultsBut(options, networkTimeout: TimeSpan.FromSeconds(20));
        client.Endpoint.Should().Be(new MeteringClientOptions().Endpoint);
        credential.Kind.Should().BeNull("the second call has no credential action: the registered TokenCredential");
        credential.ClientSecret.Should().BeNull();
    }

    [Fact]
    public async Task AddMarketplaceMeteringClient_CodeThenConfiguration_NothingOfTheCodeSurvives()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Staging:NetworkTimeout"] = "00:00:20",
            ["Staging:Credential:Kind"] = "ManagedIdentity",
        }).Build();
        var services = new ServiceCollection();
        AddProductionInCode(services);
        services.AddMarketplaceMeteringClient(configuration.GetSection("Staging"));
        await using var provider = services.BuildServiceProvider();

        var (options, credential, client) = Resolve(provider);

        ShouldBeDefaultsBut(options, networkTimeout: TimeSpan.FromSeconds(20));
        client.Endpoint.Should().Be(new MeteringClientOptions().Endpoint);
        credential.Kind.Should().Be(MeteringCredentialKind.ManagedIdentity);
        credential.TenantId.Should().BeNull();
        credential.ClientId.Should().BeNull();
        credential.ClientSecret.Should().BeNull();
    }

    [Fact]
    public async Task AddMarketplaceMeteringClient_CalledTwice_UsersOwnConfigureActionsStillApplyInTheirOrder()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(ProductionSettings).AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Staging:MaxConcurrency"] = "5",
            ["Staging:Credential:Kind"] = "ManagedIdentity",
        }).Build();
        var services = new ServiceCollection();
        services.Configure<MeteringClientOptions>(o => o.NetworkTimeout = TimeSpan.FromSeconds(25)); // before both calls
        services.AddMarketplaceMeteringClient(configuration.GetSection("Production"));
        services.Configure<MeteringClientOptions>(o =>
        {
            o.Retry.MaxRetries = 1; // between the calls, a key the second section does not set
            o.MaxConcurrency = 2;   // and one it does: the later call's value wins, as before
        });
        services.AddMarketplaceMeteringClient(configuration.GetSection("Staging"));
        services.Configure<MeteringCredentialOptions>(c => c.ClientId = "user-assigned-identity"); // after both calls
        await using var provider = services.BuildServiceProvider();

        var (options, credential, _) = Resolve(provider);

        options.NetworkTimeout.Should().Be(TimeSpan.FromSeconds(25));
        options.Retry.MaxRetries.Should().Be(1);
        options.MaxConcurrency.Should().Be(5);
        options.Endpoint.Should().Be(new MeteringClientOptions().Endpoint);
        credential.Kind.Should().Be(MeteringCredentialKind.ManagedIdentity);
        credential.ClientId.Should().Be("user-assigned-identity", "the user's action runs after the registration's");
        credential.ClientSecret.Should().BeNull();
    }

    [Fact]
    public async Task AddMarketplaceMeteringClient_CalledTwice_SendsToTheSecondEndpointWithTheSecondCredential()
    {
        await using var production = await MeteringEmulator.StartAsync();
        await using var staging = await MeteringEmulator.StartAsync();
        using var login = LoginServer.Start(LoginServer.Token(production.Token));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Production:Endpoint"] = production.Endpoint.ToString(),
            ["Production:Credential:Kind"] = "ClientSecret",
            ["Production:Credential:TenantId"] = LoginServer.Tenant,
            ["Production:Credential:ClientId"] = LoginServer.Client,
            ["Production:Credential:ClientSecret"] = "production-secret-value",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IMsalHttpClientFactory>(new RedirectingMsalFactory(login));
        services.AddSingleton(staging.Credential);
        var first = new CountingHandler();
        var second = new CountingHandler();
        services.AddMarketplaceMeteringClient(configuration.GetSection("Production")).AddHttpMessageHandler(() => first);
        services.AddMarketplaceMeteringClient(o => o.Endpoint = staging.Endpoint).AddHttpMessageHandler(() => second);
        await using var provider = services.BuildServiceProvider();

        var result = await provider.GetRequiredService<MeteringClient>().SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        result.Should().BeOfType<UsageEventResult.Accepted>("staging's registered credential was used, not production's secret");
        staging.Requests.Should().ContainSingle();
        production.Requests.Should().BeEmpty();
        login.TokenRequests().Should().BeEmpty("production's client secret is never used");
        (first.Requests, second.Requests).Should().Be((1, 1), "handlers added through either call's builder apply: both calls configure the one named HttpClient");
    }

    /// <summary>The "production" registration in code: an endpoint, two settings and a client secret.</summary>
    private static void AddProductionInCode(IServiceCollection services) =>
        services.AddMarketplaceMeteringClient(
            o =>
            {
                o.Endpoint = Production;
                o.MaxConcurrency = 9;
                o.Retry.MaxRetries = 7;
            },
            c =>
            {
                c.Kind = MeteringCredentialKind.ClientSecret;
                c.TenantId = LoginServer.Tenant;
                c.ClientId = LoginServer.Client;
                c.ClientSecret = "production-secret-value";
            });

    private static (MeteringClientOptions Options, MeteringCredentialOptions Credential, MeteringClient Client) Resolve(IServiceProvider provider) =>
        (provider.GetRequiredService<IOptions<MeteringClientOptions>>().Value,
         provider.GetRequiredService<IOptions<MeteringCredentialOptions>>().Value,
         provider.GetRequiredService<MeteringClient>());

    private static void ShouldBeDefaultsBut(MeteringClientOptions options, TimeSpan networkTimeout)
    {
        var defaults = new MeteringClientOptions();
        options.Endpoint.Should().Be(defaults.Endpoint, "the endpoint was set only by the earlier call");
        options.MaxConcurrency.Should().Be(defaults.MaxConcurrency);
        options.Retry.MaxRetries.Should().Be(defaults.Retry.MaxRetries);
        options.NetworkTimeout.Should().Be(networkTimeout);
    }

    private sealed class StaticCredential : Azure.Core.TokenCredential
    {
        public override Azure.Core.AccessToken GetToken(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new("static-token", DateTimeOffset.MaxValue);

        public override ValueTask<Azure.Core.AccessToken> GetTokenAsync(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new(GetToken(requestContext, cancellationToken));
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
