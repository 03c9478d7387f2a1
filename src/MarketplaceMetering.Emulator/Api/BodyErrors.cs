using System.Globalization;
using System.Text.Json;
using MarketplaceMetering.Emulator.Rules;
using MarketplaceMetering.Emulator.Wire;

namespace MarketplaceMetering.Emulator.Api;

/// <summary>The 400s for a body that cannot be used at all.</summary>
internal static class BodyErrors
{
    /// <summary>The error for a body that is missing, too large, unreadable or not JSON; <see langword="null"/> when it is usable.</summary>
    public static ServiceError? Check(RequestBody body, int limit, string target)
    {
        if (body.TooLarge)
        {
            return ServiceError.WithDetail(
                EventStatus.BadArgument,
                string.Create(CultureInfo.InvariantCulture, $"The request body is larger than the limit of {limit} bytes."),
                target);
        }

        if (body.Unreadable)
        {
            return ServiceError.WithDetail(EventStatus.BadArgument, "The request body could not be read.", target);
        }

        if (body.IsEmpty)
        {
            return ServiceError.WithDetail(EventStatus.BadArgument, "The request body is required.", target);
        }

        return null;
    }

    /// <summary>
    /// Answers 400 for a body that is missing, too large, unreadable or not JSON; otherwise hands its root element to
    /// <paramref name="handle"/>.
    /// </summary>
    public static ApiResponse WithJson(RequestBody body, int limit, string target, Func<JsonElement, ApiResponse> handle)
    {
        if (Check(body, limit, target) is { } bodyError)
        {
            return ApiResponse.Error(400, bodyError);
        }

        using var document = JsonBody.TryParse(body.Bytes);
        return document is null ? ApiResponse.Error(400, NotJson(target)) : handle(document.RootElement);
    }

    public static ServiceError NotJson(string target) =>
        ServiceError.WithDetail(EventStatus.BadArgument, "The request body is not valid JSON.", target);
}
