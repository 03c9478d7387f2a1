using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using MarketplaceMetering.Cli.CommandLine;
using MarketplaceMetering.Cli.Input;
using MarketplaceMetering.Cli.Output;
using Spectre.Console;

namespace MarketplaceMetering.Cli.Commands;

/// <summary>
/// <c>metering batch FILE</c>: reads a CSV or JSON-lines file of events, checks all of it before anything is sent, then
/// sends it in batches of 25, four at a time, and prints a summary.
/// </summary>
/// <remarks>
/// The file is read, not held: a first pass checks every line (keeping the count, the problems and a digest per hour),
/// a second reads the events again as the batches go (at most <see cref="MaxPendingEvents"/> read and not yet
/// answered), and a third prints the report, each line's event next to what became of it. What is kept for the whole
/// run is a <see cref="LineOutcome"/> per line: some 64 bytes, not the event (its resource, plan and dimension), and the
/// check's 8-byte digest of each line, against which every later read is compared: a file changed during the run
/// stops the sending at the first line changed, is never reported past it, and ends the run with exit code 4.
/// </remarks>
internal static class BatchCommand
{
    private const int ShownFailures = 20;

    /// <summary>Events per call: the service's most.</summary>
    private const int BatchSize = 25;

    /// <summary>Calls in flight at once: the client's default for a bulk submission.</summary>
    private static readonly int Concurrency = new MeteringClientOptions().MaxConcurrency;

    /// <summary>The most events read from the file and not yet answered: the batches in flight.</summary>
    internal static int MaxPendingEvents => BatchSize * Concurrency;

