using System.CommandLine;
using System.Globalization;
using MarketplaceMetering.Cli.CommandLine;
using MarketplaceMetering.Cli.Input;
using MarketplaceMetering.Cli.Output;
using Spectre.Console;

namespace MarketplaceMetering.Cli.Commands;

/// <summary>
/// <c>metering batch FILE</c>: reads a CSV or JSON-lines file of events, checks all of it before anything is sent, then
/// sends it through the bulk API (batches of 25, several at a time) and prints a summary.
/// </summary>
internal static class BatchCommand
{
    private const int ShownFailures = 20;

    public static Command Create(GlobalOptions global, CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "A CSV file with a header row (resourceId or resourceUri, planId, dimension, quantity, effectiveStartTime) or a JSON-lines file with those properties; UTF-8, at most 65536 characters a line." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check the file and send nothing." };
        var command = new Command("batch", "Report every event of a file, checked in full before anything is sent.") { file, dryRun };

        MeteringCli.SetAction(command, global, context, async (parse, output, cancellationToken) =>
        {
            var path = parse.GetValue(file)!;
            var input = UsageFile.ReadEvents(path, context.TimeProvider.GetUtcNow());
            input.ThrowIfInvalid(context.Error);
            var lines = input.Lines;
            if (parse.GetValue(dryRun))
            {
                output.Outcome = "the file was checked and nothing was sent (--dry-run)";
                if (output.Json)
                {
                    output.WriteJson(new { file = path, events = lines.Count, valid = true, sent = false });
                }
                else
                {
                    output.WriteLine($"{path}: {lines.Count.ToString(CultureInfo.InvariantCulture)} events, all valid; nothing was sent (--dry-run).");
                }

                return ExitCodes.Success;
            }

            using var client = global.CreateClient(parse, context);
            var results = new List<UsageEventResult>(lines.Count);
            var cancelled = false;
            try
            {
                if (output.ShowsProgress)
                {
                    await output.Console.Progress().StartAsync(async progress =>
                    {
                        var task = progress.AddTask("Sending", maxValue: lines.Count);
                        await foreach (var result in client.SubmitUsageEventsAsync(Events(lines), cancellationToken).ConfigureAwait(false))
                        {
                            results.Add(result);
                            task.Increment(1);
                        }
                    }).ConfigureAwait(false);
                }
                else
                {
                    await foreach (var result in client.SubmitUsageEventsAsync(Events(lines), cancellationToken).ConfigureAwait(false))
                    {
                        results.Add(result);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                cancelled = true;
            }

            output.Outcome = $"{results.Count(r => r.IsDelivered).ToString(CultureInfo.InvariantCulture)} of {lines.Count.ToString(CultureInfo.InvariantCulture)} events were delivered"
                + (cancelled ? $" before the run was cancelled ({(lines.Count - results.Count).ToString(CultureInfo.InvariantCulture)} unanswered may or may not have reached the service)" : string.Empty);
            Report(output, path, lines, results, complete: !cancelled);
            if (cancelled)
            {
                await context.Error.WriteLineAsync(
                    $"error: cancelled after {results.Count.ToString(CultureInfo.InvariantCulture)} of {lines.Count.ToString(CultureInfo.InvariantCulture)} events were answered; the other {(lines.Count - results.Count).ToString(CultureInfo.InvariantCulture)} may or may not have reached the service. Sending the file again is safe: recorded events come back as replayed Duplicates.")
                    .ConfigureAwait(false);
                return ExitCodes.Cancelled;
            }

            return results.All(r => r.IsDelivered) ? ExitCodes.Success : results.Any(IsRefusal) ? ExitCodes.Unauthorized : ExitCodes.PartialDelivery;
        });

        return command;
    }

    /// <summary>Whether a result says the service refused the caller (the bulk API turns a 401/403 into an Error per event).</summary>
    public static bool IsRefusal(UsageEventResult result) =>
        result is UsageEventResult.Error { Code: "Forbidden" or "Unauthorized" };

    private static void Report(CliOutput output, string path, List<UsageLine> lines, List<UsageEventResult> results, bool complete)
    {
        var summary = UsageEventSummary.Create(results);
        if (output.Json)
        {
            output.WriteJson(new
            {
                file = path,
                total = lines.Count,
                answered = results.Count,
                complete,
                delivered = summary.Delivered,
                accepted = summary.Accepted,
                replays = summary.Replays,
                conflicts = summary.Conflicts,
                byStatus = summary.CountByStatus.ToDictionary(p => p.Key.ToString(), p => p.Value),
                results = results.Select((r, i) => ResultView.Of(r, lines[i])),
            });
            return;
        }

        var table = CliOutput.Table("Status", "Events", "Quantity");
        foreach (var group in results.GroupBy(r => r.Status).OrderBy(g => g.Key))
        {
            table.AddRow(
                CliOutput.Status(group.Key.ToString(), group.Key is UsageEventStatus.Accepted || (group.Key is UsageEventStatus.Duplicate && group.All(r => r.IsDelivered))),
                new Text(group.Count().ToString(CultureInfo.InvariantCulture)),
                new Text(CliOutput.Number(group.Sum(r => r.Event.Quantity))));
        }

        if (results.Count < lines.Count)
        {
            CliOutput.AddRow(table, "Not answered", (lines.Count - results.Count).ToString(CultureInfo.InvariantCulture), CliOutput.Number(lines.Skip(results.Count).Sum(l => l.Event.Quantity)));
        }

        output.Console.Write(table);

        var failed = results.Select((r, i) => (Result: r, Line: lines[i])).Where(p => !p.Result.IsDelivered).ToList();
        if (failed.Count > 0)
        {
            var failures = CliOutput.Table("Line", "Resource", "Dimension", "Time", "Status", "Message");
            foreach (var (result, line) in failed.Take(ShownFailures))
            {
                var view = ResultView.Of(result, line);
                CliOutput.AddRow(failures, line.Line.ToString(CultureInfo.InvariantCulture), view.Resource, view.Dimension, view.EffectiveStartTime, view.Status, view.Message);
            }

            output.Console.Write(failures);
            if (failed.Count > ShownFailures)
            {
                output.WriteLine($"… and {(failed.Count - ShownFailures).ToString(CultureInfo.InvariantCulture)} more not delivered (--json lists every result).");
            }
        }

        output.WriteLine($"{summary.Delivered.ToString(CultureInfo.InvariantCulture)} of {lines.Count.ToString(CultureInfo.InvariantCulture)} events delivered.");
    }

#pragma warning disable CS1998 // an iterator over a list: nothing to await
    private static async IAsyncEnumerable<UsageEvent> Events(List<UsageLine> lines)
#pragma warning restore CS1998
    {
        foreach (var line in lines)
        {
            yield return line.Event;
        }
    }
}
