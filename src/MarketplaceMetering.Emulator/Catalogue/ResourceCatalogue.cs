using System.Collections.Concurrent;

namespace MarketplaceMetering.Emulator.Catalogue;

/// <summary>
/// The resources the emulator accepts usage for. Empty means open: any resource id (but the all-zero GUID) or URI is
/// accepted, with any plan and dimension. Statuses can change at run time.
/// </summary>
internal sealed class ResourceCatalogue
{
    private readonly Dictionary<Guid, EmulatedResource> _byId = [];
    private readonly Dictionary<string, EmulatedResource> _byUri = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<Guid, EmulatedResourceStatus> _statuses = new();

    public ResourceCatalogue(IEnumerable<EmulatedResource> resources)
    {
        foreach (var resource in resources)
        {
            _byId.Add(resource.ResourceId, resource);
            if (resource.ResourceUri is { } uri)
            {
                _byUri.Add(uri, resource);
            }

            _statuses[resource.ResourceId] = resource.Status;
        }
    }

    /// <summary>Gets a value indicating whether any resource is accepted.</summary>
    public bool IsOpen => _byId.Count == 0;

    /// <summary>Finds the resource an event names by id or by URI (exactly one of them is given).</summary>
    public ResolvedResource? Resolve(Guid? resourceId, string? resourceUri)
    {
        if (IsOpen)
        {
            if (resourceId == Guid.Empty)
            {
                // What an id left unset is sent as; no marketplace resource has it.
                return null;
            }

            var usageId = resourceId ?? ResourceIdentity.DeriveUsageId(resourceUri!);
            return new ResolvedResource(usageId, resourceId is null ? resourceUri : null, null, StatusOf(usageId));
        }

        EmulatedResource? found = null;
        if (resourceId is { } id)
        {
            _byId.TryGetValue(id, out found);
        }
        else if (resourceUri is not null)
        {
            _byUri.TryGetValue(resourceUri, out found);
        }

        return found is null ? null : new ResolvedResource(found.ResourceId, found.ResourceUri, found, StatusOf(found.ResourceId));
    }

    /// <summary>Finds a catalogue entry by its resource id.</summary>
    public EmulatedResource? Find(Guid resourceId) => _byId.GetValueOrDefault(resourceId);

    /// <summary>
    /// Changes a resource's status. With a catalogue, the resource must be in it; an open catalogue remembers the
    /// status for that resource usage id.
    /// </summary>
    public void SetStatus(Guid resourceId, EmulatedResourceStatus status)
    {
        if (!Enum.IsDefined(status))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown resource status.");
        }

        if (!IsOpen && !_byId.ContainsKey(resourceId))
        {
            throw new ArgumentException($"The catalogue holds no resource {resourceId}.", nameof(resourceId));
        }

        _statuses[resourceId] = status;
    }

    private EmulatedResourceStatus StatusOf(Guid resourceId) =>
        _statuses.TryGetValue(resourceId, out var status) ? status : EmulatedResourceStatus.Subscribed;
}
