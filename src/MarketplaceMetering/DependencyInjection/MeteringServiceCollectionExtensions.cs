using MarketplaceMetering;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a <see cref="MeteringClient"/> in a service collection.</summary>
public static class MeteringServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="MeteringClient"/> whose settings and credential come from
    /// <paramref name="configuration"/> (a section such as <c>configuration.GetSection("MarketplaceMetering")</c>):
    /// <c>Endpoint</c>, <c>ApiVersion</c>, <c>NetworkTimeout</c>, <c>MaxConcurrency</c>, <c>Retry:MaxRetries</c>,
    /// <c>Retry:Delay</c>, <c>Retry:MaxDelay</c>, and <c>Credential:*</c> (<see cref="MeteringCredentialOptions"/>).
    /// The settings are validated when the host starts, in one message that names every bad key by its path.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The client's configuration section.</param>
    /// <returns>
    /// The builder of the <see cref="HttpClient"/> the client sends through (from <c>IHttpClientFactory</c>, with the
    /// client's TLS 1.2+ handler that never follows redirects), to add handlers of your own.
    /// </returns>
    public static IHttpClientBuilder AddMarketplaceMeteringClient(this IServiceCollection services, IConfiguration configuration)
    {
        ThrowIfNull(services, nameof(services));
        ThrowIfNull(configuration, nameof(configuration));
        var registration = new MeteringRegistration(configuration);
        services.AddOptions<MeteringClientOptions>().Configure(options => MeteringConfiguration.Read(configuration, registration.Path, options, []));
        services.AddOptions<MeteringCredentialOptions>().Configure(options => MeteringConfiguration.Read(configuration, registration.Path, options, []));
        return Register(services, registration);
    }

    /// <summary>
    /// Registers a singleton <see cref="MeteringClient"/> configured in code. Its credential is
    /// <paramref name="configureCredential"/>'s, or else a <c>TokenCredential</c> registered in the service collection.
    /// The settings are validated when the host starts, in one message that names every bad setting.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the client's options.</param>
    /// <param name="configureCredential">Describes the credential; <see langword="null"/> to use a registered <c>TokenCredential</c>.</param>
    /// <returns>The builder of the <see cref="HttpClient"/> the client sends through, to add handlers of your own.</returns>
    public static IHttpClientBuilder AddMarketplaceMeteringClient(this IServiceCollection services, Action<MeteringClientOptions> configure, Action<MeteringCredentialOptions>? configureCredential = null)
    {
        ThrowIfNull(services, nameof(services));
        ThrowIfNull(configure, nameof(configure));
        services.AddOptions<MeteringClientOptions>().Configure(configure);
        var credential = services.AddOptions<MeteringCredentialOptions>();
        if (configureCredential is not null)
        {
            credential.Configure(configureCredential);
        }

        return Register(services, new MeteringRegistration(section: null));
    }

    private static IHttpClientBuilder Register(IServiceCollection services, MeteringRegistration registration)
    {
        services.RemoveAll<MeteringRegistration>();
        services.AddSingleton(registration);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MeteringClientOptions>, MeteringOptionsValidator>());
        services.AddOptions<MeteringClientOptions>().ValidateOnStart();
        services.TryAddSingleton(CreateClient);

        return services
            .AddHttpClient(MeteringRegistration.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(() => MeteringTransport.CreateHandler())
            .ConfigureHttpClient(client => client.Timeout = Timeout.InfiniteTimeSpan) // the client's NetworkTimeout applies per attempt
            // The factory's default request logging masks header values in its message but hands the raw headers, bearer
            // token included, to logging providers as structured state. The client logs its own requests, without headers.
            .RemoveAllLoggers();
    }

    private static MeteringClient CreateClient(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<MeteringClientOptions>>().Value.Clone();
        if (ReferenceEquals(options.TimeProvider, TimeProvider.System) && services.GetService<TimeProvider>() is { } timeProvider)
        {
            options.TimeProvider = timeProvider;
        }

        options.LoggerFactory ??= services.GetService<ILoggerFactory>();
        var credential = ConfiguredCredential.Create(services.GetRequiredService<IOptions<MeteringCredentialOptions>>().Value, services);
        var factory = services.GetRequiredService<IHttpClientFactory>();

        // A client per attempt from the factory is cheap, and lets the factory rotate handlers (DNS changes) while the
        // singleton MeteringClient keeps its token cache.
        return new MeteringClient(() => factory.CreateClient(MeteringRegistration.HttpClientName), credential, options);
    }

    private static void ThrowIfNull(object? value, string name)
    {
        if (value is null)
        {
            throw new ArgumentNullException(name);
        }
    }
}
