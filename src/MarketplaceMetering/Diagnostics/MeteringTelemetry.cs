using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace MarketplaceMetering;

/// <summary>
/// The client's traces and metrics, under the name <c>MarketplaceMetering</c> (an <see cref="ActivitySource"/> and a
/// <see cref="Meter"/>): nothing to install beyond the client, and nearly free when nobody listens. Attribute names follow
/// the OpenTelemetry semantic conventions where they exist (<c>http.request.method</c>, <c>http.response.status_code</c>,
/// <c>server.address</c>, <c>error.type</c>, <c>http.request.resend_count</c>); the rest are namespaced
/// <c>marketplace_metering.*</c>. No token, secret or body is ever recorded.
/// </summary>
internal static class MeteringTelemetry
{
    /// <summary>The name of the activity source and of the meter.</summary>
    public const string Name = "MarketplaceMetering";

    public const string OperationTag = "marketplace_metering.operation";
    public const string BatchSizeTag = "marketplace_metering.batch.size";
    public const string RequestIdTag = "marketplace_metering.request_id";
    public const string CorrelationIdTag = "marketplace_metering.correlation_id";
    public const string AttemptTag = "marketplace_metering.attempt";
    public const string StatusTag = "marketplace_metering.event.status";
    public const string DeliveredTag = "marketplace_metering.event.delivered";
    public const string DimensionTag = "marketplace_metering.dimension";
    public const string ReasonTag = "marketplace_metering.retry.reason";
    public const string TokenOutcomeTag = "marketplace_metering.token.outcome";
    public const string BackgroundTag = "marketplace_metering.token.background";

    private static readonly string Version = typeof(MeteringTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static readonly ActivitySource Source = new(Name, Version);

    public static readonly Meter Meter = new(Name, Version);

    /// <summary>One logical call (retries and resends included), in seconds.</summary>
    public static readonly Histogram<double> OperationDuration = Meter.CreateHistogram<double>(
        "marketplace_metering.client.operation.duration", "s", "Duration of a metering client operation: one logical call, retries included.");

    /// <summary>One HTTP attempt, in seconds.</summary>
    public static readonly Histogram<double> RequestDuration = Meter.CreateHistogram<double>(
        "marketplace_metering.client.request.duration", "s", "Duration of one HTTP attempt to the metering service.");

    /// <summary>Results returned to callers, by status.</summary>
    public static readonly Counter<long> Events = Meter.CreateCounter<long>(
        "marketplace_metering.events", "{event}", "Usage events whose outcome the client returned, by status.");

    /// <summary>Quantity recorded for billing, by dimension (accepted events, and for replays what the service holds).</summary>
    public static readonly Counter<double> DeliveredQuantity = Meter.CreateCounter<double>(
        "marketplace_metering.quantity.delivered", "{unit}", "Quantity recorded for billing, by dimension.");

    /// <summary>Retries scheduled, by reason.</summary>
    public static readonly Counter<long> Retries = Meter.CreateCounter<long>(
        "marketplace_metering.client.retries", "{retry}", "Retries of a metering service call, by reason.");

    /// <summary>Token fetches from the credential, by outcome.</summary>
    public static readonly Counter<long> TokenFetches = Meter.CreateCounter<long>(
        "marketplace_metering.token.fetches", "{fetch}", "Token fetches from the credential, by outcome.");

    /// <summary>Starts the span of one logical call; <see langword="null"/> when nobody listens.</summary>
    public static Activity? StartOperation(string operation, int eventCount)
    {
        if (!Source.HasListeners())
        {
            return null; // not even the span's name is built when nobody listens
        }

        var activity = Source.StartActivity("MeteringClient." + operation, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(OperationTag, operation);
            activity.SetTag(BatchSizeTag, eventCount);
        }

        return activity;
    }

    /// <summary>Records the outcome of one logical call: its duration, its results' statuses, their delivered quantity.</summary>
    public static void EndOperation(Activity? activity, string operation, long startedTimestamp, TimeProvider clock, IReadOnlyList<UsageEventResult>? results, Exception? failure)
    {
        if (OperationDuration.Enabled)
        {
            var tags = new TagList { { OperationTag, operation } };
            if (failure is not null)
            {
                tags.Add("error.type", ErrorType(failure));
            }

            OperationDuration.Record(clock.GetElapsedTime(startedTimestamp).TotalSeconds, tags);
        }

        if (results is not null)
        {
            Count(results, activity);
        }

        if (activity is null)
        {
            return;
        }

        if (failure is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, failure.GetType().Name);
            activity.SetTag("error.type", ErrorType(failure));
            if (failure is MeteringException metering)
            {
                activity.SetTag("http.response.status_code", metering.StatusCode);
                activity.SetTag(RequestIdTag, metering.RequestId);
            }
        }

        activity.Dispose();
    }

