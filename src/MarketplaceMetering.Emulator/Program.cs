namespace MarketplaceMetering.Emulator;

internal static class Program
{
    private static int Main() => 0;
}
