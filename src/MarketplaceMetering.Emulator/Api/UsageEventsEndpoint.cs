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

    public static ApiResponse Handle(EmulatorState state, IQueryCollection query)
    {
        // Query names are case-insensitive here, so both "UsageEndDate" (documented) and "usageEndDate" work.
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
