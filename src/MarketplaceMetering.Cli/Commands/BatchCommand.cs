using System.CommandLine;
using System.Globalization;
using MarketplaceMetering.Cli.CommandLine;
using MarketplaceMetering.Cli.Input;
using MarketplaceMetering.Cli.Output;
using Spectre.Console;

namespace MarketplaceMetering.Cli.Commands;

/// <summary>
/// <c>metering batch FILE</c>: reads a CSV or JSON-lines file of events, checks all of it before anything is sent, then
/// sends it in batches of 25, four at a time, and prints a summary.
/// </summary>
internal static class BatchCommand
{
    private const int ShownFailures = 20;

    /// <summary>Events per call: the service's most.</summary>
    private const int BatchSize = 25;

    /// <summary>Calls in flight at once: the client's default for a bulk submission.</summary>
    private static readonly int Concurrency = new MeteringClientOptions().MaxConcurrency;

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
            var answers = new UsageEventResult?[lines.Count];
            bool cancelled;
            if (output.ShowsProgress)
            {
                cancelled = false;
                await output.Console.Progress().StartAsync(async progress =>
                {
                    var task = progress.AddTask("Sending", maxValue: lines.Count);
                    cancelled = await SendAsync(client, lines, answers, count => task.Increment(count), cancellationToken).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }
            else
            {
                cancelled = await SendAsync(client, lines, answers, _ => { }, cancellationToken).ConfigureAwait(false);
            }

            var repeats = TakeRepeatsAsConflicts(answers);
            var answered = answers.Count(r => r is not null);
            var results = answers.OfType<UsageEventResult>().ToList();
            output.Outcome = $"{results.Count(r => r.IsDelivered).ToString(CultureInfo.InvariantCulture)} of {lines.Count.ToString(CultureInfo.InvariantCulture)} events were delivered"
                + (cancelled ? $" before the run was cancelled ({(lines.Count - answered).ToString(CultureInfo.InvariantCulture)} unanswered may or may not have reached the service)" : string.Empty);
            Report(output, path, lines, answers, repeats, complete: !cancelled);
            if (cancelled)
            {
                await context.Error.WriteLineAsync(
                    $"error: cancelled after {answered.ToString(CultureInfo.InvariantCulture)} of {lines.Count.ToString(CultureInfo.InvariantCulture)} events were answered; the other {(lines.Count - answered).ToString(CultureInfo.InvariantCulture)} may or may not have reached the service. Sending the file again is safe: recorded events come back as replayed Duplicates.")
                    .ConfigureAwait(false);
                return ExitCodes.Cancelled;
            }

            return results.All(r => r.IsDelivered) ? ExitCodes.Success : results.Any(IsRefusal) ? ExitCodes.Unauthorized : ExitCodes.PartialDelivery;
        });

