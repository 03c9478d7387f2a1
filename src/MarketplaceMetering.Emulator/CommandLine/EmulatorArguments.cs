namespace MarketplaceMetering.Emulator.CommandLine;

/// <summary>The program's settings, as parsed from its command line.</summary>
internal sealed record EmulatorArguments(
    int Port,
    string? Token,
    bool AnyAddress,
    int? Seed,
    bool Https = false,
    WireTimeStyle TimeStyle = WireTimeStyle.UtcDesignator)
{
    public const int DefaultPort = 5080;

    public MeteringEmulatorOptions ToOptions() => new()
    {
        Port = Port,
        Token = Token,
        ListenOnAnyAddress = AnyAddress,
        Seed = Seed,
        UseHttps = Https,
        TimeStyle = TimeStyle,
    };
}
