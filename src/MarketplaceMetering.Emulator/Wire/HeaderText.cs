namespace MarketplaceMetering.Emulator.Wire;

/// <summary>What an answer's header can carry: the web server refuses to send anything else (an empty 500).</summary>
internal static class HeaderText
{
    /// <summary>Whether <paramref name="value"/> is printable ASCII or tabs: no line break, control character or non-ASCII.</summary>
    public static bool CanBeSent(string value) => value.All(c => c == '\t' || c is >= ' ' and <= '~');
}