        return command;
    }

    /// <summary>
    /// Whether a result says the service refused the caller (the bulk API turns a 401/403 into an Error per event). Its
    /// code is the one the answer's body gave ("Forbidden" as documented, but a gateway's or ARM's "AuthorizationFailed"
    /// as well), or "Forbidden" when the body gave none; the client's message for a refusal names the status whatever
    /// the code. (The result carries no status of its own.)
    /// </summary>
    public static bool IsRefusal(UsageEventResult result) =>
        result is UsageEventResult.Error error
        && (error.Code is "Forbidden" or "Unauthorized"
            || (error.Message is { } message
                && message.StartsWith("The metering service refused ", StringComparison.Ordinal)
                && (message.Contains(" with HTTP 401.", StringComparison.Ordinal) || message.Contains(" with HTTP 403.", StringComparison.Ordinal))));

    /// <summary>
    /// Sends the events in batches of <see cref="BatchSize"/>, <see cref="Concurrency"/> at a time, each through the
    /// bulk API, and files every batch's results at their lines as soon as the batch is answered, whatever the order
    /// the batches come back in. Returns whether the run was cancelled; every result answered by then is filed (a
    /// single bulk submission yields its results in input order, so on cancellation the answers held behind a slow
    /// earlier batch were lost: 25 of 200 reported while the service had accepted 125).
    /// </summary>
    /// <remarks>
    /// The file has no two events for one resource, dimension and hour (UsageFile refuses them), so batches are
    /// independent. After the service refuses the caller (401, 403), no further batch is sent: its events are Errors
    /// that say so, as a single bulk submission gives them.
    /// </remarks>
    private static async Task<bool> SendAsync(MeteringClient client, List<UsageLine> lines, UsageEventResult?[] answers, Action<int> answered, CancellationToken cancellationToken)
    {
        var running = new List<Task<(int Start, BulkUsageEventResult Answer)>>();
        var next = 0;
        UsageEventResult.Error? refusal = null;

        void File((int Start, BulkUsageEventResult Answer) batch)
        {
            var results = batch.Answer.Results;
            for (var i = 0; i < results.Count; i++)
            {
                answers[batch.Start + i] = results[i];
                refusal ??= results[i] is UsageEventResult.Error error && IsRefusal(error) ? error : null;
            }

            answered(results.Count);
        }

        try
        {
            while (true)
            {
                while (running.Count < Concurrency && next < lines.Count)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (refusal is not null)
                    {
                        // Reported (NotSent) is answered, for the progress too: the bar ends at every line, not short of these.
                        var notSent = lines.Count - next;
                        for (; next < lines.Count; next++)
                        {
                            answers[next] = MeteringModelFactory.Error(lines[next].Event, "NotSent", "Not sent: the service refused the caller earlier in this run. " + refusal.Message, requestId: refusal.RequestId, correlationId: refusal.CorrelationId);
                        }

                        answered(notSent);
                        break;
                    }

                    var start = next;
                    var events = lines.GetRange(start, Math.Min(BatchSize, lines.Count - start)).ConvertAll(l => l.Event);
                    running.Add(SendBatchAsync(client, start, events, cancellationToken));
                    next += events.Count;
                }

                if (running.Count == 0)
                {
                    return false;
                }

                var finished = await Task.WhenAny(running).ConfigureAwait(false);
                running.Remove(finished);
                File(await finished.ConfigureAwait(false));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The batches still out stop at once; an answer that came back as the run stopped is kept.
            foreach (var batch in running)
            {
                try
                {
                    File(await batch.ConfigureAwait(false));
                }
                catch (OperationCanceledException)
                {
                    // Not answered: it may or may not have reached the service.
                }
            }

            return true;
        }
    }

    /// <summary>
    /// A replay whose original is what another line of this run was recorded as (accepted, or found as a replay) is that
    /// line's event given a second time, under another name: a managed application given once by its resource URI and
    /// once by its resource usage id, which the file check cannot tell apart. The service recorded one of them, so this
    /// one becomes a conflict (not delivered) instead of a second delivery of the same usage. A single bulk submission
    /// does this across its batches; each batch of this run is its own submission, so it is done here over the whole
    /// run, whatever the order the batches came back in. Returns each such line's index with the line recorded and
    /// its original, for the report.
    /// </summary>
    private static Dictionary<int, (int Recorded, AcceptedUsageEvent Original)> TakeRepeatsAsConflicts(UsageEventResult?[] answers)
    {
        var recorded = new Dictionary<Guid, int>();
        for (var i = 0; i < answers.Length; i++)
        {
            if (answers[i] is UsageEventResult.Accepted accepted)
            {
                recorded.TryAdd(accepted.UsageEventId, i);
            }
        }

        var repeats = new Dictionary<int, (int Recorded, AcceptedUsageEvent Original)>();
        for (var i = 0; i < answers.Length; i++)
        {
            if (answers[i] is UsageEventResult.Duplicate { IsReplay: true, Original: { } original } replay
                && !recorded.TryAdd(original.UsageEventId, i))
            {
                answers[i] = MeteringModelFactory.Duplicate(replay.Event, original: null, replay.RequestId, replay.CorrelationId);
                repeats[i] = (recorded[original.UsageEventId], original);
            }
        }

        TakeFailedCopiesAsConflicts(answers, repeats);
        return repeats;
    }

    /// <summary>
    /// A line that ended as an Error (its batch failed after the retries, or was not sent after a refusal) while the
    /// same event under its other name was delivered on another line is a conflict naming that line, as a bulk
    /// submission takes a failed copy of an event it delivered: the hour is recorded, and sent again the line could only
    /// come back as a replay of it. Same plan, dimension and hour, and the same quantity (else it stays an Error, as
    /// there). A delivered line names its resource usage id (what the service recorded a managed application sent by URI
    /// under, or the id it was sent by) and, for a replay, also the URI the service holds; an Error by id or by URI is
    /// matched on those. (An event accepted by id does not say its URI, so an Error by URI is not matched to it.)
    /// </summary>
    private static void TakeFailedCopiesAsConflicts(UsageEventResult?[] answers, Dictionary<int, (int Recorded, AcceptedUsageEvent Original)> repeats)
    {
        if (!answers.Any(a => a is UsageEventResult.Error))
        {
            return;
        }

        var delivered = new Dictionary<(string Resource, string Dimension, DateTimeOffset Hour), (int Line, AcceptedUsageEvent Original)>();
        void Hold(string? resource, int line, AcceptedUsageEvent original)
        {
            if (resource is not null)
            {
                delivered.TryAdd((resource.ToUpperInvariant(), original.Dimension?.ToUpperInvariant() ?? string.Empty, HourOf(original.EffectiveStartTime)), (line, original));
            }
        }

        for (var i = 0; i < answers.Length; i++)
        {
            switch (answers[i])
            {
                case UsageEventResult.Accepted accepted:
                    var usage = accepted.Event;
                    var original = MeteringModelFactory.AcceptedUsageEvent(
                        accepted.UsageEventId,
                        usage.Quantity,
                        usage.EffectiveStartTime,
                        accepted.ResourceUsageId ?? usage.ResourceId,
                        usage.ResourceUri,
                        usage.PlanId,
                        usage.Dimension,
                        accepted.MessageTime);
                    Hold(original.ResourceId?.ToString("D"), i, original);
                    Hold(original.ResourceUri, i, original);
                    break;
                case UsageEventResult.Duplicate { IsReplay: true, Original: { } replayed }:
                    Hold(replayed.ResourceId?.ToString("D"), i, replayed);
                    Hold(replayed.ResourceUri, i, replayed);
                    break;
            }
        }

        for (var i = 0; i < answers.Length; i++)
        {
            if (answers[i] is UsageEventResult.Error error
                && delivered.TryGetValue(((error.Event.ResourceUri ?? error.Event.ResourceId!.Value.ToString("D")).ToUpperInvariant(), error.Event.Dimension.ToUpperInvariant(), HourOf(error.Event.EffectiveStartTime)), out var copy)
                && string.Equals(copy.Original.PlanId, error.Event.PlanId, StringComparison.OrdinalIgnoreCase)
                && (copy.Original.Quantity == error.Event.Quantity || (double)copy.Original.Quantity == (double)error.Event.Quantity))
            {
                answers[i] = MeteringModelFactory.Duplicate(error.Event, original: null, error.RequestId, error.CorrelationId);
                repeats[i] = (copy.Line, copy.Original);
            }
        }
    }

    private static DateTimeOffset HourOf(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero);

    private static async Task<(int Start, BulkUsageEventResult Answer)> SendBatchAsync(MeteringClient client, int start, List<UsageEvent> events, CancellationToken cancellationToken) =>
        (start, await client.SubmitUsageEventsAsync(events, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// The sum of the quantities, or <see cref="decimal.MaxValue"/> past it (as <see cref="UsageEventSummary"/> holds its
    /// totals): each event can be up to it, and the report comes after the events were sent, so it must not throw.
    /// </summary>
    private static decimal Total(IEnumerable<decimal> quantities)
    {
        var total = 0m;
        foreach (var quantity in quantities)
        {
            total = quantity > decimal.MaxValue - total ? decimal.MaxValue : total + quantity;
        }

        return total;
    }

    private static void Report(CliOutput output, string path, List<UsageLine> lines, UsageEventResult?[] answers, Dictionary<int, (int Recorded, AcceptedUsageEvent Original)> repeats, bool complete)
    {
        ResultView View(UsageEventResult result, int index) =>
            repeats.TryGetValue(index, out var repeat) ? ResultView.Repeat(result, lines[index].Line, lines[repeat.Recorded].Line, repeat.Original) : ResultView.Of(result, lines[index]);
        var answered = lines.Select((line, i) => (Result: answers[i], Line: line, Index: i)).Where(p => p.Result is not null).Select(p => (Result: p.Result!, p.Line, p.Index)).ToList();
        var results = answered.ConvertAll(p => p.Result);
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
                results = answered.Select(p => View(p.Result, p.Index)),
            });
            return;
        }

        var table = CliOutput.Table("Status", "Events", "Quantity");
        foreach (var group in results.GroupBy(r => r.Status).OrderBy(g => g.Key))
        {
            table.AddRow(
                CliOutput.Status(group.Key.ToString(), group.Key is UsageEventStatus.Accepted || (group.Key is UsageEventStatus.Duplicate && group.All(r => r.IsDelivered))),
                new Text(group.Count().ToString(CultureInfo.InvariantCulture)),
                new Text(CliOutput.Number(Total(group.Select(r => r.Event.Quantity)))));
        }

        if (results.Count < lines.Count)
        {
            CliOutput.AddRow(table, "Not answered", (lines.Count - results.Count).ToString(CultureInfo.InvariantCulture), CliOutput.Number(Total(lines.Where((_, i) => answers[i] is null).Select(l => l.Event.Quantity))));
        }

        output.Console.Write(table);

        var failed = answered.Where(p => !p.Result.IsDelivered).ToList();
        if (failed.Count > 0)
        {
            var failures = CliOutput.Table("Line", "Resource", "Dimension", "Time", "Status", "Message");
            foreach (var (result, line, index) in failed.Take(ShownFailures))
            {
                var view = View(result, index);
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
}