    /// <summary>Records the successful end of a single-event call.</summary>
    public static void EndOperation(Activity? activity, string operation, long startedTimestamp, TimeProvider clock, UsageEventResult result)
    {
        if (OperationDuration.Enabled)
        {
            OperationDuration.Record(clock.GetElapsedTime(startedTimestamp).TotalSeconds, new KeyValuePair<string, object?>(OperationTag, operation));
        }

        Count(result);
        if (activity is not null)
        {
            if (activity.IsAllDataRequested)
            {
                activity.SetTag("marketplace_metering.events." + StatusTagSuffix(result.Status), 1);
            }

            activity.Dispose();
        }
    }

    /// <summary>Counts results by status (and tags their counts on the operation's span), and their delivered quantity by dimension.</summary>
    public static void Count(IReadOnlyList<UsageEventResult> results, Activity? activity = null)
    {
        var tagSpan = activity is { IsAllDataRequested: true };
        if (!Events.Enabled && !DeliveredQuantity.Enabled && !tagSpan)
        {
            return;
        }

        Dictionary<UsageEventStatus, int>? byStatus = tagSpan ? [] : null;
        foreach (var result in results)
        {
            Count(result);
            if (byStatus is not null)
            {
                byStatus[result.Status] = (byStatus.TryGetValue(result.Status, out var n) ? n : 0) + 1;
            }
        }

        if (byStatus is not null)
        {
            foreach (var pair in byStatus)
            {
                activity!.SetTag("marketplace_metering.events." + StatusTagSuffix(pair.Key), pair.Value);
            }
        }
    }

    /// <summary>Counts one result and its delivered quantity.</summary>
    public static void Count(UsageEventResult result)
    {
        if (Events.Enabled)
        {
            Events.Add(1, new KeyValuePair<string, object?>(StatusTag, result.Status.ToString()), new KeyValuePair<string, object?>(DeliveredTag, result.IsDelivered));
        }

        if (DeliveredQuantity.Enabled && result.IsDelivered)
        {
            var quantity = result is UsageEventResult.Duplicate { Original: { } original } ? original.Quantity : result.Event.Quantity;
            DeliveredQuantity.Add((double)quantity, new KeyValuePair<string, object?>(DimensionTag, result.Event.Dimension));
        }
    }

    /// <summary>Starts the span of one HTTP attempt; <see langword="null"/> when nobody listens.</summary>
    public static Activity? StartAttempt(MeteringRequest request)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(request.Method.Method + " " + request.Path, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("http.request.method", request.Method.Method);
            activity.SetTag("server.address", request.Uri.Host);
            activity.SetTag("server.port", request.Uri.Port);
            activity.SetTag("url.full", request.Uri.GetLeftPart(UriPartial.Path));
            activity.SetTag(OperationTag, request.Operation);
            activity.SetTag(BatchSizeTag, request.EventCount);
            activity.SetTag(AttemptTag, request.Attempts);
            if (request.Attempts > 1)
            {
                activity.SetTag("http.request.resend_count", request.Attempts - 1);
            }

            activity.SetTag(RequestIdTag, request.RequestId);
            activity.SetTag(CorrelationIdTag, request.CorrelationId);
        }

        return activity;
    }

    /// <summary>Ends an attempt's span and records its duration.</summary>
    public static void EndAttempt(Activity? activity, MeteringRequest request, long startedTimestamp, TimeProvider clock, int? statusCode, string? serviceRequestId, Exception? failure)
    {
        if (RequestDuration.Enabled)
        {
            var tags = new TagList { { "http.request.method", request.Method.Method }, { "server.address", request.Uri.Host } };
            if (statusCode is { } code)
            {
                tags.Add("http.response.status_code", code);
            }

            if (failure is not null || statusCode >= 400)
            {
                tags.Add("error.type", failure is not null ? ErrorType(failure) : statusCode!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            RequestDuration.Record(clock.GetElapsedTime(startedTimestamp).TotalSeconds, tags);
        }

        if (activity is null)
        {
            return;
        }

        if (statusCode is { } status)
        {
            activity.SetTag("http.response.status_code", status);
            if (status >= 400)
            {
                activity.SetStatus(ActivityStatusCode.Error);
                activity.SetTag("error.type", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        if (serviceRequestId is not null && serviceRequestId != request.RequestId)
        {
            activity.SetTag(RequestIdTag, serviceRequestId);
        }

        if (failure is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, failure.GetType().Name);
            activity.SetTag("error.type", ErrorType(failure));
        }

        activity.Dispose();
    }

    private static string StatusTagSuffix(UsageEventStatus status) => status.ToString().ToLowerInvariant();

    public static void Retry(string operation, string reason)
    {
        if (Retries.Enabled)
        {
            Retries.Add(1, new KeyValuePair<string, object?>(OperationTag, operation), new KeyValuePair<string, object?>(ReasonTag, reason));
        }
    }

    public static void TokenFetch(string outcome, bool background)
    {
        if (TokenFetches.Enabled)
        {
            TokenFetches.Add(1, new KeyValuePair<string, object?>(TokenOutcomeTag, outcome), new KeyValuePair<string, object?>(BackgroundTag, background));
        }
    }

    private static string ErrorType(Exception failure) => failure switch
    {
        MeteringException { StatusCode: { } status } => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
        MeteringException { FailureCode: { } code } => code,
        _ => failure.GetType().FullName ?? failure.GetType().Name,
    };
}
