using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;

namespace MarketplaceMetering.Benchmarks;

/// <summary>
/// The recorder's hot path against the metrics API every .NET developer knows: <see cref="Counter{T}.Add(T)"/> on a
/// <c>Counter&lt;double&gt;</c> with a listener enabled that sums what it is given (what a metrics SDK's aggregator
/// does), the baseline. All threads record into one meter, as requests of one subscription do.
/// </summary>
[MemoryDiagnoser]
public class RecorderBenchmarks
{
    private const int Operations = 1_000_000;
    private static readonly Guid Resource = Guid.Parse("1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a");

    private string _folder = null!;
    private SqliteUsageLedger _ledger = null!;
    private UsageRecorder _recorder = null!;
    private UsageMeter _meter = null!;
    private Meter _metricsMeter = null!;
    private Counter<double> _counter = null!;
    private MeterListener _listener = null!;
    private double _counted;

    [Params(1, 4)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _folder = Directory.CreateTempSubdirectory("mm-bench-").FullName;
        _ledger = new SqliteUsageLedger(Path.Combine(_folder, "usage.db"));

        // Writes happen off the hot path; an hour-long interval keeps them out of the measurement.
        _recorder = new UsageRecorder(_ledger, new UsageAccumulationOptions { DurabilityInterval = TimeSpan.FromHours(1) });
        _meter = _recorder.GetMeter(Resource, "plan", "calls");

        _metricsMeter = new Meter("MarketplaceMetering.Benchmarks.Baseline");
        _counter = _metricsMeter.CreateCounter<double>("calls");
        _listener = new MeterListener { InstrumentPublished = (instrument, listener) => listener.EnableMeasurementEvents(instrument) };
        _listener.SetMeasurementEventCallback<double>((_, value, _, _) => AddDouble(ref _counted, value));
        _listener.Start();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _listener.Dispose();
        _metricsMeter.Dispose();
        await _recorder.DisposeAsync();
        await _ledger.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    public void CounterAdd() => Run(static b => b._counter.Add(1d));

    [Benchmark(OperationsPerInvoke = Operations)]
    public void UsageMeterAdd() => Run(static b => b._meter.Add(1m));

    [Benchmark(OperationsPerInvoke = Operations)]
    public void UsageMeterAddFraction() => Run(static b => b._meter.Add(0.25m));

    [Benchmark(OperationsPerInvoke = Operations)]
    public void RecordByName() => Run(static b => b._recorder.Record(Resource, "plan", "calls", 1m));

    private void Run(Action<RecorderBenchmarks> record)
    {
        if (Threads == 1)
        {
            for (var i = 0; i < Operations; i++)
            {
                record(this);
            }

            return;
        }

        var threads = new Thread[Threads];
        for (var t = 0; t < threads.Length; t++)
        {
            threads[t] = new Thread(() =>
            {
                for (var i = 0; i < Operations / Threads; i++)
                {
                    record(this);
                }
            });
            threads[t].Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }
    }

    private static void AddDouble(ref double target, double value)
    {
        var current = Volatile.Read(ref target);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref target, current + value, current);
            if (seen.Equals(current))
            {
                return;
            }

            current = seen;
        }
    }
}
