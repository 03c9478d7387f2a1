using System.Text.Json;
using MarketplaceMetering.Emulator.Hosting;
using MarketplaceMetering.Emulator.Rules;
using MarketplaceMetering.Emulator.Wire;

namespace MarketplaceMetering.Emulator.Api;

/// <summary><c>POST /api/usageEvent</c>: one event; 200 Accepted, 409 Duplicate with the original, or 400.</summary>
internal static class UsageEventEndpoint
{
    public const string Path = "/api/usageEvent";
    private const string Target = "usageEventRequest";

    public static ApiResponse Handle(EmulatorState state, RequestBody body, string? contentType) =>
        BodyErrors.WithJson(body, contentType, state.MaxRequestBodyBytes, Target, root => Handle(state, root));

    private static ApiResponse Handle(EmulatorState state, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return ApiResponse.Error(400, ServiceError.BadRequest(EventStatus.BadArgument, "The request body must be a usage event object.", Target));
        }

        var outcome = state.Rules.Evaluate(UsageEventReader.ReadEvent(root));
        var (statusCode, json) = UsageEventWriter.Single(outcome, state.TimeStyle);
        return ApiResponse.Json(statusCode, json);
    }
}
