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
    /// Called again (either overload), the last call wins entirely: nothing an earlier call configured survives, not even
    /// a key the last section leaves out. Actions added with <c>services.Configure</c> still apply, in their order.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The client's configuration section.</param>
    /// <returns>
    /// The builder of the <see cref="HttpClient"/> the client sends through (from <c>IHttpClientFactory</c>, with the
    /// client's TLS 1.2+ handler that never follows redirects), to add handlers of your own. Every call returns the
    /// builder of the same named client, so handlers added through an earlier call's builder still apply.
    /// </returns>
    public static IHttpClientBuilder AddMarketplaceMeteringClient(this IServiceCollection services, IConfiguration configuration)
    {
        ThrowIfNull(services, nameof(services));
        ThrowIfNull(configuration, nameof(configuration));
        var registration = new MeteringRegistration(configuration);
        RemoveEarlierSettings(services);
        services.AddSingleton<IConfigureOptions<MeteringClientOptions>>(new MeteringSettings<MeteringClientOptions>(options => MeteringConfiguration.Read(configuration, registration.Path, options, [])));
        services.AddSingleton<IConfigureOptions<MeteringCredentialOptions>>(new MeteringSettings<MeteringCredentialOptions>(options => MeteringConfiguration.Read(configuration, registration.Path, options, [])));
        return Register(services, registration);
    }

    /// <summary>
    /// Registers a singleton <see cref="MeteringClient"/> configured in code. Its credential is
    /// <paramref name="configureCredential"/>'s, or else a <c>TokenCredential</c> registered in the service collection.
    /// The settings are validated when the host starts, in one message that names every bad setting.
    /// Called again (either overload), the last call wins entirely: nothing an earlier call configured survives, its
    /// credential included. Actions added with <c>services.Configure</c> still apply, in their order.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the client's options.</param>
    /// <param name="configureCredential">Describes the credential; <see langword="null"/> to use a registered <c>TokenCredential</c>.</param>
    /// <returns>
    /// The builder of the <see cref="HttpClient"/> the client sends through, to add handlers of your own (the same named
    /// client for every call, so handlers added through an earlier call's builder still apply).
    /// </returns>
    public static IHttpClientBuilder AddMarketplaceMeteringClient(this IServiceCollection services, Action<MeteringClientOptions> configure, Action<MeteringCredentialOptions>? configureCredential = null)
    {
        ThrowIfNull(services, nameof(services));
        ThrowIfNull(configure, nameof(configure));
        RemoveEarlierSettings(services);
        services.AddSingleton<IConfigureOptions<MeteringClientOptions>>(new MeteringSettings<MeteringClientOptions>(configure));
        services.AddOptions<MeteringCredentialOptions>();
        if (configureCredential is not null)
        {
            services.AddSingleton<IConfigureOptions<MeteringCredentialOptions>>(new MeteringSettings<MeteringCredentialOptions>(configureCredential));
        }

        return Register(services, new MeteringRegistration(section: null));
    }

    /// <summary>
    /// Removes the settings an earlier call registered, so the last call wins entirely: a key its section (or action)
    /// leaves out takes the default, not the earlier call's value. Only this class's own actions are removed; those the
    /// user added with <c>services.Configure</c> stay, in their place.
    /// </summary>
    private static void RemoveEarlierSettings(IServiceCollection services)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            var descriptor = services[i];
            if (!descriptor.IsKeyedService
                && descriptor.ImplementationInstance is MeteringSettings<MeteringClientOptions> or MeteringSettings<MeteringCredentialOptions>)
            {
                services.RemoveAt(i);
            }
        }
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
