using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using MarketplaceMetering.Emulator.Rules;
using MarketplaceMetering.Emulator.Wire;

namespace MarketplaceMetering.Emulator.Api;

/// <summary>
/// The 400s for a body that cannot be used at all. The metering API's have the documented envelope
/// (<see cref="ServiceError.BadRequest"/>); the emulator's own admin API names the problem at the top
/// (<see cref="ServiceError.WithDetail"/>).
/// </summary>
internal static class BodyErrors
{
    /// <summary>
    /// The error for a body that is missing, too large or unreadable; <see langword="null"/> when it is usable.
    /// <paramref name="refuse"/> makes the error from a message and <paramref name="target"/>.
    /// </summary>
    public static ServiceError? Check(RequestBody body, int limit, string target, Func<string, string, ServiceError> refuse)
    {
        if (body.TooLarge)
        {
            return refuse(string.Create(CultureInfo.InvariantCulture, $"The request body is larger than the limit of {limit} bytes."), target);
        }

        if (body.Unreadable)
        {
            return refuse("The request body could not be read.", target);
        }

        if (body.IsEmpty)
        {
            return refuse("The request body is required.", target);
        }

        return null;
    }

    /// <summary>
    /// For the emulator's admin API: answers 400 for a body that is missing, too large, unreadable or not JSON;
    /// otherwise hands its root element to <paramref name="handle"/>.
    /// </summary>
    public static ApiResponse WithJson(RequestBody body, int limit, string target, Func<JsonElement, ApiResponse> handle) =>
        WithJson(body, limit, target, Admin, handle);

    /// <summary>
    /// For the metering API: like <see cref="WithJson(RequestBody, int, string, Func{JsonElement, ApiResponse})"/>, with
    /// the documented envelope, and a body that is not sent as JSON (<see cref="IsJson"/>), or said to be in a charset
    /// other than UTF-8 (<see cref="IsUtf8"/>), is a 400 too: the service reads only what is sent as JSON, so a client
    /// that forgets the header must not get through here.
    /// </summary>
    public static ApiResponse WithJson(RequestBody body, string? contentType, int limit, string target, Func<JsonElement, ApiResponse> handle)
    {
        if (Check(body, limit, target, Metering) is null)
        {
            if (!IsJson(contentType))
            {
                return ApiResponse.Error(400, Metering("The request body must be sent with Content-Type: application/json.", target));
            }

            if (!IsUtf8(contentType))
            {
                // The service decodes the body by the charset it is told: UTF-8 bytes read as UTF-16 (or refused as an
                // unsupported charset) never get through, so they must not here.
                return ApiResponse.Error(400, Metering("The request body must be JSON in UTF-8: send charset=utf-8, or no charset.", target));
            }
        }

        return WithJson(body, limit, target, Metering, handle);
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

    /// <summary>Whether a Content-Type says UTF-8, or names no charset (JSON's default).</summary>
    public static bool IsUtf8(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed) || parsed.CharSet is not { } charset)
        {
            return true;
        }

        charset = charset.Trim().Trim('"');
        return string.Equals(charset, "utf-8", StringComparison.OrdinalIgnoreCase) || string.Equals(charset, "utf8", StringComparison.OrdinalIgnoreCase);
    }

    private static ApiResponse WithJson(RequestBody body, int limit, string target, Func<string, string, ServiceError> refuse, Func<JsonElement, ApiResponse> handle)
    {
        if (Check(body, limit, target, refuse) is { } bodyError)
        {
            return ApiResponse.Error(400, bodyError);
        }

        using var document = JsonBody.TryParse(body.Bytes);
        return document is null ? ApiResponse.Error(400, refuse("The request body is not valid JSON.", target)) : handle(document.RootElement);
    }

    private static ServiceError Metering(string message, string target) => ServiceError.BadRequest(EventStatus.BadArgument, message, target);

    private static ServiceError Admin(string message, string target) => ServiceError.WithDetail(EventStatus.BadArgument, message, target);
}
