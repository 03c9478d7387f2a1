using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MarketplaceMetering.Tests;

/// <summary>Collects the client's finished spans and its metric measurements, as an OpenTelemetry SDK would receive them.</summary>
internal sealed class TelemetryCollector : IDisposable
{
    private readonly ActivityListener _activities;
    private readonly MeterListener _meters = new();
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ConcurrentQueue<Measurement> _measurements = new();

    public TelemetryCollector()
    {
        _activities = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "MarketplaceMetering",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_activities);

        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "MarketplaceMetering")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _meters.SetMeasurementEventCallback<long>((instrument, value, tags, _) => _measurements.Enqueue(new Measurement(instrument.Name, value, ToDictionary(tags))));
        _meters.SetMeasurementEventCallback<double>((instrument, value, tags, _) => _measurements.Enqueue(new Measurement(instrument.Name, value, ToDictionary(tags))));
        _meters.Start();
    }

    /// <summary>The finished spans of one trace.</summary>
    public IReadOnlyList<Activity> Spans(ActivityTraceId trace) => _stopped.Where(a => a.TraceId == trace).ToList();

    public IReadOnlyList<Measurement> Measurements(string instrument) => _measurements.Where(m => m.Instrument == instrument).ToList();

    public IReadOnlyList<Measurement> AllMeasurements => _measurements.ToList();

    public void Dispose()
    {
        _activities.Dispose();
        _meters.Dispose();
    }

    private static Dictionary<string, object?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            result[tag.Key] = tag.Value;
        }

        return result;
    }

    internal sealed record Measurement(string Instrument, double Value, IReadOnlyDictionary<string, object?> Tags);
}

/// <summary>Tests that listen to process-wide telemetry run alone, after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryTestGroup
{
    public const string Name = "Telemetry";
}
