namespace MarketplaceMetering.Emulator.Catalogue;

/// <summary>A resource named by a usage event, as the emulator knows it.</summary>
/// <param name="UsageId">The resource usage id: the id the service answers with and deduplicates on.</param>
/// <param name="Uri">The managed application's URI, when the resource has one.</param>
/// <param name="Definition">The catalogue entry, or <see langword="null"/> when the catalogue is open.</param>
/// <param name="Status">The resource's current status.</param>
internal sealed record ResolvedResource(Guid UsageId, string? Uri, EmulatedResource? Definition, EmulatedResourceStatus Status)
{
    /// <summary>The URI to answer with: the known one, or a synthesized SaaS resource URI.</summary>
    public string AnswerUri => Uri ?? ResourceIdentity.SynthesizeUri(UsageId);
}
