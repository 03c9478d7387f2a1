using Microsoft.Extensions.DependencyInjection;

namespace MarketplaceMetering;

/// <summary>Returned by <c>AddMarketplaceMeteringAccumulation</c>, for further set-up such as <c>UsePostgreSqlLedger()</c>.</summary>
public sealed class UsageAccumulationBuilder
{
    internal UsageAccumulationBuilder(IServiceCollection services, string configurationPath)
    {
        Services = services;
        ConfigurationPath = configurationPath;
    }

    /// <summary>Gets the service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Gets the configuration path of the accumulation settings (empty when configured in code), for messages.</summary>
    public string ConfigurationPath { get; }
}
