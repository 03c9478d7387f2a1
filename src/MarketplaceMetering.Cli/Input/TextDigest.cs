using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace MarketplaceMetering.Cli.Input;

/// <summary>
/// The first bytes of a text's SHA-256 (UTF-8), for the keys and line digests <c>batch</c> keeps instead of the text:
/// 16 bytes for a key that must never meet another (about 2^-128 per pair), 8 for a line compared only with itself.
/// </summary>
internal static class TextDigest
{
    public static UInt128 Of128(string text)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), digest);
        return BinaryPrimitives.ReadUInt128LittleEndian(digest);
    }

    public static ulong Of64(string text)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }
}
