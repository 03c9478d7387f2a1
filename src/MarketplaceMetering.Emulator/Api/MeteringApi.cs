using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using MarketplaceMetering.Emulator.Diagnostics;
using MarketplaceMetering.Emulator.Hosting;
using MarketplaceMetering.Emulator.Requests;
using MarketplaceMetering.Emulator.Rules;
using MarketplaceMetering.Emulator.Wire;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Emulator.Api;

/// <summary>
/// The <c>/api</c> routes. Per request: read the body, apply the next fault (a real outage answers whatever the
/// request), check <c>api-version</c> (400), then the bearer token (403), then route.
/// </summary>
internal sealed class MeteringApi(EmulatorState state)
{
    public const string ApiVersion = "2018-08-31";

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var sequence = state.Requests.Arrive();
        var receivedAt = state.TimeProvider.GetUtcNow();
        var ids = RequestIds.From(request);
        var method = request.Method;
        var path = request.Path.Value ?? string.Empty;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, state.Stopping);
        var cancellationToken = linked.Token;

        RequestBody body;
        try
        {
            body = await RequestBodyReader.ReadAsync(request, state.MaxRequestBodyBytes, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException)
        {
            // The client went away mid-body.
            List(sequence, request, ReadOnlyMemory<byte>.Empty, receivedAt);
            EmulatorLog.ClientGone(state.Logger, method, path);
            context.Abort();
            return;
        }

        var listed = List(sequence, request, body.Bytes, receivedAt);
        var decision = state.Faults.Next();
        if (decision.Latency > TimeSpan.Zero)
        {
            try
            {
                await WaitAtLeastAsync(decision.Latency, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                EmulatorLog.ClientGone(state.Logger, method, path);
                context.Abort();
                return;
            }
        }

        if (decision.Action is not EmulatorFault.NoFault && state.Logger.IsEnabled(LogLevel.Information))
        {
            var faultName = decision.Action.GetType().Name;
            EmulatorLog.FaultApplied(state.Logger, method, path, faultName);
        }

        var response = decision.Action switch
        {
            EmulatorFault.ThrottleFault throttle => Throttled(throttle.RetryAfter ?? TimeSpan.Zero),
            EmulatorFault.ServerErrorFault serverError => ServerError(serverError.StatusCode),
            EmulatorFault.RespondFault respond => ApiResponse.Text(respond.StatusCode, respond.Body, respond.Headers),
            _ => Process(request, body),
        };

        if (decision.Action is EmulatorFault.DropAfterAcceptFault)
        {
            // Processed and recorded; the answer is lost. Nothing has been written, so the client sees a closed connection.
            EmulatorLog.Dropped(state.Logger, method, path);
            context.Abort();
            return;
        }

        state.Requests.Complete(listed, response.StatusCode);
        EmulatorLog.Answered(state.Logger, method, path, response.StatusCode);
        try
        {
            await response.WriteAsync(context, ids, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException)
        {
            EmulatorLog.ClientGone(state.Logger, method, path);
        }
    }

    /// <summary>
    /// Waits real time, never less than <paramref name="latency"/>: timers can fire a little early, and tests assert
    /// "the answer took at least this long".
    /// </summary>
    private static async Task WaitAtLeastAsync(TimeSpan latency, CancellationToken cancellationToken)
    {
        var clock = TimeProvider.System;
        var started = clock.GetTimestamp();
        while (latency - clock.GetElapsedTime(started) is var remaining && remaining > TimeSpan.Zero)
        {
            var wait = TimeSpan.FromMilliseconds(Math.Ceiling(remaining.TotalMilliseconds));
            await Task.Delay(wait, clock, cancellationToken).ConfigureAwait(false);
        }
    }

    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "A server boundary: any bug answers 500 instead of killing the connection.")]
    private ApiResponse Process(HttpRequest request, RequestBody body)
    {
        try
        {
            return Route(request, body);
        }
        catch (Exception exception)
        {
            EmulatorLog.UnexpectedError(state.Logger, exception, request.Method, request.Path.Value ?? string.Empty);
            return ServerError(500);
        }
    }

    private ApiResponse Route(HttpRequest request, RequestBody body)
    {
        var versions = request.Query["api-version"];
        if (versions.Count != 1 || !string.Equals(versions[0], ApiVersion, StringComparison.Ordinal))
        {
            var message = versions.Count == 0
                ? $"The api-version query parameter is required; use api-version={ApiVersion}."
                : $"The api-version query parameter is not supported; use api-version={ApiVersion}.";
            return ApiResponse.Error(400, ServiceError.BadRequest(EventStatus.BadArgument, message, "api-version"));
        }

        if (!state.Token.Authorizes(request))
        {
            return ApiResponse.Json(403, ServiceErrorWriter.Forbidden());
        }

        var path = request.Path.Value?.TrimEnd('/') ?? string.Empty;
        if (string.Equals(path, UsageEventEndpoint.Path, StringComparison.OrdinalIgnoreCase))
        {
            return HttpMethods.IsPost(request.Method) ? UsageEventEndpoint.Handle(state, body, request.ContentType) : MethodNotAllowed("POST");
        }

        if (string.Equals(path, BatchUsageEventEndpoint.Path, StringComparison.OrdinalIgnoreCase))
        {
            return HttpMethods.IsPost(request.Method) ? BatchUsageEventEndpoint.Handle(state, body, request.ContentType) : MethodNotAllowed("POST");
        }

        if (string.Equals(path, UsageEventsEndpoint.Path, StringComparison.OrdinalIgnoreCase))
        {
            return HttpMethods.IsGet(request.Method) ? UsageEventsEndpoint.Handle(state, request.Query) : MethodNotAllowed("GET");
        }

        return ApiResponse.Error(404, new ServiceError("NotFound", "No such operation in the metering API."));
    }

    private static ApiResponse MethodNotAllowed(string allowed) =>
        new(
            405,
            ServiceErrorWriter.ToJson(new ServiceError("MethodNotAllowed", $"This operation accepts {allowed} only.")),
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Allow"] = allowed });

    private static ApiResponse Throttled(TimeSpan retryAfter)
    {
        var seconds = (long)Math.Ceiling(retryAfter.TotalSeconds);
        var text = seconds.ToString(CultureInfo.InvariantCulture);
        return new ApiResponse(
            429,
            ServiceErrorWriter.ToJson(new ServiceError("TooManyRequests", $"Rate limit is exceeded. Try again in {text} seconds.")),
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Retry-After"] = text });
    }

    private static ApiResponse ServerError(int statusCode)
    {
        var error = statusCode switch
        {
            502 => new ServiceError("BadGateway", "The service received an invalid response from an upstream server."),
            503 => new ServiceError("ServiceUnavailable", "The service is temporarily unavailable."),
            504 => new ServiceError("GatewayTimeout", "The service timed out waiting for an upstream server."),
            _ => new ServiceError("InternalServerError", "An internal server error occurred."),
        };
        return ApiResponse.Error(statusCode, error);
    }

    /// <summary>Lists a request in the log, without a status yet.</summary>
    private RequestLog.Entry List(long sequence, HttpRequest request, ReadOnlyMemory<byte> body, DateTimeOffset receivedAt)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in request.Headers)
        {
            headers[name] = values.ToString();
        }

        var logged = body.Length > RequestBodyReader.LoggedBytes ? body[..RequestBodyReader.LoggedBytes] : body;
        return state.Requests.Add(
            sequence,
            new RecordedRequest(
                request.Method,
                request.Path.Value ?? string.Empty,
                request.QueryString.Value ?? string.Empty,
                headers,
                Encoding.UTF8.GetString(logged.Span),
                receivedAt,
                ResponseStatus: null));
    }
}
