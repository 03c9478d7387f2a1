namespace MarketplaceMetering.Emulator.Faults;

/// <summary>The fault settings at one instant.</summary>
internal readonly record struct FaultSettingsSnapshot(
    double ThrottleProbability,
    TimeSpan ThrottleRetryAfter,
    double ServerErrorProbability,
    double DropAfterAcceptProbability,
    TimeSpan MinLatency,
    TimeSpan MaxLatency)
{
    /// <summary>The problems with these values taken together, empty when there are none.</summary>
    public IEnumerable<string> Problems(string prefix)
    {
        if (MaxLatency > TimeSpan.Zero && MaxLatency < MinLatency)
        {
            yield return $"{prefix}MaxLatency ({MaxLatency}) is less than {prefix}MinLatency ({MinLatency}).";
        }

        var total = ThrottleProbability + ServerErrorProbability + DropAfterAcceptProbability;
        if (total > 1 + 1e-9)
        {
            yield return $"{prefix}ThrottleProbability + ServerErrorProbability + DropAfterAcceptProbability is {total}, more than 1.";
        }
    }
}
