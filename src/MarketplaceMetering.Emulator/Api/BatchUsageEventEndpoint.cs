using System.Text.Json;
using MarketplaceMetering.Emulator.Hosting;
using MarketplaceMetering.Emulator.Wire;

namespace MarketplaceMetering.Emulator.Api;

/// <summary>
/// <c>POST /api/batchUsageEvent</c>: 1 to 25 events, processed in order (so a second event for the same hour is a
/// Duplicate of the first), answered in a 200 with one item per event, shuffled as the service does.
/// </summary>
internal static class BatchUsageEventEndpoint
{
    public const string Path = "/api/batchUsageEvent";
    private const string Target = "batchUsageEventRequest";

    public static ApiResponse Handle(EmulatorState state, RequestBody body, string? contentType) =>
        BodyErrors.WithJson(body, contentType, state.MaxRequestBodyBytes, Target, root => Handle(state, root));

    private static ApiResponse Handle(EmulatorState state, JsonElement root)
    {
        if (!UsageEventReader.TryReadBatch(root, out var events, out var error))
        {
            return ApiResponse.Error(400, error!);
        }

        var outcomes = events.Select(state.Rules.Evaluate).ToArray();
        return ApiResponse.Json(200, UsageEventWriter.Batch(state.Shuffler.Order(outcomes), state.TimeStyle));
    }
}
