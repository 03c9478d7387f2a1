namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>A SQLite ledger that counts its write transactions and can be told to fail the next ones (a full disk, say).</summary>
internal sealed class CountingLedger(string path) : UsageLedger
{
    private readonly SqliteUsageLedger _inner = new(path);
    private int _adds;
    private int _deltas;

    public int Adds => Volatile.Read(ref _adds);

    public int DeltasAdded => Volatile.Read(ref _deltas);

    public int FailNextAdds { get; set; }

    public override Task InitializeAsync(CancellationToken cancellationToken = default) => _inner.InitializeAsync(cancellationToken);

    public override Task<IReadOnlyList<UsageLedgerEntry>> GetEntriesAsync(DateTimeOffset fromHour, DateTimeOffset untilHour, UsageLedgerState? state = null, CancellationToken cancellationToken = default) =>
        _inner.GetEntriesAsync(fromHour, untilHour, state, cancellationToken);

    public override Task<IReadOnlyList<UsageCarryForward>> GetCarryForwardsAsync(DateTimeOffset fromHour, DateTimeOffset untilHour, CancellationToken cancellationToken = default) =>
        _inner.GetCarryForwardsAsync(fromHour, untilHour, cancellationToken);

    protected internal override Task<IReadOnlyList<UsageCarryForward>> AddAsync(IReadOnlyList<UsageDelta> deltas, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (FailNextAdds > 0)
        {
            FailNextAdds--;
            throw new IOException("disk full (simulated)");
        }

        Interlocked.Increment(ref _adds);
        Interlocked.Add(ref _deltas, deltas.Count);
        return _inner.AddAsync(deltas, now, cancellationToken);
    }

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
