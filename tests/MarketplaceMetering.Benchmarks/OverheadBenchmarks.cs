using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace MarketplaceMetering.Benchmarks;

/// <summary>
/// The sender's own CPU and bytes with the network taken away: the client and the minimal sender both send through an
/// in-memory <see cref="HttpMessageHandler"/> that answers the canned bodies at once. What is left is what each sender
/// does per event (writing, validating, planning, reading answers, building results), measured with far less noise than
/// over sockets. It explains the throughput program's CPU figures; it is not the end-to-end target.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class OverheadBenchmarks
{
    private static readonly Uri Endpoint = new("http://127.0.0.1:1/");
    private Workload _workload = null!;
    private MeteringClient _client = null!;
    private MinimalSender _baseline = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _workload = Workload.Create();
        _client = new MeteringClient(new HttpClient(new InMemoryHandler(_workload)), Workload.Credential, new MeteringClientOptions { Endpoint = Endpoint });
        _baseline = new MinimalSender(Endpoint, Workload.Token, new InMemoryHandler(_workload));
        if (await _client.SubmitUsageEventAsync(_workload.Single) is not UsageEventResult.Accepted
            || !(await _client.SubmitBatchUsageEventAsync(_workload.Batch)).IsAllDelivered
            || !(await _client.SubmitUsageEventsAsync(_workload.Bulk)).Summary.AllDelivered
            || await _workload.StreamBulkAsync(_client) != Workload.BulkCount
            || !await _baseline.SendAsync(_workload.Single)
            || await _baseline.SendBatchAsync(_workload.Batch) != 25
            || await _baseline.SendBulkAsync(_workload.Bulk, 4) != Workload.BulkCount)
        {
            throw new InvalidOperationException("A sender did not get its events accepted by the in-memory handler.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _baseline.Dispose();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Single")]
    public Task<bool> Single_MinimalSender() => _baseline.SendAsync(_workload.Single);

    [Benchmark]
    [BenchmarkCategory("Single")]
    public Task<UsageEventResult> Single_SubmitUsageEventAsync() => _client.SubmitUsageEventAsync(_workload.Single);

    [Benchmark(Baseline = true, OperationsPerInvoke = 25)]
    [BenchmarkCategory("Batch")]
    public Task<int> Batch_MinimalSender() => _baseline.SendBatchAsync(_workload.Batch);

    [Benchmark(OperationsPerInvoke = 25)]
    [BenchmarkCategory("Batch")]
    public Task<BatchUsageEventResult> Batch_SubmitBatchUsageEventAsync() => _client.SubmitBatchUsageEventAsync(_workload.Batch);

    [Benchmark(Baseline = true, OperationsPerInvoke = Workload.BulkCount)]
    [BenchmarkCategory("Bulk")]
    public Task<int> Bulk_MinimalSender() => _baseline.SendBulkAsync(_workload.Bulk, 4);

    [Benchmark(OperationsPerInvoke = Workload.BulkCount)]
    [BenchmarkCategory("Bulk")]
    public Task<BulkUsageEventResult> Bulk_SubmitUsageEventsAsync() => _client.SubmitUsageEventsAsync(_workload.Bulk);

    /// <summary>The stream overload, read to its end, fed by a stream that allocates nothing per event.</summary>
    [Benchmark(OperationsPerInvoke = Workload.BulkCount)]
    [BenchmarkCategory("Bulk")]
    public Task<int> Bulk_SubmitUsageEventsAsync_Stream() => _workload.StreamBulkAsync(_client);

    /// <summary>Answers each request at once with the canned server's body for it; the request body is read into a pooled buffer.</summary>
    private sealed class InMemoryHandler(Workload workload) : HttpMessageHandler
    {
        private static readonly MediaTypeHeaderValue Json = MediaTypeHeaderValue.Parse("application/json; charset=utf-8");
        private readonly Dictionary<string, byte[]>.AlternateLookup<ReadOnlySpan<char>> _bulk = workload.BulkAnswers.GetAlternateLookup<ReadOnlySpan<char>>();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var length = (int)request.Content!.Headers.ContentLength!.Value;
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                using (var stream = new MemoryStream(buffer, 0, length, writable: true))
                {
                    await request.Content.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
                }

                var single = request.RequestUri!.AbsolutePath.EndsWith("/usageEvent", StringComparison.Ordinal);
                var answer = single ? workload.SingleAnswer : CannedServer.FindBulkAnswer(buffer.AsSpan(0, length), _bulk) ?? workload.BatchAnswer;
                var content = new ByteArrayContent(answer);
                content.Headers.ContentType = Json;
                content.Headers.ContentLength = answer.Length;
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request };
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
