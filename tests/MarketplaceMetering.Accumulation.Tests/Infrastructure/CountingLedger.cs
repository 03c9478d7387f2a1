using MarketplaceMetering.Testing;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>A SQLite ledger that counts its write transactions and can be told to fail the next ones (a full disk, say).</summary>
internal sealed class CountingLedger(string path) : DelegatingUsageLedger(path)
{
    private int _adds;
    private int _deltas;

    public int Adds => Volatile.Read(ref _adds);

    public int DeltasAdded => Volatile.Read(ref _deltas);

    public int FailNextAdds { get; set; }

    protected internal override Task<IReadOnlyList<UsageCarryForward>> AddAsync(IReadOnlyList<UsageDelta> deltas, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (FailNextAdds > 0)
        {
            FailNextAdds--;
            throw new IOException("disk full (simulated)");
        }

        Interlocked.Increment(ref _adds);
        Interlocked.Add(ref _deltas, deltas.Count);
        return base.AddAsync(deltas, now, cancellationToken);
    }
}
