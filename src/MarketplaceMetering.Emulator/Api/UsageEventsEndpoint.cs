using MarketplaceMetering.Emulator.Hosting;
using MarketplaceMetering.Emulator.Ledger;
using MarketplaceMetering.Emulator.Rules;
using MarketplaceMetering.Emulator.Wire;
using Microsoft.AspNetCore.Http;

namespace MarketplaceMetering.Emulator.Api;

/// <summary>
/// <c>GET /api/usageEvents</c>: accepted usage summed per resource, dimension and UTC day, for days in
/// [<c>usageStartDate</c>, <c>UsageEndDate</c>), filtered by the optional query parameters.
/// </summary>
internal static class UsageEventsEndpoint
{
    public const string Path = "/api/usageEvents";

    /// <summary>The query parameters, spelled as the service documents them (<c>UsageEndDate</c> with a capital U).</summary>
    private static readonly string[] DocumentedNames =
        ["usageStartDate", "UsageEndDate", "offerId", "planId", "dimension", "azureSubscriptionId", "reconStatus"];

    public static ApiResponse Handle(EmulatorState state, IQueryCollection query)
    {
        // A documented name in other letter case is refused, naming the documented spelling: ASP.NET would read
        // "usageEndDate" as "UsageEndDate", but nothing says the service does, and a client passing here with another
        // spelling could get a report without its end (or filter) in production. After this check, the
        // case-insensitive lookups below only find names spelled as documented.
        foreach (var name in query.Keys)
        {
            if (Array.Find(DocumentedNames, documented => string.Equals(documented, name, StringComparison.OrdinalIgnoreCase)) is { } documented
                && !string.Equals(documented, name, StringComparison.Ordinal))
            {
                return Invalid(documented, $"The query parameter {name} must be spelled {documented}.");
            }
        }

        var startText = Single(query, "usageStartDate");
        if (startText is null)
        {
            return Invalid("usageStartDate", "The usageStartDate query parameter is required.");
        }

        if (!WireTime.TryParse(startText, out var start))
        {
            return Invalid("usageStartDate", "The usageStartDate query parameter is not a valid date.");
        }

        DateTimeOffset? end = null;
        if (Single(query, "UsageEndDate") is { } endText)
        {
            if (!WireTime.TryParse(endText, out var parsedEnd))
            {
                return Invalid("UsageEndDate", "The UsageEndDate query parameter is not a valid date.");
            }

            end = parsedEnd;
        }

        Guid? azureSubscriptionId = null;
        if (Single(query, "azureSubscriptionId") is { } subscriptionText)
        {
            if (!Guid.TryParse(subscriptionText, out var subscription))
            {
                return Invalid("azureSubscriptionId", "The azureSubscriptionId query parameter is not a valid GUID.");
            }

            azureSubscriptionId = subscription;
        }

        var reportQuery = new UsageReportQuery(
            start,
            end,
            Single(query, "offerId"),
            Single(query, "planId"),
            Single(query, "dimension"),
            azureSubscriptionId,
            Single(query, "reconStatus"));

        var rows = UsageReport.Build(state.Ledger.Entries, state.Catalogue, reportQuery, state.Reconciliation);
        return ApiResponse.Json(200, UsageReportWriter.Write(rows, state.TimeStyle));
    }

    private static string? Single(IQueryCollection query, string name)
    {
        var value = query[name].ToString();
        return string.IsNullOrWhiteSpace(value) ? null : value;
    }

    private static ApiResponse Invalid(string target, string message) =>
        ApiResponse.Error(400, ServiceError.BadRequest(EventStatus.BadArgument, message, target));
}
