using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MarketplaceMetering.Benchmarks;

/// <summary>
/// The same end-to-end benchmarks with a listener on the client's <c>ActivitySource</c> (every span recorded) and on its
/// <c>Meter</c> (every measurement delivered), as an OpenTelemetry SDK attaches them: the cost of observing the client.
/// </summary>
public class ListenedEndToEndBenchmarks : EndToEndBenchmarks
{
    private static ActivityListener? _activities;
    private static MeterListener? _meters;

    protected override void Listen()
    {
        _activities ??= new ActivityListener
        {
            ShouldListenTo = source => source.Name == "MarketplaceMetering",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_activities);
        if (_meters is null)
        {
            _meters = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (instrument.Meter.Name == "MarketplaceMetering")
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _meters.SetMeasurementEventCallback<long>(static (_, _, _, _) => { });
            _meters.SetMeasurementEventCallback<double>(static (_, _, _, _) => { });
            _meters.Start();
        }
    }
}
