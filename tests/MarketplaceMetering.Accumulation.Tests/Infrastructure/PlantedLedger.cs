namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// Fills a ledger through the real recorder and flusher against the emulator, with one planted difference per
/// resource, then leaves the harness's clock at 2026-11-21 12:17:23 UTC. Shared by the reconciliation tests from
/// code (SQLite and PostgreSQL) and through the tool (<c>metering reconcile --ledger</c>).
/// </summary>
internal static class PlantedLedger
{
    /// <summary>Agrees with the marketplace: 2 sent at 09:00 on 11-21, and 1 recorded late for 09:00, carried into 11:00 and billed there.</summary>
    public static readonly Guid Agrees = Guid.Parse("a0000000-0000-4000-8000-000000000001");

    /// <summary>Accepted (4 at 09:00 on 11-21), then lost by the service: MissingThere.</summary>
    public static readonly Guid LostThere = Guid.Parse("a0000000-0000-4000-8000-000000000002");

    /// <summary>The service already held 7 for 09:00 on 11-21 when 5 was sent: a conflict, QuantityMismatch.</summary>
    public static readonly Guid Conflict = Guid.Parse("a0000000-0000-4000-8000-000000000003");

    /// <summary>3 recorded for 09:00 on 11-20 and never sent before the deadline: expired, Rejected.</summary>
    public static readonly Guid Expired = Guid.Parse("a0000000-0000-4000-8000-000000000004");

    /// <summary>6 recorded in the current hour (12:00 on 11-21), still open: Undelivered.</summary>
    public static readonly Guid StillOpen = Guid.Parse("a0000000-0000-4000-8000-000000000005");

    public const string Plan = "plan";
    public const string Dimension = "calls";

    /// <summary>The first day reconciled: 2026-11-20.</summary>
    public static readonly DateTimeOffset From = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The end of the range: 2026-11-22 (exclusive).</summary>
    public static readonly DateTimeOffset To = From.AddDays(2);

    public static async Task PlantAsync(AccumulationHarness h)
    {
        // 2026-11-20 10:17: usage for 09:00 that nobody sends; a day later it has passed its deadline.
        await h.Recorder.RecordAsync(Expired, Plan, Dimension, 3m, h.HourAgo(1));
        h.Clock.Advance(TimeSpan.FromHours(25));
        (await h.Flusher.FlushAsync()).Expired.Should().Be(1);

        // 2026-11-21 11:17: 09:00 is accepted, then the service loses it.
        await h.Recorder.RecordAsync(LostThere, Plan, Dimension, 4m, h.HourAgo(2));
        (await h.Flusher.FlushAsync()).Delivered.Should().Be(1);
        h.Emulator.Ledger.Clear();

        // Someone else sent 7 for the conflicting meter's hour before the flusher sends the 5 recorded here.
        var other = await h.Client.SubmitUsageEventAsync(UsageEvent.ForResourceId(Conflict, Plan, Dimension, 7m, h.HourAgo(2)));
        other.Should().BeOfType<UsageEventResult.Accepted>();
        await h.Recorder.RecordAsync(Conflict, Plan, Dimension, 5m, h.HourAgo(2));
        await h.Recorder.RecordAsync(Agrees, Plan, Dimension, 2m, h.HourAgo(2));
        var flushed = await h.Flusher.FlushAsync();
        (flushed.Delivered, flushed.Conflicts).Should().Be((1, 1));

        // Late usage for 09:00, already sent: carried into the current hour (11:00), billed when that one closes.
        await h.Recorder.RecordAsync(Agrees, Plan, Dimension, 1m, h.HourAgo(2).AddMinutes(30));
        h.Clock.Advance(TimeSpan.FromHours(1));
        (await h.Flusher.FlushAsync()).Delivered.Should().Be(1);

        // 2026-11-21 12:17: the current hour, not closed yet.
        await h.Recorder.RecordAsync(StillOpen, Plan, Dimension, 6m);
    }

    /// <summary>The differences each planted resource must show, and nothing else.</summary>
    public static readonly IReadOnlyDictionary<Guid, UsageDifferences> Expected = new Dictionary<Guid, UsageDifferences>
    {
        [Agrees] = UsageDifferences.None,
        [LostThere] = UsageDifferences.MissingThere,
        [Conflict] = UsageDifferences.QuantityMismatch,
        [Expired] = UsageDifferences.Rejected,
        [StillOpen] = UsageDifferences.Undelivered,
    };
}
