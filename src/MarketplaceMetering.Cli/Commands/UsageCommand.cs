using System.CommandLine;
using System.Globalization;
using MarketplaceMetering.Cli.CommandLine;
using MarketplaceMetering.Cli.Input;
using MarketplaceMetering.Cli.Output;

namespace MarketplaceMetering.Cli.Commands;

/// <summary><c>metering usage</c>: lists what the marketplace recorded (GET /api/usageEvents).</summary>
internal static class UsageCommand
{
    public static Command Create(GlobalOptions global, CliContext context)
    {
        var from = new Option<string>("--from") { Description = "First day (2026-11-19, a UTC day) or time with a zone.", Required = true, HelpName = "DAY" };
        var to = new Option<string>("--to") { Description = "Where the listing ends (exclusive), as --from; default: the service's (today).", HelpName = "DAY" };
        var offer = new Option<string>("--offer") { Description = "Only this offer id." };
        var plan = new Option<string>("--plan") { Description = "Only this plan id." };
        var dimension = new Option<string>("--dimension") { Description = "Only this dimension." };
        var subscription = new Option<string>("--azure-subscription") { Description = "Only resources in this Azure subscription (a GUID)." };
        var recon = new Option<string>("--recon-status") { Description = "Only rows with this reconciliation status (Submitted, Accepted, Rejected, Mismatch, …)." };
        var command = new Command("usage", "List the usage the marketplace recorded, per resource, dimension and day.") { from, to, offer, plan, dimension, subscription, recon };

        MeteringCli.SetAction(command, global, context, async (parse, output, cancellationToken) =>
        {
            var start = ParseDay(parse.GetValue(from)!, "--from");
            DateTimeOffset? end = parse.GetValue(to) is { } toText ? ParseDay(toText, "--to") : null;
            Guid? subscriptionId = null;
            if (parse.GetValue(subscription) is { } subscriptionText)
            {
                subscriptionId = Guid.TryParse(subscriptionText, out var parsed) ? parsed : throw new CliException($"--azure-subscription '{Messages.Shown(subscriptionText)}' is not a GUID.");
            }

            // A filter holding a line break or an ESC matches no row: the listing would say "0 rows" of a typing mistake.
            Messages.RefuseUnsafeOptions([("--offer", parse.GetValue(offer)), ("--plan", parse.GetValue(plan)), ("--dimension", parse.GetValue(dimension)), ("--recon-status", parse.GetValue(recon))], "no row can match it");

            if (end < start)
            {
                throw new CliException($"--to {CliOutput.Time(end.Value)} is before --from {CliOutput.Time(start)}.");
            }

            using var client = global.CreateClient(parse, context);
            var rows = await client.GetUsageEventsAsync(
                new UsageEventQuery(start, end)
                {
                    OfferId = parse.GetValue(offer),
                    PlanId = parse.GetValue(plan),
                    Dimension = parse.GetValue(dimension),
                    AzureSubscriptionId = subscriptionId,
                    ReconStatus = parse.GetValue(recon) is { } status ? new ReconStatus(status) : (ReconStatus?)null,
                },
                cancellationToken).ConfigureAwait(false);

            if (output.Json)
            {
                output.WriteJson(rows.Select(View));
                return ExitCodes.Success;
            }

            var table = CliOutput.Table("Day", "Resource", "Dimension", "Plan", "Offer", "Status", "Submitted", "Processed", "Events");
            foreach (var row in rows)
            {
                CliOutput.AddRow(
                    table,
                    CliOutput.Day(row.UsageDate),
                    row.UsageResourceId.ToString("D"),
                    row.Dimension,
                    row.PlanId,
                    row.OfferId,
                    row.ReconStatus.ToString(),
                    CliOutput.Number(row.SubmittedQuantity),
                    row.ProcessedQuantity is { } processed ? CliOutput.Number(processed) : null,
                    row.SubmittedCount?.ToString(CultureInfo.InvariantCulture));
            }

            output.Console.Write(table);
            output.WriteLine($"{rows.Count.ToString(CultureInfo.InvariantCulture)} row{(rows.Count == 1 ? string.Empty : "s")}.");
            return ExitCodes.Success;
        });

        return command;
    }

    public static DateTimeOffset ParseDay(string text, string option)
    {
        var day = TimeText.ParseDayOrInstant(text, out var problem) ?? throw new CliException(option + " " + problem + ".");

        // The client takes the smallest date there is for a date not given, and said "UsageStartDate is required" of a
        // --from that was given.
        return day == DateTimeOffset.MinValue
            ? throw new CliException($"{option} {Messages.Shown(text.Trim())} is the smallest date there is (0001-01-01T00:00:00Z), which the client takes for a date not given; give the first day to list, such as 2026-11-19.")
            : day;
    }

    public static object View(RecordedUsage row) => new
    {
        usageDate = CliOutput.Day(row.UsageDate),
        usageResourceId = row.UsageResourceId,
        dimension = row.Dimension,
        planId = row.PlanId,
        planName = row.PlanName,
        offerId = row.OfferId,
        offerName = row.OfferName,
        offerType = row.OfferType,
        azureSubscriptionId = row.AzureSubscriptionId,
        reconStatus = row.ReconStatus == default ? null : row.ReconStatus.ToString(), // absent: left out, not ""
        submittedQuantity = row.SubmittedQuantity,
        processedQuantity = row.ProcessedQuantity,
        submittedCount = row.SubmittedCount,
    };
}