    public static Command Create(GlobalOptions global, CliContext context)
    {
        var file = new Argument<string>("FILE") { Description = "A CSV file with a header row (resourceId or resourceUri, planId, dimension, quantity, effectiveStartTime) or a JSON-lines file with those properties; UTF-8, at most 65536 characters a line." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Check the file and send nothing." };
        var command = new Command("batch", "Report every event of a file, checked in full before anything is sent.") { file, dryRun };

        MeteringCli.SetAction(command, global, context, async (parse, output, cancellationToken) =>
        {
            var path = parse.GetValue(file)!;
            UsageFile checkedFile;
            try
            {
                // A dry run reads the file once: a pipe is not copied for a second read that never comes.
                checkedFile = UsageFile.CheckEvents(path, context.TimeProvider.GetUtcNow(), context.TemporaryFolder, readAgain: !parse.GetValue(dryRun), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Not "cancelled after 0 of N events were answered; the other N may have reached the service": none was sent.
                await context.Error.WriteLineAsync($"error: cancelled while {path} was checked; nothing was sent.").ConfigureAwait(false);
                return ExitCodes.Cancelled;
            }

            using var input = checkedFile;
            input.ThrowIfInvalid(context.Error);
            var count = input.EventCount;
            if (parse.GetValue(dryRun))
            {
                output.Outcome = "the file was checked and nothing was sent (--dry-run)";
                if (output.Json)
                {
                    output.WriteJson(new { file = path, events = count, valid = true, sent = false });
                }
                else
                {
                    output.WriteLine($"{path}: {count.ToString(CultureInfo.InvariantCulture)} events, all valid; nothing was sent (--dry-run).");
                }

                return ExitCodes.Success;
            }

            using var client = global.CreateClient(parse, context);
            var outcomes = new LineOutcome[count];
            var changed = new FileChange();
            bool cancelled;
            if (output.ShowsProgress)
            {
                cancelled = false;
                await output.Console.Progress().StartAsync(async progress =>
                {
                    var task = progress.AddTask("Sending", maxValue: count);
                    cancelled = await SendAsync(client, input.ReadEventsAgain(changed), outcomes, n => task.Increment(n), context.PendingEventsObserved, cancellationToken).ConfigureAwait(false);
                    if (changed.Changed && !cancelled)
                    {
                        // The sending ended at the change, as it ends at the file's end: the bar too (it stopped at the
                        // lines answered before it), as after a refusal; the error line says what became of the rest.
                        task.Value = task.MaxValue;
                    }
                }).ConfigureAwait(false);
            }
            else
            {
                cancelled = await SendAsync(client, input.ReadEventsAgain(changed), outcomes, _ => { }, context.PendingEventsObserved, cancellationToken).ConfigureAwait(false);
            }

            // The file is read again to take failed copies as conflicts and for the report: a change seen there (after
            // every event was sent as checked) is told too; each of those reads stops at the first line changed.
            var changedLater = new FileChange();
            TakeRepeatsAsConflicts(outcomes);
            TakeFailedCopiesAsConflicts(input, outcomes, changedLater);
            var answered = outcomes.Count(o => o.Answered);
            var delivered = outcomes.Count(o => o.Delivered);
            output.Outcome = $"{delivered.ToString(CultureInfo.InvariantCulture)} of {count.ToString(CultureInfo.InvariantCulture)} events were delivered"
                + (cancelled ? $" before the run was cancelled ({(count - answered).ToString(CultureInfo.InvariantCulture)} unanswered may or may not have reached the service)" : string.Empty);
            var change = changed.Changed ? changed : changedLater;
            Report(output, path, input, outcomes, complete: !cancelled && !changed.Changed, change);
            if (cancelled)
            {
                // A change seen as well (while sending, or by the report) is said too: the report stopped at it.
                var alsoChanged = !change.Changed ? string.Empty
                    : change.Unreadable is { } why ? $" {path} also could no longer be read during the run ({why}), and the report lists no line from there on."
                    : $" {path} also changed during the run (it no longer reads as it did when it was checked), and the report lists no line from the first one changed on.";
                await context.Error.WriteLineAsync(
                    $"error: cancelled after {answered.ToString(CultureInfo.InvariantCulture)} of {count.ToString(CultureInfo.InvariantCulture)} events were answered; the other {(count - answered).ToString(CultureInfo.InvariantCulture)} may or may not have reached the service.{alsoChanged} Sending the file again is safe: recorded events come back as replayed Duplicates.")
                    .ConfigureAwait(false);
                return ExitCodes.Cancelled;
            }

            if (change.Changed)
            {
                var answeredText = answered.ToString(CultureInfo.InvariantCulture);
                var countText = count.ToString(CultureInfo.InvariantCulture);
                var message = (change.Unreadable, changed.Changed) switch
                {
                    ({ } why, true) => $"the file could no longer be read while it was sent ({why}; no event after the last one read was sent); {answeredText} of the {countText} events checked were answered, and the report lists no line from there on.",
                    ({ } why, false) => $"the file could no longer be read after it was sent ({why}; every event was sent as checked); {answeredText} of the {countText} events were answered, and the report lists no line from there on.",
                    (null, true) => $"the file changed while it was sent (it no longer reads as it did when it was checked, and no event after the change was sent); {answeredText} of the {countText} events checked were answered, and the report lists no line from the first one changed on.",
                    (null, false) => $"the file changed after it was sent (it no longer reads as it did when it was checked; every event was sent as checked); {answeredText} of the {countText} events were answered, and the report lists no line from the first one changed on.",
                };
                await context.Error.WriteLineAsync($"error: {path}: {message} Sending the file again is safe: recorded events come back as replayed Duplicates.").ConfigureAwait(false);

                // A refused credential is what a script must hear of first (exit 3): no batch was sent after it. A file
                // that could no longer be read is a partial delivery like a changed one (4): some events were sent.
                return outcomes.Any(o => o.Refusal) ? ExitCodes.Unauthorized : ExitCodes.PartialDelivery;
            }

            return outcomes.All(o => !o.Answered || o.Delivered) ? ExitCodes.Success : outcomes.Any(o => o.Refusal) ? ExitCodes.Unauthorized : ExitCodes.PartialDelivery;
        });

        return command;
    }

    /// <summary>
    /// Whether a result says the service refused the caller: the bulk API turns a 401 or 403 into an Error per event of
    /// the refused batch, with the call's status in <see cref="UsageEventResult.Error.StatusCode"/>, whatever code the
    /// answer's body gave ("Forbidden" as documented, but a gateway's or ARM's "AuthorizationFailed" as well).
    /// </summary>
    public static bool IsRefusal(UsageEventResult result) => result is UsageEventResult.Error { StatusCode: 401 or 403 };

    /// <summary>
    /// Sends the events in batches of <see cref="BatchSize"/>, <see cref="Concurrency"/> at a time, each through the
    /// bulk API, reading each batch from the file as it goes (so at most <see cref="MaxPendingEvents"/> events are held),
    /// and files every batch's results at their lines as soon as the batch is answered, whatever the order the batches
    /// come back in. Returns whether the run was cancelled; every result answered by then is filed (a single bulk
    /// submission yields its results in input order, so on cancellation the answers held behind a slow earlier batch
    /// were lost: 25 of 200 reported while the service had accepted 125).
    /// </summary>
    /// <remarks>
    /// The file has no two events for one resource, dimension and hour (UsageFile refuses them), so batches are
    /// independent. After the service refuses the caller (401, 403), no further batch is sent: the rest of the file is
    /// read for its lines, whose events are Errors that say so, as a single bulk submission gives them.
    /// </remarks>
    private static async Task<bool> SendAsync(MeteringClient client, IEnumerable<UsageLine> lines, LineOutcome[] outcomes, Action<int> answered, Action<int>? pendingObserved, CancellationToken cancellationToken)
    {
        var running = new List<Task<(int Start, List<UsageLine> Lines, BulkUsageEventResult Answer)>>();
        var pending = 0;

        // Every event read from the file counts as pending until its line has an outcome.
        IEnumerable<UsageLine> Counted()
        {
            foreach (var line in lines)
            {
                pending++;
                pendingObserved?.Invoke(pending);
                yield return line;
            }
        }

        using var reader = Counted().GetEnumerator();
        var next = 0;
        var more = true;
        UsageEventResult.Error? refusal = null;

        void File((int Start, List<UsageLine> Lines, BulkUsageEventResult Answer) batch)
        {
            var results = batch.Answer.Results;
            for (var i = 0; i < results.Count; i++)
            {
                outcomes[batch.Start + i] = LineOutcome.Of(batch.Lines[i], results[i]);
                refusal ??= results[i] is UsageEventResult.Error error && IsRefusal(error) ? error : null;
            }

            pending -= batch.Lines.Count;
            pendingObserved?.Invoke(pending);
            answered(results.Count);
        }

        try
        {
            while (true)
            {
                while (running.Count < Concurrency && more)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (refusal is not null)
                    {
                        // Reported (NotSent) is answered, for the progress too: the bar ends at every line, not short of these.
                        var message = Messages.OneLine("Not sent: the service refused the caller earlier in this run. " + refusal.Message);
                        var notSent = 0;
                        while (next < outcomes.Length && reader.MoveNext())
                        {
                            outcomes[next++] = LineOutcome.NotSent(reader.Current, message, refusal.RequestId);
                            notSent++;
                            pending--;
                            pendingObserved?.Invoke(pending);
                        }

                        answered(notSent);
                        more = false;
                        break;
                    }

                    var batch = new List<UsageLine>(BatchSize);
                    while (batch.Count < BatchSize && next + batch.Count < outcomes.Length && reader.MoveNext())
                    {
                        batch.Add(reader.Current);
                    }

                    if (batch.Count == 0)
                    {
                        more = false;
                        break;
                    }

                    running.Add(SendBatchAsync(client, next, batch, cancellationToken));
                    next += batch.Count;
                }

                if (running.Count == 0)
                {
                    return false;
                }

                // File every batch answered by now, not only the one WhenAny picked: a refusal among them then stops the
                // next send, instead of waiting behind batches sent to fill the slots freed before it was looked at.
                await Task.WhenAny(running).ConfigureAwait(false);
                for (var k = 0; k < running.Count;)
                {
                    if (running[k].IsCompleted)
                    {
                        var finished = running[k];
                        running.RemoveAt(k);
                        File(await finished.ConfigureAwait(false));
                    }
                    else
                    {
                        k++;
                    }
                }
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
    /// one becomes a conflict (not delivered) naming the line recorded, instead of a second delivery of the same usage.
    /// A single bulk submission does this across its batches; each batch of this run is its own submission, so it is
    /// done here over the whole run, whatever the order the batches came back in. The maps hold only the ids replayed.
    /// </summary>
    private static void TakeRepeatsAsConflicts(LineOutcome[] outcomes)
    {
        var replayed = new HashSet<Guid>();
        foreach (var outcome in outcomes)
        {
            if (outcome.Kind == OutcomeKind.Replay)
            {
                replayed.Add(outcome.Id);
            }
        }

        if (replayed.Count == 0)
        {
            return;
        }

        var recorded = new Dictionary<Guid, int>();
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i].Kind == OutcomeKind.Accepted && replayed.Contains(outcomes[i].Id))
            {
                recorded.TryAdd(outcomes[i].Id, i);
            }
        }

        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i].Kind == OutcomeKind.Replay && !recorded.TryAdd(outcomes[i].Id, i))
            {
                outcomes[i] = outcomes[i].AsRepeat(outcomes[recorded[outcomes[i].Id]].Line, outcomes[i].Detail!.Original!);
            }
        }
    }

    /// <summary>
    /// A line that ended as an Error (its batch failed after the retries, or was not sent after a refusal) while the
    /// same event under its other name was delivered on another line is a conflict naming that line, as a bulk
    /// submission takes a failed copy of an event it delivered: the hour is recorded, and sent again the line could only
    /// come back as a replay of it. Same plan, dimension and hour, and the same quantity (else it stays an Error, as
    /// there). A delivered line names its resource usage id (what the service recorded a managed application sent by URI
    /// under, or the id it was sent by) and, for a replay, also the URI the service holds; an Error by id or by URI is
    /// matched on those. (An event accepted by id does not say its URI, so an Error by URI is not matched to it.) The
    /// events are read from the file again, twice, only when an Error is among the outcomes: once for the Errors' keys
    /// and quantities, once for the delivered lines; the maps hold the Errors' keys only. Each read stops at the first line changed since the check (setting <paramref name="changed"/>), so
    /// no outcome is paired with another line's event.
    /// </summary>
    private static void TakeFailedCopiesAsConflicts(UsageFile input, LineOutcome[] outcomes, FileChange changed)
    {
        if (!outcomes.Any(o => o.Kind == OutcomeKind.Error))
        {
            return;
        }

        // The Errors' keys and quantities, kept from the first read so that the last step needs no third one.
        var errors = new List<(int Index, UInt128 Key, decimal Quantity)>();
        var failed = new Dictionary<UInt128, (int Recorded, AcceptedUsageEvent? Original)>();
        var i = 0;
        foreach (var line in input.ReadEventsAgain(changed))
        {
            if (i < outcomes.Length && outcomes[i].Kind == OutcomeKind.Error)
            {
                var usage = line.Event;
                var key = SlotKey(usage.ResourceUri ?? usage.ResourceId!.Value.ToString("D"), usage.PlanId, usage.Dimension, usage.EffectiveStartTime);
                errors.Add((i, key, usage.Quantity));
                failed.TryAdd(key, (-1, null));
            }

            i++;
        }

        i = 0;
        foreach (var line in input.ReadEventsAgain(changed))
        {
            if (i < outcomes.Length && outcomes[i].Delivered)
            {
                var usage = line.Event;
                var original = outcomes[i].Kind == OutcomeKind.Replay
                    ? outcomes[i].Detail!.Original!
                    : MeteringModelFactory.AcceptedUsageEvent(outcomes[i].Id, usage.Quantity, usage.EffectiveStartTime, outcomes[i].ResourceUsageId ?? usage.ResourceId, usage.ResourceUri, usage.PlanId, usage.Dimension);
                foreach (var resource in (string?[])[original.ResourceId?.ToString("D"), original.ResourceUri])
                {
                    var key = resource is null ? default : SlotKey(resource, original.PlanId ?? usage.PlanId, original.Dimension ?? usage.Dimension, original.EffectiveStartTime);
                    if (resource is not null && failed.TryGetValue(key, out var held) && held.Original is null)
                    {
                        failed[key] = (i, original);
                    }
                }
            }

            i++;
        }

        foreach (var (index, key, quantity) in errors)
        {
            if (failed.TryGetValue(key, out var copy)
                && copy.Original is { } original
                && (original.Quantity == quantity || (double)original.Quantity == (double)quantity))
            {
                outcomes[index] = outcomes[index].AsRepeat(outcomes[copy.Recorded].Line, original);
            }
        }
    }

    /// <summary>A resource, plan, dimension and hour (names ignoring case) as the first 16 bytes of their SHA-256.</summary>
    private static UInt128 SlotKey(string resource, string plan, string dimension, DateTimeOffset time)
    {
        var hour = time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerHour);
        return TextDigest.Of128(string.Join('\n', resource.ToUpperInvariant(), plan.ToUpperInvariant(), dimension.ToUpperInvariant(), hour.ToString(CultureInfo.InvariantCulture)));
    }

    private static async Task<(int Start, List<UsageLine> Lines, BulkUsageEventResult Answer)> SendBatchAsync(MeteringClient client, int start, List<UsageLine> lines, CancellationToken cancellationToken) =>
        (start, lines, await client.SubmitUsageEventsAsync(lines.ConvertAll(l => l.Event), cancellationToken).ConfigureAwait(false));

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

    /// <summary>
    /// Prints the report, reading the file a third time for each line's event: the totals (counted from the outcomes
    /// before the results in JSON, summed with the quantities for the table), then every result in JSON, or the first
    /// <see cref="ShownFailures"/> lines not delivered in the table. A file changed since it was checked
    /// (<paramref name="changed"/>, set before or by this read) is read up to the first line changed: no line after it
    /// is listed, and the table's counts come from the outcomes alone, without quantities.
    /// </summary>
    private static void Report(CliOutput output, string path, UsageFile input, LineOutcome[] outcomes, bool complete, FileChange changed)
    {
        IEnumerable<(UsageLine Line, LineOutcome Outcome)> Answered()
        {
            var i = 0;
            foreach (var line in input.ReadEventsAgain(changed))
            {
                if (i < outcomes.Length && outcomes[i].Answered)
                {
                    yield return (line, outcomes[i]);
                }

                i++;
            }
        }

        var answered = outcomes.Count(o => o.Answered);
        var delivered = outcomes.Count(o => o.Delivered);
        if (output.Json)
        {
            var byStatus = new Dictionary<string, int>();
            foreach (var outcome in outcomes)
            {
                if (outcome.Answered)
                {
                    CollectionsMarshal.GetValueRefOrAddDefault(byStatus, outcome.Status.ToString(), out _)++;
                }
            }

            output.WriteJson(
                new
                {
                    file = path,
                    total = outcomes.Length,
                    answered,
                    complete,
                    delivered,
                    accepted = outcomes.Count(o => o.Kind == OutcomeKind.Accepted),
                    replays = outcomes.Count(o => o.Kind == OutcomeKind.Replay),
                    conflicts = outcomes.Count(o => o.Kind == OutcomeKind.Conflict),
                    byStatus,
                },
                "results",
                Answered().Select(p => p.Outcome.View(p.Line)));
            return;
        }

        // Counted from the outcomes; the quantities from the file, read again (none when it changed).
        var groups = new SortedDictionary<UsageEventStatus, (int Count, decimal Quantity, bool AllDelivered)>();
        var failed = 0;
        foreach (var outcome in outcomes)
        {
            if (outcome.Answered)
            {
                var group = groups.TryGetValue(outcome.Status, out var g) ? g : (Count: 0, Quantity: 0m, AllDelivered: true);
                groups[outcome.Status] = (group.Count + 1, group.Quantity, group.AllDelivered && outcome.Delivered);
                failed += outcome.Delivered ? 0 : 1;
            }
        }

        var unanswered = 0m;
        var failures = new List<ResultView>();
        var index = 0;
        foreach (var line in input.ReadEventsAgain(changed))
        {
            var outcome = outcomes[index++];
            var quantity = line.Event.Quantity;
            if (!outcome.Answered)
            {
                unanswered = Total([unanswered, quantity]);
                continue;
            }

            var group = groups[outcome.Status];
            groups[outcome.Status] = group with { Quantity = Total([group.Quantity, quantity]) };
            if (!outcome.Delivered && failures.Count < ShownFailures)
            {
                failures.Add(outcome.View(line));
            }
        }

        string Quantity(decimal quantity) => changed.Changed ? "?" : CliOutput.Number(quantity);

        var table = CliOutput.Table("Status", "Events", "Quantity");
        foreach (var (status, group) in groups)
        {
            table.AddRow(
                CliOutput.Status(status.ToString(), status is UsageEventStatus.Accepted || (status is UsageEventStatus.Duplicate && group.AllDelivered)),
                new Text(group.Count.ToString(CultureInfo.InvariantCulture)),
                new Text(Quantity(group.Quantity)));
        }

        if (answered < outcomes.Length)
        {
            CliOutput.AddRow(table, "Not answered", (outcomes.Length - answered).ToString(CultureInfo.InvariantCulture), Quantity(unanswered));
        }

        output.Console.Write(table);

        if (failures.Count > 0)
        {
            var table2 = CliOutput.Table("Line", "Resource", "Dimension", "Time", "Status", "Message");
            foreach (var view in failures)
            {
                CliOutput.AddRow(table2, view.Line!.Value.ToString(CultureInfo.InvariantCulture), view.Resource, view.Dimension, view.EffectiveStartTime, view.Status, view.Message);
            }

            output.Console.Write(table2);
        }

        if (failed > failures.Count)
        {
            output.WriteLine($"… and {(failed - failures.Count).ToString(CultureInfo.InvariantCulture)} more not delivered" + (!changed.Changed ? " (--json lists every result)." : changed.Unreadable is null ? " (not listed: the file changed)." : " (not listed: the file could no longer be read)."));
        }

        output.WriteLine($"{delivered.ToString(CultureInfo.InvariantCulture)} of {outcomes.Length.ToString(CultureInfo.InvariantCulture)} events delivered.");
    }

    private enum OutcomeKind : byte
    {
        /// <summary>Not answered (not sent, or cancelled while out).</summary>
        None,
        Accepted,
        Replay,
        Conflict,
        Error,
        OtherFailure,
    }

    /// <summary>What a non-accepted result says, as the report prints it, and the original of a Duplicate.</summary>
    private sealed record OutcomeDetail(string Status, string? Code, string? Message, AcceptedUsageEvent? Original);

    /// <summary>
    /// What became of one line, without its event (read again from the file for the report): some 64 bytes a line,
    /// the detail (codes, messages, the original) only for a line not simply accepted.
    /// </summary>
    private readonly record struct LineOutcome(int Line, OutcomeKind Kind, UsageEventStatus Status, bool Refusal, Guid Id, Guid? ResourceUsageId, string? RequestId, OutcomeDetail? Detail)
    {
        public bool Answered => Kind != OutcomeKind.None;

        public bool Delivered => Kind is OutcomeKind.Accepted or OutcomeKind.Replay;

        public static LineOutcome Of(UsageLine line, UsageEventResult result)
        {
            if (result is UsageEventResult.Accepted accepted)
            {
                return new(line.Line, OutcomeKind.Accepted, UsageEventStatus.Accepted, false, accepted.UsageEventId, accepted.ResourceUsageId, accepted.RequestId, null);
            }

            var view = ResultView.Of(result, line);
            var kind = result switch
            {
                UsageEventResult.Duplicate { IsReplay: true } => OutcomeKind.Replay,
                UsageEventResult.Duplicate => OutcomeKind.Conflict,
                UsageEventResult.Error => OutcomeKind.Error,
                _ => OutcomeKind.OtherFailure,
            };
            return new(line.Line, kind, result.Status, IsRefusal(result), view.UsageEventId ?? Guid.Empty, null, view.RequestId, new OutcomeDetail(view.Status, view.Code, view.Message, (result as UsageEventResult.Duplicate)?.Original));
        }

        public static LineOutcome NotSent(UsageLine line, string message, string? requestId) =>
            new(line.Line, OutcomeKind.Error, UsageEventStatus.Error, false, Guid.Empty, null, requestId, new OutcomeDetail(nameof(UsageEventStatus.Error), "NotSent", message, null));

        /// <summary>This line as a conflict: its event is line <paramref name="recordedLine"/>'s, recorded as <paramref name="original"/>.</summary>
        public LineOutcome AsRepeat(int recordedLine, AcceptedUsageEvent original) =>
            this with
            {
                Kind = OutcomeKind.Conflict,
                Status = UsageEventStatus.Duplicate,
                Refusal = false,
                Id = original.UsageEventId,
                Detail = new OutcomeDetail(nameof(UsageEventStatus.Duplicate), "Conflict", ResultView.RepeatMessage(recordedLine, original.Quantity), original),
            };

        public ResultView View(UsageLine line) => ResultView.Of(
            line,
            Detail?.Status ?? nameof(UsageEventStatus.Accepted),
            Delivered,
            Id == Guid.Empty ? null : Id,
            Detail?.Code,
            Detail?.Message,
            RequestId);
    }
}
