namespace MarketplaceMetering.Emulator.Api;

/// <summary>A request body as read: the bytes kept, and whether it was over the limit or could not be read.</summary>
/// <param name="Bytes">The body when within the limit; otherwise its first bytes (for the request log).</param>
/// <param name="TooLarge">The body was longer than the limit.</param>
/// <param name="Unreadable">The body could not be read (bad framing, too slow).</param>
internal sealed record RequestBody(ReadOnlyMemory<byte> Bytes, bool TooLarge, bool Unreadable)
{
    public bool IsEmpty => Bytes.IsEmpty && !TooLarge && !Unreadable;
}
