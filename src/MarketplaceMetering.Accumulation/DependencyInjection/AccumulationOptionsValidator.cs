using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace MarketplaceMetering;

/// <summary>Validates the accumulation settings at start-up, in one message naming every bad key by its configuration path.</summary>
internal sealed class AccumulationOptionsValidator(AccumulationConfiguration configuration, IOptions<UsageLedgerOptions> ledger, IServiceProvider services) : IValidateOptions<UsageAccumulationOptions>
{
    public ValidateOptionsResult Validate(string? name, UsageAccumulationOptions options)
    {
        var ledgerOptions = ledger.Value; // read first: reading it reports its keys' problems
        var problems = new List<string>(configuration.Problems);
        problems.AddRange(options.Problems().Select(configuration.Key));

        if (services.GetService<IServiceProviderIsKeyedService>() is { } keyed && !keyed.IsKeyedService(typeof(UsageLedger), ledgerOptions.Ledger))
        {
            problems.Add(configuration.Key("Ledger") + " is " + ledgerOptions.Ledger + ", but that ledger is not registered: add the MarketplaceMetering.Accumulation.PostgreSql package and call UsePostgreSqlLedger() on the builder AddMarketplaceMeteringAccumulation returns.");
        }

        if (ledgerOptions.Ledger == UsageLedgerKind.Sqlite && ledgerOptions.SqliteProblem is { } sqlite)
        {
            problems.Add(configuration.Key("ConnectionString") + " " + sqlite);
        }

        if (ledgerOptions.Ledger == UsageLedgerKind.PostgreSql && string.IsNullOrWhiteSpace(ledgerOptions.ConnectionString))
        {
            problems.Add(configuration.Key("ConnectionString") + " is required for the PostgreSql ledger (an Npgsql connection string).");
        }

        if (services.GetService<IServiceProviderIsService>() is { } registered && !registered.IsService(typeof(MeteringClient)))
        {
            problems.Add("No MeteringClient is registered: call services.AddMarketplaceMeteringClient(...) as well; the flusher sends through it.");
        }
        else if (options.Problems().Count == 0 && AccumulationServiceCollectionExtensions.RegisteredClientOptions(services) is { } client && WorstCaseSend.Problem(options.LeaseDuration, configuration.Key(nameof(options.LeaseDuration)), client) is { } lease)
        {
            problems.Add(lease);
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
