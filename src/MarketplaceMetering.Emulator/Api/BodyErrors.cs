using System.Globalization;
using System.Net.Http.Headers;
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

    /// <summary>
    /// Like <see cref="WithJson(RequestBody, int, string, Func{JsonElement, ApiResponse})"/>, and a body that is not
    /// sent as JSON (<see cref="IsJson"/>) is a 400 too: the service reads only what is sent as JSON, so a client that
    /// forgets the header must not get through here.
    /// </summary>
    public static ApiResponse WithJson(RequestBody body, string? contentType, int limit, string target, Func<JsonElement, ApiResponse> handle)
    {
        if (Check(body, limit, target) is null && !IsJson(contentType))
        {
            return ApiResponse.Error(
                400,
                ServiceError.WithDetail(EventStatus.BadArgument, "The request body must be sent with Content-Type: application/json.", target));
        }

        return WithJson(body, limit, target, handle);
    }

    /// <summary>Whether a Content-Type names JSON: <c>application/json</c>, <c>text/json</c> or <c>application/*+json</c>, with any parameters.</summary>
    public static bool IsJson(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed) || parsed.MediaType is not { } mediaType)
        {
            return false;
        }

        return string.Equals(mediaType, "application/json", StringComparison.OrdinalIgnoreCase)
            || string.Equals(mediaType, "text/json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));
    }

    public static ServiceError NotJson(string target) =>
        ServiceError.WithDetail(EventStatus.BadArgument, "The request body is not valid JSON.", target);
}
