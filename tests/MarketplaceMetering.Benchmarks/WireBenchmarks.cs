using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using MarketplaceMetering.Serialization;
using Microsoft.Extensions.Logging.Abstractions;

namespace MarketplaceMetering.Benchmarks;

/// <summary>
/// The client's own cost of the wire, without the network: writing a request body and reading an answer into
/// results, for a single event and a 25-event batch (all accepted, all Duplicate, all of an unknown status), per event,
/// against a Utf8JsonWriter into a reused buffer and a JsonDocument parse.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class WireBenchmarks
{
    private Workload _workload = null!;
    private ArrayBufferWriter<byte> _buffer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _workload = Workload.Create();
        _buffer = new ArrayBufferWriter<byte>(64 * 1024);
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("WriteSingle")]
    public int WriteSingle_Utf8JsonWriter() => Write([_workload.Single]);

    [Benchmark]
    [BenchmarkCategory("WriteSingle")]
    public int WriteSingle_Client()
    {
        using var body = RequestWriter.Single(_workload.Single);
        return body.Length;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = 25)]
    [BenchmarkCategory("WriteBatch")]
    public int WriteBatch_Utf8JsonWriter() => Write(_workload.Batch);

    [Benchmark(OperationsPerInvoke = 25)]
    [BenchmarkCategory("WriteBatch")]
    public int WriteBatch_Client()
    {
        using var body = RequestWriter.Batch(_workload.Batch);
        return body.Length;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("ReadSingle")]
    public bool ReadSingle_JsonDocument()
    {
        using var document = JsonDocument.Parse(_workload.SingleAnswer);
        return document.RootElement.GetProperty("status").ValueEquals("Accepted"u8);
    }

    [Benchmark]
    [BenchmarkCategory("ReadSingle")]
    public UsageEventResult ReadSingle_Client() =>
        ResponseMapper.MapSingle(_workload.Single, new RawResponse(200, null, _workload.SingleAnswer, "r", "c", null), "POST /api/usageEvent");

    [Benchmark(Baseline = true, OperationsPerInvoke = 25)]
    [BenchmarkCategory("ReadBatch")]
    public int ReadBatch_JsonDocument() => CountStatuses(_workload.BatchAnswer);

    [Benchmark(OperationsPerInvoke = 25)]
    [BenchmarkCategory("ReadBatch")]
    public BatchUsageEventResult ReadBatch_Client() => Map(_workload.BatchAnswer);

    [Benchmark(Baseline = true, OperationsPerInvoke = 25)]
    [BenchmarkCategory("ReadBatchDuplicates")]
    public int ReadBatchDuplicates_JsonDocument() => CountStatuses(_workload.DuplicateBatchAnswer);

    [Benchmark(OperationsPerInvoke = 25)]
    [BenchmarkCategory("ReadBatchDuplicates")]
    public BatchUsageEventResult ReadBatchDuplicates_Client() => Map(_workload.DuplicateBatchAnswer);

    [Benchmark(Baseline = true, OperationsPerInvoke = 25)]
    [BenchmarkCategory("ReadBatchUnknownStatuses")]
    public int ReadBatchUnknownStatuses_JsonDocument() => CountStatuses(_workload.UnknownStatusBatchAnswer);

    [Benchmark(OperationsPerInvoke = 25)]
    [BenchmarkCategory("ReadBatchUnknownStatuses")]
    public BatchUsageEventResult ReadBatchUnknownStatuses_Client() => Map(_workload.UnknownStatusBatchAnswer);

    private BatchUsageEventResult Map(byte[] answer) =>
        ResponseMapper.MapBatch(_workload.Batch, new RawResponse(200, null, answer, "r", "c", null), "POST /api/batchUsageEvent", NullLogger.Instance);

    private static int CountStatuses(byte[] answer)
    {
        using var document = JsonDocument.Parse(answer);
        var n = 0;
        foreach (var item in document.RootElement.GetProperty("result").EnumerateArray())
        {
            n += item.GetProperty("status").GetString()!.Length;
        }

        return n;
    }

    private int Write(IReadOnlyList<UsageEvent> events)
    {
        _buffer.ResetWrittenCount();
        using var writer = new Utf8JsonWriter(_buffer);
        writer.WriteStartObject();
        writer.WriteStartArray("request"u8);
        foreach (var e in events)
        {
            writer.WriteStartObject();
            writer.WriteString("resourceId"u8, e.ResourceId!.Value);
            writer.WriteNumber("quantity"u8, e.Quantity);
            writer.WriteString("dimension"u8, e.Dimension);
            writer.WriteString("effectiveStartTime"u8, e.EffectiveStartTime.UtcDateTime);
            writer.WriteString("planId"u8, e.PlanId);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        return _buffer.WrittenCount;
    }
}
