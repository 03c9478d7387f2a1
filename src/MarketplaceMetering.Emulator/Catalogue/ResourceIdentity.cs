using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace MarketplaceMetering.Emulator.Catalogue;

/// <summary>How the emulator names resources it was not told about.</summary>
internal static class ResourceIdentity
{
    private const string UsageIdNamespace = "marketplace-metering-emulator/resource-usage-id/";

    /// <summary>
    /// The "resource usage id" of a managed application sent by URI: a GUID derived from the lower-cased URI, so
    /// the same application always gets the same id, and never the GUIDs the caller sent.
    /// </summary>
    public static Guid DeriveUsageId(string resourceUri)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(UsageIdNamespace + resourceUri.ToLowerInvariant()));
        var guidBytes = bytes.AsSpan(0, 16).ToArray();

        // Version 5 (name-based) and RFC 4122 variant bits, so the id looks like any other GUID.
        guidBytes[7] = (byte)((guidBytes[7] & 0x0F) | 0x50);
        guidBytes[8] = (byte)((guidBytes[8] & 0x3F) | 0x80);
        return new Guid(guidBytes);
    }

    /// <summary>
    /// The Azure subscription of a resource that names none (a SaaS subscription outside the catalogue): the one in
    /// <see cref="SynthesizeUri"/>, so the usage report and the answers agree.
    /// </summary>
    public static readonly Guid SyntheticAzureSubscriptionId = Guid.Empty;

    /// <summary>The resource URI the emulator answers with for a SaaS subscription, which has none.</summary>
    public static string SynthesizeUri(Guid resourceId) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"/subscriptions/{SyntheticAzureSubscriptionId:D}/resourceGroups/emulator/providers/Microsoft.SaaS/resources/{resourceId:D}");

    /// <summary>The Azure subscription named in a resource URI (<c>/subscriptions/{guid}/…</c>), if any.</summary>
    public static Guid? AzureSubscriptionOf(string? resourceUri)
    {
        const string Prefix = "/subscriptions/";
        if (resourceUri is null || !resourceUri.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var rest = resourceUri.AsSpan(Prefix.Length);
        var slash = rest.IndexOf('/');
        var candidate = slash < 0 ? rest : rest[..slash];
        return Guid.TryParse(candidate, out var id) ? id : null;
    }
}
