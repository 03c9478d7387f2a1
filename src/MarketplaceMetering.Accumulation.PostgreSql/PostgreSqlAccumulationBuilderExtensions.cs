using MarketplaceMetering;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the PostgreSQL ledger to the accumulation layer registered by <c>AddMarketplaceMeteringAccumulation</c>.</summary>
public static class PostgreSqlAccumulationBuilderExtensions
{
    /// <summary>
    /// Makes the PostgreSQL ledger available: it is used when the settings say <c>Ledger: PostgreSql</c> (this call
    /// sets that for you when <paramref name="useIt"/> is true), with <c>ConnectionString</c> (an Npgsql connection
    /// string) and <c>Schema</c>.
    /// </summary>
    /// <param name="builder">The builder <c>AddMarketplaceMeteringAccumulation</c> returned.</param>
    /// <param name="useIt">Whether to choose the PostgreSQL ledger regardless of the configured <c>Ledger</c>.</param>
    /// <returns>The builder.</returns>
    public static UsageAccumulationBuilder UsePostgreSqlLedger(this UsageAccumulationBuilder builder, bool useIt = true)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddKeyedSingleton<UsageLedger>(UsageLedgerKind.PostgreSql, (provider, _) =>
        {
            var options = provider.GetRequiredService<IOptions<UsageLedgerOptions>>().Value;
            return new PostgreSqlUsageLedger(options.ConnectionString!, options.Schema);
        });
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UsageAccumulationOptions>, PostgreSqlLedgerOptionsValidator>(
            provider => new PostgreSqlLedgerOptionsValidator(provider.GetRequiredService<IOptions<UsageLedgerOptions>>(), builder.ConfigurationPath)));
        if (useIt)
        {
            builder.Services.PostConfigure<UsageLedgerOptions>(options => options.Ledger = UsageLedgerKind.PostgreSql);
        }

        return builder;
    }
}
