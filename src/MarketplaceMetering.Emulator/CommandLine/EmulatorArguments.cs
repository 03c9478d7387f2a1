namespace MarketplaceMetering.Emulator.CommandLine;

/// <summary>The program's settings, as parsed from its command line.</summary>
internal sealed record EmulatorArguments(
    int Port,
    string? Token,
    bool AnyAddress,
    int? Seed,
    WireTimeStyle TimeStyle = WireTimeStyle.UtcDesignator)
{
    public const int DefaultPort = 5080;

    public MeteringEmulatorOptions ToOptions() => new()
    {
        Port = Port,
        Token = Token,
        ListenOnAnyAddress = AnyAddress,
        Seed = Seed,
        TimeStyle = TimeStyle,
    };
}
