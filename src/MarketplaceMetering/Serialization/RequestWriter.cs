using System.Text.Json;

namespace MarketplaceMetering.Serialization;

/// <summary>Turns validated events into request bodies: camelCase, UTC times, exactly one of resourceId and resourceUri.</summary>
internal static class RequestWriter
{
    public static byte[] Single(UsageEvent usageEvent) =>
        JsonSerializer.SerializeToUtf8Bytes(ToDto(usageEvent), MeteringJsonContext.Default.UsageEventRequestDto);

    public static byte[] Batch(IReadOnlyList<UsageEvent> usageEvents)
    {
        var dto = new BatchUsageEventRequestDto { Request = new List<UsageEventRequestDto>(usageEvents.Count) };
        foreach (var usageEvent in usageEvents)
        {
            dto.Request.Add(ToDto(usageEvent));
        }

        return JsonSerializer.SerializeToUtf8Bytes(dto, MeteringJsonContext.Default.BatchUsageEventRequestDto);
    }

    private static UsageEventRequestDto ToDto(UsageEvent usageEvent) => new()
    {
        ResourceId = usageEvent.ResourceUri is null ? usageEvent.ResourceId : null,
        ResourceUri = usageEvent.ResourceUri,
        Quantity = usageEvent.Quantity,
        Dimension = usageEvent.Dimension,
        EffectiveStartTime = WireFormat.FormatTime(usageEvent.EffectiveStartTime),
        PlanId = usageEvent.PlanId,
    };
}
