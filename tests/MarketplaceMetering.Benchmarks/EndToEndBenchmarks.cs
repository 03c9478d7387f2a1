using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace MarketplaceMetering.Benchmarks;

/// <summary>
/// Sending, end to end over loopback http to the canned server, by 4 concurrent callers: a single event, a 25-event
/// batch, and 10,000 events through <c>SubmitUsageEventsAsync</c>. Each figure is per event; each category has the
/// minimal sender as its baseline, measured in the same run.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class EndToEndBenchmarks
{
    private const int Callers = 4;
    private const int SinglesPerCaller = 50;
    private const int BatchesPerCaller = 4;

    private Workload _workload = null!;
    private CannedServer _server = null!;
    private MeteringClient _client = null!;
    private MinimalSender _baseline = null!;
    private MinimalSender _allocating = null!;
    private WireFloorSender _floor = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        Listen();
        _workload = Workload.Create();
        _server = await CannedServer.StartAsync(_workload);
        _client = new MeteringClient(Workload.Credential, new MeteringClientOptions { Endpoint = _server.Endpoint });
        _baseline = new MinimalSender(_server.Endpoint, Workload.Token);
        _allocating = new MinimalSender(_server.Endpoint, Workload.Token, MinimalSender.Bodies.Allocated);
        _floor = new WireFloorSender(_server.Endpoint, Workload.Token, _workload);

        // Warm up both, and prove they are sending what the server expects: while checking, the server answers 400 to
        // any event that is not the workload's.
        _server.Checking = true;
        var single = await _client.SubmitUsageEventAsync(_workload.Single);
        var batch = await _client.SubmitBatchUsageEventAsync(_workload.Batch);
        var bulk = await _client.SubmitUsageEventsAsync(_workload.Bulk);
        Check(single is UsageEventResult.Accepted, "client single: " + single);
        Check(batch.IsAllDelivered, "client batch: " + batch.Results[0]);
        Check(bulk.Summary.AllDelivered, "client bulk: " + bulk.Summary);
        Check(await _workload.StreamBulkAsync(_client) == Workload.BulkCount, "client bulk stream");
        Check(await Safely(() => _baseline.SendAsync(_workload.Single)), "baseline single");
        Check(await Safely(async () => await _baseline.SendBatchAsync(_workload.Batch) == 25), "baseline batch");
        Check(await Safely(async () => await _baseline.SendBulkAsync(_workload.Bulk, Callers) == Workload.BulkCount), "baseline bulk");
        Check(await Safely(() => _allocating.SendAsync(_workload.Single)), "allocating baseline single");
        Check(await Safely(async () => await _allocating.SendBatchAsync(_workload.Batch) == 25), "allocating baseline batch");
        Check(await Safely(async () => await _allocating.SendBulkAsync(_workload.Bulk, Callers) == Workload.BulkCount), "allocating baseline bulk");
        Check(await Safely(async () => await _floor.SendAsync() == _workload.SingleAnswer.Length), "wire floor single");
        Check(await Safely(async () => await _floor.SendBatchAsync() == _workload.BatchAnswer.Length), "wire floor batch");
        _server.Checking = false;
    }

    /// <summary>False when the send fails: the minimal sender cannot read a 400, so the server's own finding is the message.</summary>
    private static async Task<bool> Safely(Func<Task<bool>> send)
    {
        try
        {
            return await send();
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or System.Text.Json.JsonException)
        {
            return false;
        }
    }

    private void Check(bool ok, string what)
    {
        if (!ok || _server.Mismatches.Count > 0)
        {
            throw new InvalidOperationException(
                "A sender did not get its events accepted by the canned server: " + what
                + (_server.Mismatches.Count > 0 ? "; the server saw " + string.Join("; ", _server.Mismatches.Take(3)) : string.Empty));
        }
    }

    /// <summary>Attaches listeners before anything is sent; none here.</summary>
    protected virtual void Listen()
    {
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _client.Dispose();
        _baseline.Dispose();
        _allocating.Dispose();
        _floor.Dispose();
        await _server.DisposeAsync();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Callers * SinglesPerCaller)]
    [BenchmarkCategory("Single")]
    public Task Single_MinimalSender() => Concurrently(SinglesPerCaller, () => _baseline.SendAsync(_workload.Single));

    /// <summary>The baseline as issue 9 measured it: its request body copied out, its answer buffered.</summary>
    [Benchmark(OperationsPerInvoke = Callers * SinglesPerCaller)]
    [BenchmarkCategory("Single")]
    public Task Single_MinimalSender_AllocatedBodies() => Concurrently(SinglesPerCaller, () => _allocating.SendAsync(_workload.Single));

    [Benchmark(OperationsPerInvoke = Callers * SinglesPerCaller)]
    [BenchmarkCategory("Single")]
    public Task Single_SubmitUsageEventAsync() => Concurrently(SinglesPerCaller, () => _client.SubmitUsageEventAsync(_workload.Single));

    /// <summary>The HTTP exchange alone (pre-written body, answer not parsed): the floor under any sender.</summary>
    [Benchmark(OperationsPerInvoke = Callers * SinglesPerCaller)]
    [BenchmarkCategory("Single")]
    public Task Single_WireFloor() => Concurrently(SinglesPerCaller, () => _floor.SendAsync());

    [Benchmark(Baseline = true, OperationsPerInvoke = Callers * BatchesPerCaller * 25)]
    [BenchmarkCategory("Batch")]
    public Task Batch_MinimalSender() => Concurrently(BatchesPerCaller, () => _baseline.SendBatchAsync(_workload.Batch));

    /// <summary>The baseline as issue 9 measured it: its request body copied out, its answer buffered.</summary>
    [Benchmark(OperationsPerInvoke = Callers * BatchesPerCaller * 25)]
    [BenchmarkCategory("Batch")]
    public Task Batch_MinimalSender_AllocatedBodies() => Concurrently(BatchesPerCaller, () => _allocating.SendBatchAsync(_workload.Batch));

    [Benchmark(OperationsPerInvoke = Callers * BatchesPerCaller * 25)]
    [BenchmarkCategory("Batch")]
    public Task Batch_SubmitBatchUsageEventAsync() => Concurrently(BatchesPerCaller, () => _client.SubmitBatchUsageEventAsync(_workload.Batch));

    /// <summary>The HTTP exchange alone (pre-written body, answer not parsed): the floor under any sender.</summary>
    [Benchmark(OperationsPerInvoke = Callers * BatchesPerCaller * 25)]
    [BenchmarkCategory("Batch")]
    public Task Batch_WireFloor() => Concurrently(BatchesPerCaller, () => _floor.SendBatchAsync());

    [Benchmark(Baseline = true, OperationsPerInvoke = Workload.BulkCount)]
    [BenchmarkCategory("Bulk")]
    public Task<int> Bulk_MinimalSender() => _baseline.SendBulkAsync(_workload.Bulk, Callers);

    /// <summary>The baseline as issue 9 measured it: its request bodies copied out, its answers buffered.</summary>
    [Benchmark(OperationsPerInvoke = Workload.BulkCount)]
    [BenchmarkCategory("Bulk")]
    public Task<int> Bulk_MinimalSender_AllocatedBodies() => _allocating.SendBulkAsync(_workload.Bulk, Callers);

    [Benchmark(OperationsPerInvoke = Workload.BulkCount)]
    [BenchmarkCategory("Bulk")]
    public Task<BulkUsageEventResult> Bulk_SubmitUsageEventsAsync() => _client.SubmitUsageEventsAsync(_workload.Bulk);

    /// <summary>The stream overload, read to its end, fed by a stream that allocates nothing per event.</summary>
    [Benchmark(OperationsPerInvoke = Workload.BulkCount)]
    [BenchmarkCategory("Bulk")]
    public Task<int> Bulk_SubmitUsageEventsAsync_Stream() => _workload.StreamBulkAsync(_client);

    private static Task Concurrently<T>(int perCaller, Func<Task<T>> send) =>
        Task.WhenAll(Enumerable.Range(0, Callers).Select(async _ =>
        {
            for (var i = 0; i < perCaller; i++)
            {
                await send().ConfigureAwait(false);
            }
        }));
}
