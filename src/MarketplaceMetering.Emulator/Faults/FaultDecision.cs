namespace MarketplaceMetering.Emulator.Faults;

/// <summary>What to do to one request: wait <paramref name="Latency"/> first, then apply <paramref name="Action"/>.</summary>
/// <param name="Latency">Real time to wait before anything else.</param>
/// <param name="Action">
/// <see cref="EmulatorFault.NoFault"/>, <see cref="EmulatorFault.ThrottleFault"/> (with its wait resolved),
/// <see cref="EmulatorFault.ServerErrorFault"/>, <see cref="EmulatorFault.DropAfterAcceptFault"/> or
/// <see cref="EmulatorFault.RespondFault"/>.
/// </param>
internal readonly record struct FaultDecision(TimeSpan Latency, EmulatorFault Action)
{
    public static FaultDecision None { get; } = new(TimeSpan.Zero, EmulatorFault.None);
}
