using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace MarketplaceMetering.Serialization;

/// <summary>
/// Turns validated events into request bodies: camelCase, UTC times, exactly one of resourceId and resourceUri. Writes
/// with a <see cref="Utf8JsonWriter"/> (one per thread, reset for each body) straight into a buffer rented from the
/// shared pool, without an intermediate object or time string per event.
/// </summary>
internal static class RequestWriter
{
    [ThreadStatic]
    private static Utf8JsonWriter? _writer;

    public static PooledBody Single(UsageEvent usageEvent)
    {
        var body = new PooledBody(512);
        var writer = WriterFor(body);
        try
        {
            Write(writer, usageEvent);
            writer.Flush();
            return body;
        }
        catch
        {
            body.Dispose();
            throw;
        }
        finally
        {
            writer.Reset();
        }
    }

    public static PooledBody Batch(IReadOnlyList<UsageEvent> usageEvents)
    {
        var body = new PooledBody(256 * usageEvents.Count + 32);
        var writer = WriterFor(body);
        try
        {
            writer.WriteStartObject();
            writer.WriteStartArray("request"u8);
            for (var i = 0; i < usageEvents.Count; i++)
            {
                Write(writer, usageEvents[i]);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.Flush();
            return body;
        }
        catch
        {
            body.Dispose();
            throw;
        }
        finally
        {
            writer.Reset();
        }
    }

    private static Utf8JsonWriter WriterFor(PooledBody body)
    {
        if (_writer is { } writer)
        {
            writer.Reset(body);
            return writer;
        }

        return _writer = new Utf8JsonWriter(body, new JsonWriterOptions { SkipValidation = false });
    }

    private static void Write(Utf8JsonWriter writer, UsageEvent usageEvent)
    {
        writer.WriteStartObject();
        if (usageEvent.ResourceUri is { } uri)
        {
            writer.WriteString("resourceUri"u8, uri);
        }
        else
        {
            writer.WriteString("resourceId"u8, usageEvent.ResourceId!.Value);
        }

        writer.WriteNumber("quantity"u8, usageEvent.Quantity);
        writer.WriteString("dimension"u8, usageEvent.Dimension);
        WriteTime(writer, usageEvent.EffectiveStartTime);
        writer.WriteString("planId"u8, usageEvent.PlanId);
        writer.WriteEndObject();
    }

    /// <summary>
    /// As <see cref="WireFormat.FormatTime"/>: UTC with a <c>Z</c>, fractional seconds only when there are some. The
    /// writer's own DateTime format is exactly that (ISO 8601, trailing zeros of the fraction trimmed) and, unlike a
    /// custom format string, takes no culture lookup or pattern parsing per event.
    /// </summary>
    private static void WriteTime(Utf8JsonWriter writer, DateTimeOffset time) =>
        writer.WriteString("effectiveStartTime"u8, time.UtcDateTime);
}

/// <summary>A request body in a buffer rented from the shared pool, returned when the call is over.</summary>
internal sealed class PooledBody : IBufferWriter<byte>, IDisposable
{
    private byte[]? _array;

    public PooledBody(int capacity) => _array = ArrayPool<byte>.Shared.Rent(capacity);

    public byte[] Array => _array ?? throw new ObjectDisposedException(nameof(PooledBody));

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Span => Array.AsSpan(0, Length);

    public void Advance(int count) => Length += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return Array.AsMemory(Length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return Array.AsSpan(Length);
    }

    public byte[] ToArray() => Span.ToArray();

    public void Dispose()
    {
        var array = Interlocked.Exchange(ref _array, null);
        if (array is not null)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    private void Ensure(int sizeHint)
    {
        var array = Array;
        if (array.Length - Length >= Math.Max(sizeHint, 1))
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(array.Length * 2, Length + Math.Max(sizeHint, 256)));
        array.AsSpan(0, Length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(array);
        _array = bigger;
    }
}
