using System.CommandLine;
using System.Globalization;
using MarketplaceMetering.Cli.CommandLine;
using MarketplaceMetering.Cli.Input;
using MarketplaceMetering.Cli.Output;

namespace MarketplaceMetering.Cli.Commands;

/// <summary><c>metering reconcile</c>: compares the events sent (the accumulation ledger, a file, or both) with what the marketplace recorded (<see cref="UsageReconciler"/>).</summary>
internal static class ReconcileCommand
{
    public static Command Create(GlobalOptions global, CliContext context)
    {
        var sent = new Option<string>("--sent") { Description = "A CSV or JSON-lines file of the events sent, with a status column (Accepted, Duplicate, Expired, …) and optionally resourceUsageId; at most 65536 characters a line.", HelpName = "FILE" };
        var ledger = new Option<string>("--ledger") { Description = "The accumulation ledger: a SQLite file, or an Npgsql connection string (Host=…) for a PostgreSQL ledger. With --sent too, both are compared together.", HelpName = "PATH|CONNECTION" };
        var ledgerSchema = new Option<string>("--ledger-schema") { Description = "The PostgreSQL ledger's schema; default: marketplace_metering.", HelpName = "SCHEMA" };
        var from = new Option<string>("--from") { Description = "First day (2026-11-19, a UTC day) or time with a zone.", Required = true, HelpName = "DAY" };
        var to = new Option<string>("--to") { Description = "End of the range (exclusive; widened to midnight UTC); default: now.", HelpName = "DAY" };
        var command = new Command("reconcile", "Compare the events sent with what the marketplace recorded, per resource, dimension and day.") { sent, ledger, ledgerSchema, from, to };

        MeteringCli.SetAction(command, global, context, async (parse, output, cancellationToken) =>
        {
            var path = parse.GetValue(sent);
            var ledgerValue = parse.GetValue(ledger);
            if (path is null && ledgerValue is null)
            {
                throw new CliException("Give --ledger PATH|CONNECTION (the accumulation ledger) or --sent FILE (the events sent, with their status), or both.");
            }

            if (ledgerValue is null && parse.GetValue(ledgerSchema) is not null)
            {
                throw new CliException("--ledger-schema needs --ledger (a PostgreSQL connection string).");
            }

            var start = UsageCommand.ParseDay(parse.GetValue(from)!, "--from");
            var end = parse.GetValue(to) is { } toText ? UsageCommand.ParseDay(toText, "--to") : context.TimeProvider.GetUtcNow();
            if (end <= start)
            {
                throw new CliException($"--to {CliOutput.Time(end)} is not after --from {CliOutput.Time(start)}.");
            }

            // Everything is checked before the marketplace is asked: the file wholly, the ledger's existence.
            IEnumerable<SentUsage> fromFile = [];
            if (path is not null)
            {
                var input = UsageFile.ReadSent(path);
                input.ThrowIfInvalid(context.Error);
                fromFile = input.Lines.Select(l => l.ToSentUsage()).ToList();
            }

            var usageLedger = ledgerValue is null ? null : await LedgerSource.OpenAsync(ledgerValue, parse.GetValue(ledgerSchema), cancellationToken).ConfigureAwait(false);
            UsageReconciliationReport report;
            try
            {
                using var client = global.CreateClient(parse, context);
                var reconciler = new UsageReconciler(client);
                report = usageLedger is null
                    ? await reconciler.ReconcileAsync(fromFile, start, end, cancellationToken).ConfigureAwait(false)
                    : await reconciler.ReconcileAsync(Combine(fromFile, usageLedger.GetSentUsageAsync(start, end, cancellationToken)), start, end, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (usageLedger is not null)
                {
                    await usageLedger.DisposeAsync().ConfigureAwait(false);
                }
            }

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

    /// <summary>
    /// The file's events, then the ledger's rows. The reconciler keeps one event per resource, dimension and hour (the
    /// first delivered), so an hour found in both is counted once, never twice.
    /// </summary>
    private static async IAsyncEnumerable<SentUsage> Combine(IEnumerable<SentUsage> file, IAsyncEnumerable<SentUsage> ledger)
    {
        foreach (var usage in file)
        {
            yield return usage;
        }

        await foreach (var usage in ledger.ConfigureAwait(false))
        {
            yield return usage;
        }
    }

    private static string[] Names(UsageDifferences differences) =>
        Enum.GetValues<UsageDifferences>().Where(d => d != UsageDifferences.None && differences.HasFlag(d)).Select(d => d.ToString()).ToArray();
}
