using MarketplaceMetering;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the accumulation layer: a <see cref="UsageLedger"/>, a <see cref="UsageRecorder"/> and the <see cref="UsageFlusher"/> as a hosted service.</summary>
public static class AccumulationServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="UsageRecorder"/> over a singleton <see cref="UsageLedger"/>, and the
    /// <see cref="UsageFlusher"/> as a hosted service, with settings from <paramref name="configuration"/> (a section
    /// such as <c>configuration.GetSection("MarketplaceMetering:Accumulation")</c>): <c>Ledger</c> (Sqlite or
    /// PostgreSql), <c>ConnectionString</c>, <c>Schema</c>, <c>Grace</c>, <c>DurabilityInterval</c>,
    /// <c>FlushInterval</c>, <c>LeaseDuration</c>, <c>DeadlineWarningMargin</c>, <c>MaxRowsPerClaim</c> and
    /// <c>InstanceName</c>. The settings are validated when the host starts, in one message naming every bad key by its
    /// path. The flusher sends through the <see cref="MeteringClient"/> that <c>AddMarketplaceMeteringClient</c> registers.
    /// Called again (either overload), the last call wins entirely: nothing an earlier call configured survives, not even
    /// a key the last section leaves out. Actions added with <c>services.Configure</c> still apply, and so does
    /// <c>UsePostgreSqlLedger()</c>, whichever call's builder it was made on.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The accumulation settings.</param>
    /// <returns>A builder, for <c>UsePostgreSqlLedger()</c>.</returns>
    public static UsageAccumulationBuilder AddMarketplaceMeteringAccumulation(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var reader = new AccumulationConfiguration(configuration);
        RemoveEarlierSettings(services);
        services.AddSingleton<IConfigureOptions<UsageAccumulationOptions>>(new AccumulationSettings<UsageAccumulationOptions>(reader.Read));
        services.AddSingleton<IConfigureOptions<UsageLedgerOptions>>(new AccumulationSettings<UsageLedgerOptions>(reader.Read));
        return Register(services, reader);
    }

    /// <summary>Registers the accumulation layer configured in code; see the other overload (the last call wins entirely).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the recorder's and flusher's settings.</param>
    /// <param name="configureLedger">Chooses the ledger; <see langword="null"/> for SQLite in <c>marketplace-metering-usage.db</c>.</param>
    /// <returns>A builder, for <c>UsePostgreSqlLedger()</c>.</returns>
    public static UsageAccumulationBuilder AddMarketplaceMeteringAccumulation(this IServiceCollection services, Action<UsageAccumulationOptions> configure, Action<UsageLedgerOptions>? configureLedger = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        RemoveEarlierSettings(services);
        services.AddSingleton<IConfigureOptions<UsageAccumulationOptions>>(new AccumulationSettings<UsageAccumulationOptions>(configure));
        services.AddOptions<UsageLedgerOptions>();
        if (configureLedger is not null)
        {
            services.AddSingleton<IConfigureOptions<UsageLedgerOptions>>(new AccumulationSettings<UsageLedgerOptions>(configureLedger));
        }

        return Register(services, new AccumulationConfiguration(section: null));
    }

    /// <summary>
    /// Removes the settings an earlier call registered, so that the last call wins entirely: a key its section (or action)
    /// leaves out takes the default, not the earlier call's value (an earlier call's PostgreSQL ledger and its connection
    /// string, say). Only this class's own actions are removed; those the app added with <c>services.Configure</c> stay.
    /// </summary>
    private static void RemoveEarlierSettings(IServiceCollection services)
    {
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (!services[i].IsKeyedService && services[i].ImplementationInstance is AccumulationSettings<UsageAccumulationOptions> or AccumulationSettings<UsageLedgerOptions>)
            {
                services.RemoveAt(i);
            }
        }
    }

    private static UsageAccumulationBuilder Register(IServiceCollection services, AccumulationConfiguration reader)
    {
        services.RemoveAll<AccumulationConfiguration>();
        services.AddSingleton(reader);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UsageAccumulationOptions>, AccumulationOptionsValidator>());
        services.AddOptions<UsageAccumulationOptions>().ValidateOnStart();

        services.TryAddKeyedSingleton<UsageLedger>(UsageLedgerKind.Sqlite, (provider, _) => new SqliteUsageLedger(provider.GetRequiredService<IOptions<UsageLedgerOptions>>().Value.SqlitePath));
        services.TryAddSingleton(provider => provider.GetRequiredKeyedService<UsageLedger>(provider.GetRequiredService<IOptions<UsageLedgerOptions>>().Value.Ledger));
        services.TryAddSingleton(provider => new UsageRecorder(provider.GetRequiredService<UsageLedger>(), ResolvedOptions(provider)));
        services.TryAddSingleton(provider => new UsageFlusher(provider.GetRequiredService<UsageLedger>(), provider.GetRequiredService<MeteringClient>(), ResolvedOptions(provider), RegisteredClientOptions(provider)?.MaxConcurrency, clientSettingsUnseen: !ClientOptionsConfigured(provider)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, UsageFlusherHostedService>());
        return new UsageAccumulationBuilder(services, reader.Path);
    }

    /// <summary>
    /// The options the registered client is built from, when they are configured through the container (as
    /// <c>AddMarketplaceMeteringClient</c> does); <see langword="null"/> when nothing configures them (a client built and
    /// registered by the app, whose options cannot be seen) or when they are themselves invalid (their own start-up
    /// validation reports that).
    /// </summary>
    internal static MeteringClientOptions? RegisteredClientOptions(IServiceProvider provider)
    {
        if (!ClientOptionsConfigured(provider))
        {
            return null;
        }

        try
        {
            return provider.GetRequiredService<IOptions<MeteringClientOptions>>().Value;
        }
        catch (OptionsValidationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether anything in the container configures <see cref="MeteringClientOptions"/>: <c>AddMarketplaceMeteringClient</c>,
    /// or the app's own <c>services.Configure&lt;MeteringClientOptions&gt;</c>. When nothing does, the client was built and
    /// registered by the app, and its settings cannot be seen.
    /// </summary>
    internal static bool ClientOptionsConfigured(IServiceProvider provider) =>
        provider.GetServices<IConfigureOptions<MeteringClientOptions>>().Any();

    /// <summary>The options with the host's logger factory and clock, unless set in code.</summary>
    private static UsageAccumulationOptions ResolvedOptions(IServiceProvider provider)
    {
        var configured = provider.GetRequiredService<IOptions<UsageAccumulationOptions>>().Value;
        var options = new UsageAccumulationOptions
        {
            Grace = configured.Grace,
            DurabilityInterval = configured.DurabilityInterval,
            FlushInterval = configured.FlushInterval,
            LeaseDuration = configured.LeaseDuration,
            DeadlineWarningMargin = configured.DeadlineWarningMargin,
            MaxRowsPerClaim = configured.MaxRowsPerClaim,
            InstanceName = configured.InstanceName,
            TimeProvider = ReferenceEquals(configured.TimeProvider, TimeProvider.System) ? provider.GetService<TimeProvider>() ?? TimeProvider.System : configured.TimeProvider,
            LoggerFactory = configured.LoggerFactory ?? provider.GetService<ILoggerFactory>(),
        };
        return options;
    }
}

/// <summary>
/// The settings one <c>AddMarketplaceMeteringAccumulation</c> call configures (its section, or its actions): a type of
/// its own, so that a later call can find and remove them.
/// </summary>
internal sealed class AccumulationSettings<TOptions>(Action<TOptions> configure) : IConfigureOptions<TOptions>
    where TOptions : class
{
    public void Configure(TOptions options) => configure(options);
}
