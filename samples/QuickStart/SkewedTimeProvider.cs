namespace QuickStart;

/// <summary>The system clock, shifted: the emulator's clock in the demo, running ahead of this machine's.</summary>
internal sealed class SkewedTimeProvider(TimeSpan skew) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + skew;
}
