namespace MarketplaceMetering.Testing;

/// <summary>
/// A SQLite ledger behind a ledger of the test's own, so a test or a benchmark can watch or fail one operation and pass
/// the others through (linked into the benchmarks too).
/// </summary>
internal class DelegatingUsageLedger(string path) : UsageLedger
{
    private readonly SqliteUsageLedger _inner = new(path);

    protected override Task InitializeCoreAsync(CancellationToken cancellationToken) => _inner.InitializeAsync(cancellationToken);

    public override Task<IReadOnlyList<UsageLedgerEntry>> GetEntriesAsync(DateTimeOffset fromHour, DateTimeOffset untilHour, UsageLedgerState? state = null, CancellationToken cancellationToken = default) =>
        _inner.GetEntriesAsync(fromHour, untilHour, state, cancellationToken);

    public override Task<IReadOnlyList<UsageCarryForward>> GetCarryForwardsAsync(DateTimeOffset fromHour, DateTimeOffset untilHour, CancellationToken cancellationToken = default) =>
        _inner.GetCarryForwardsAsync(fromHour, untilHour, cancellationToken);

    protected internal override Task<IReadOnlyList<UsageCarryForward>> AddAsync(IReadOnlyList<UsageDelta> deltas, DateTimeOffset now, CancellationToken cancellationToken) =>
        _inner.AddAsync(deltas, now, cancellationToken);

    protected internal override Task<IReadOnlyList<UsageLedgerEntry>> ClaimAsync(string owner, DateTimeOffset latestHour, DateTimeOffset now, DateTimeOffset leaseUntil, int maxEntries, CancellationToken cancellationToken) =>
        _inner.ClaimAsync(owner, latestHour, now, leaseUntil, maxEntries, cancellationToken);

    protected internal override Task<int> CompleteAsync(IReadOnlyList<UsageOutcome> outcomes, DateTimeOffset now, CancellationToken cancellationToken) =>
        _inner.CompleteAsync(outcomes, now, cancellationToken);

    protected internal override Task<IReadOnlyList<UsageLedgerEntry>> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        _inner.ExpireAsync(now, cancellationToken);

    protected override async ValueTask DisposeAsyncCore()
    {
        await _inner.DisposeAsync();
        await base.DisposeAsyncCore();
    }
}
