using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;

namespace MarketplaceMetering.Benchmarks;

/// <summary>
/// The baseline: the least a sender must do on the same wire. HttpClient over a SocketsHttpHandler, the body written
/// with a Utf8JsonWriter into a pooled buffer and sent as ByteArrayContent, the Authorization header built once, the
/// answer parsed with JsonDocument. No validation, no retries, no result objects, no telemetry.
/// </summary>
/// <remarks>
/// Two ways to write it. By default (<see cref="Bodies.Pooled"/>) it sends the pooled buffer itself and streams the
/// answer into <see cref="JsonDocument"/>, which pools its own buffers: no body is allocated at all, which makes it
/// stricter than the baseline issue 9 measured. <see cref="Bodies.Allocated"/> is that baseline, written the way the
/// issue describes it ("the baseline allocates its bodies; pooled bodies beat it") and the everyday way: the written
/// bytes copied into an array of their own for <see cref="ByteArrayContent"/>, and the answer buffered by
/// <see cref="HttpClient"/> (its default completion option) before it is parsed.
/// </remarks>
public sealed class MinimalSender : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpClient _http;
    private readonly Bodies _bodies;
    private readonly Uri _single;
    private readonly Uri _batch;
    private readonly string _authorization;

    /// <summary>How the sender holds its request and answer bodies.</summary>
    public enum Bodies
    {
        /// <summary>The request body sent from the pooled buffer, the answer streamed into the parser.</summary>
        Pooled,

        /// <summary>The request body copied into an array of its own, the answer buffered by HttpClient.</summary>
        Allocated,
    }

    public MinimalSender(Uri endpoint, string token, Bodies bodies = Bodies.Pooled)
        : this(endpoint, token, new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, bodies)
    {
    }

    /// <summary>A sender over the given handler (the in-memory one of <see cref="OverheadBenchmarks"/>).</summary>
    public MinimalSender(Uri endpoint, string token, HttpMessageHandler handler, Bodies bodies = Bodies.Pooled)
    {
        _http = new HttpClient(handler);
        _bodies = bodies;
        _single = new Uri(endpoint, "api/usageEvent?api-version=2018-08-31");
        _batch = new Uri(endpoint, "api/batchUsageEvent?api-version=2018-08-31");
        _authorization = "Bearer " + token;
    }

    /// <summary>Sends one event; <see langword="true"/> when the answer says Accepted.</summary>
    public async Task<bool> SendAsync(UsageEvent usageEvent)
    {
        using var body = new PooledBuffer();
        using (var writer = new Utf8JsonWriter(body))
        {
            Write(writer, usageEvent);
        }

        using var document = await PostAsync(_single, body).ConfigureAwait(false);
        return document.RootElement.GetProperty("status").ValueEquals("Accepted"u8);
    }

    /// <summary>Sends a batch; returns how many items say Accepted.</summary>
    public async Task<int> SendBatchAsync(IReadOnlyList<UsageEvent> usageEvents)
    {
        using var body = new PooledBuffer();
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("request"u8);
            foreach (var usageEvent in usageEvents)
            {
                Write(writer, usageEvent);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        using var document = await PostAsync(_batch, body).ConfigureAwait(false);
        var accepted = 0;
        foreach (var item in document.RootElement.GetProperty("result").EnumerateArray())
        {
            if (item.GetProperty("status").ValueEquals("Accepted"u8))
            {
                accepted++;
            }
        }

        return accepted;
    }

    /// <summary>Sends any number of events in batches of 25, <paramref name="concurrency"/> at a time; returns how many were accepted.</summary>
    public async Task<int> SendBulkAsync(IReadOnlyList<UsageEvent> usageEvents, int concurrency)
    {
        var all = usageEvents as UsageEvent[] ?? [.. usageEvents];
        var next = -1;
        var accepted = 0;
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int k;
            while ((k = Interlocked.Increment(ref next)) * 25 < usageEvents.Count)
            {
                var batch = new ArraySegment<UsageEvent>(all, k * 25, Math.Min(25, all.Length - (k * 25)));
                Interlocked.Add(ref accepted, await SendBatchAsync(batch).ConfigureAwait(false));
            }
        });
        await Task.WhenAll(workers).ConfigureAwait(false);
        return accepted;
    }

    public void Dispose() => _http.Dispose();

    private async Task<JsonDocument> PostAsync(Uri uri, PooledBuffer body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri);
        request.Headers.TryAddWithoutValidation("Authorization", _authorization);
        request.Headers.TryAddWithoutValidation("x-ms-requestid", Guid.NewGuid().ToString());
        request.Headers.TryAddWithoutValidation("x-ms-correlationid", Guid.NewGuid().ToString());
        request.Content = _bodies == Bodies.Pooled
            ? new ByteArrayContent(body.Array, 0, body.Length)
            : new ByteArrayContent(body.Array.AsSpan(0, body.Length).ToArray());
        request.Content.Headers.ContentType = Json;
        using var response = await _http.SendAsync(
            request,
            _bodies == Bodies.Pooled ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        return await JsonDocument.ParseAsync(stream).ConfigureAwait(false);
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
        writer.WriteString("effectiveStartTime"u8, usageEvent.EffectiveStartTime.UtcDateTime);
        writer.WriteString("planId"u8, usageEvent.PlanId);
        writer.WriteEndObject();
    }

    /// <summary>An IBufferWriter over arrays rented from the shared pool.</summary>
    private sealed class PooledBuffer : IBufferWriter<byte>, IDisposable
    {
        public byte[] Array { get; private set; } = ArrayPool<byte>.Shared.Rent(1024);

        public int Length { get; private set; }

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

        public void Dispose() => ArrayPool<byte>.Shared.Return(Array);

        private void Ensure(int sizeHint)
        {
            if (Array.Length - Length >= Math.Max(sizeHint, 256))
            {
                return;
            }

            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(Array.Length * 2, Length + sizeHint));
            Array.AsSpan(0, Length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(Array);
            Array = bigger;
        }
    }
}
