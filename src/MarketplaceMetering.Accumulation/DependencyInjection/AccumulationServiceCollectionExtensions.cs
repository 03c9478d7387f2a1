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
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The accumulation settings.</param>
    /// <returns>A builder, for <c>UsePostgreSqlLedger()</c>.</returns>
    public static UsageAccumulationBuilder AddMarketplaceMeteringAccumulation(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var reader = new AccumulationConfiguration(configuration);
        services.AddOptions<UsageAccumulationOptions>().Configure(reader.Read);
        services.AddOptions<UsageLedgerOptions>().Configure(reader.Read);
        return Register(services, reader);
    }

    /// <summary>Registers the accumulation layer configured in code; see the other overload.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the recorder's and flusher's settings.</param>
    /// <param name="configureLedger">Chooses the ledger; <see langword="null"/> for SQLite in <c>marketplace-metering-usage.db</c>.</param>
    /// <returns>A builder, for <c>UsePostgreSqlLedger()</c>.</returns>
    public static UsageAccumulationBuilder AddMarketplaceMeteringAccumulation(this IServiceCollection services, Action<UsageAccumulationOptions> configure, Action<UsageLedgerOptions>? configureLedger = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<UsageAccumulationOptions>().Configure(configure);
        var ledger = services.AddOptions<UsageLedgerOptions>();
        if (configureLedger is not null)
        {
            ledger.Configure(configureLedger);
        }

        return Register(services, new AccumulationConfiguration(section: null));
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
        services.TryAddSingleton(provider => new UsageFlusher(provider.GetRequiredService<UsageLedger>(), provider.GetRequiredService<MeteringClient>(), ResolvedOptions(provider)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, UsageFlusherHostedService>());
        return new UsageAccumulationBuilder(services, reader.Path);
    }

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
