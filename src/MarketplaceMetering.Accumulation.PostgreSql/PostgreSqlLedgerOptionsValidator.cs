using Microsoft.Extensions.Options;
using Npgsql;

namespace MarketplaceMetering;

/// <summary>
/// Checks the PostgreSQL ledger's settings at start-up, with the accumulation layer's other settings: a malformed
/// connection string or a schema the ledger refuses is then one more line of the one message naming every bad key,
/// not an <see cref="ArgumentException"/> from whichever construction comes first. Never quotes the connection string.
/// </summary>
internal sealed class PostgreSqlLedgerOptionsValidator(IOptions<UsageLedgerOptions> ledger, string configurationPath) : IValidateOptions<UsageAccumulationOptions>
{
    public ValidateOptionsResult Validate(string? name, UsageAccumulationOptions options)
    {
        var settings = ledger.Value;
        if (settings.Ledger != UsageLedgerKind.PostgreSql)
        {
            return ValidateOptionsResult.Skip;
        }

        var problems = new List<string>();
        if (!string.IsNullOrWhiteSpace(settings.ConnectionString))
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(settings.ConnectionString);
            }
            catch (ArgumentException e)
            {
                // Npgsql's message names the bad keyword, never the value (which may be a password).
                problems.Add(Key("ConnectionString") + " is not a valid Npgsql connection string: " + e.Message);
            }
        }

        if (!PostgreSqlUsageLedger.IsSchemaName(settings.Schema))
        {
            problems.Add(Key("Schema") + " is '" + settings.Schema + "'; it must be a plain identifier: a lower-case letter or underscore, then lower-case letters, digits or underscores (at most 63).");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private string Key(string name) => configurationPath.Length == 0 ? name : configurationPath + ":" + name;
}
