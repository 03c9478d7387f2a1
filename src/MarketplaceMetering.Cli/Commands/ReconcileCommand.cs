using System.CommandLine;
using System.Globalization;
using MarketplaceMetering.Cli.CommandLine;
using MarketplaceMetering.Cli.Input;
using MarketplaceMetering.Cli.Output;

namespace MarketplaceMetering.Cli.Commands;

/// <summary><c>metering reconcile</c>: compares the events sent (a file) with what the marketplace recorded (<see cref="UsageReconciler"/>).</summary>
internal static class ReconcileCommand
{
    public static Command Create(GlobalOptions global, CliContext context)
    {
        var sent = new Option<string>("--sent") { Description = "A CSV or JSON-lines file of the events sent, with a status column (Accepted, Duplicate, Expired, …) and optionally resourceUsageId.", HelpName = "FILE" };
        var ledger = new Option<string>("--ledger") { Description = "The accumulation ledger (not available yet: export sent events to a file and use --sent).", HelpName = "PATH" };
        var from = new Option<string>("--from") { Description = "First day (2026-11-19, a UTC day) or time with a zone.", Required = true, HelpName = "DAY" };
        var to = new Option<string>("--to") { Description = "End of the range (exclusive; widened to midnight UTC); default: now.", HelpName = "DAY" };
        var command = new Command("reconcile", "Compare the events sent with what the marketplace recorded, per resource, dimension and day.") { sent, ledger, from, to };

        MeteringCli.SetAction(command, global, context, async (parse, output, cancellationToken) =>
        {
            if (parse.GetValue(ledger) is not null)
            {
                throw new CliException("--ledger is not available yet (the accumulation ledger has not shipped); export the events sent to a CSV or JSON-lines file and pass it with --sent.");
            }

            var path = parse.GetValue(sent) ?? throw new CliException("Give --sent FILE: the events sent, with their status.");
            var start = UsageCommand.ParseDay(parse.GetValue(from)!, "--from");
            var end = parse.GetValue(to) is { } toText ? UsageCommand.ParseDay(toText, "--to") : context.TimeProvider.GetUtcNow();
            if (end <= start)
            {
                throw new CliException($"--to {CliOutput.Time(end)} is not after --from {CliOutput.Time(start)}.");
            }

            var input = UsageFile.ReadSent(path);
            input.ThrowIfInvalid(context.Error);

            using var client = global.CreateClient(parse, context);
            var report = await new UsageReconciler(client).ReconcileAsync(input.Lines.Select(l => l.ToSentUsage()), start, end, cancellationToken).ConfigureAwait(false);
            if (output.Json)
            {
                output.WriteJson(new
                {
                    from = CliOutput.Time(report.From),
                    to = CliOutput.Time(report.To),
                    hasDifferences = report.HasDifferences,
                    rows = report.Rows.Select(r => new
                    {
                        day = CliOutput.Day(r.Day),
                        resourceId = r.ResourceId,
                        resourceUri = r.ResourceUri,
                        dimension = r.Dimension,
                        planId = r.PlanId,
                        sentQuantity = r.SentQuantity,
                        deliveredQuantity = r.DeliveredQuantity,
                        rejectedEvents = r.RejectedEvents,
                        undeliveredEvents = r.UndeliveredEvents,
                        recorded = r.Recorded is null ? null : UsageCommand.View(r.Recorded),
                        differences = Names(r.Differences),
                    }),
                });
            }
            else
            {
                var table = CliOutput.Table("Day", "Resource", "Dimension", "Sent", "Delivered", "Marketplace", "Processed", "Status", "Differences");
                foreach (var row in report.Rows)
                {
                    CliOutput.AddRow(
                        table,
                        CliOutput.Day(row.Day),
                        row.ResourceId?.ToString("D") ?? row.ResourceUri,
                        row.Dimension,
                        CliOutput.Number(row.SentQuantity),
                        CliOutput.Number(row.DeliveredQuantity),
                        row.Recorded is { } recorded ? CliOutput.Number(recorded.SubmittedQuantity) : "-",
                        row.Recorded?.ProcessedQuantity is { } processed ? CliOutput.Number(processed) : "-",
                        row.Recorded?.ReconStatus.ToString() ?? "-",
                        row.Differences == UsageDifferences.None ? "none" : string.Join(", ", Names(row.Differences)));
                }

                output.Console.Write(table);
                var differing = report.Differences.Count();
                output.WriteLine(differing == 0
                    ? $"No differences in {report.Rows.Count.ToString(CultureInfo.InvariantCulture)} rows ({CliOutput.Day(report.From)} to {CliOutput.Day(report.To)}, exclusive)."
                    : $"{differing.ToString(CultureInfo.InvariantCulture)} of {report.Rows.Count.ToString(CultureInfo.InvariantCulture)} rows differ ({CliOutput.Day(report.From)} to {CliOutput.Day(report.To)}, exclusive).");
            }

            return report.HasDifferences ? ExitCodes.Differences : ExitCodes.Success;
        });

        return command;
    }

    private static string[] Names(UsageDifferences differences) =>
        Enum.GetValues<UsageDifferences>().Where(d => d != UsageDifferences.None && differences.HasFlag(d)).Select(d => d.ToString()).ToArray();
}
