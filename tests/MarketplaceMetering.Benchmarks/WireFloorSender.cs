using System.Buffers;
using System.Net.Http.Headers;

namespace MarketplaceMetering.Benchmarks;

/// <summary>
/// Not a sender anyone could ship: the cost of the HTTP exchange alone, to show the floor under every sender. It posts
/// request bodies written once in advance, with the headers the others send, and reads the answer into a pooled buffer
/// without parsing it: no serialization, no JSON reading, no result objects. What it allocates per call is HttpClient's
/// and the in-process Kestrel server's share, which every sender measured in the same process pays.
/// </summary>
public sealed class WireFloorSender : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
    private readonly Uri _single;
    private readonly Uri _batch;
    private readonly string _authorization;
    private readonly byte[] _singleBody;
    private readonly byte[] _batchBody;

    public WireFloorSender(Uri endpoint, string token, Workload workload)
    {
        _single = new Uri(endpoint, "api/usageEvent?api-version=2018-08-31");
        _batch = new Uri(endpoint, "api/batchUsageEvent?api-version=2018-08-31");
        _authorization = "Bearer " + token;
        using (var body = Serialization.RequestWriter.Single(workload.Single))
        {
            _singleBody = body.Array.AsSpan(0, body.Length).ToArray();
        }

        using (var body = Serialization.RequestWriter.Batch(workload.Batch))
        {
            _batchBody = body.Array.AsSpan(0, body.Length).ToArray();
        }
    }

    /// <summary>Posts the single event's body; returns the answer's length.</summary>
    public Task<int> SendAsync() => PostAsync(_single, _singleBody);

    /// <summary>Posts the batch's body; returns the answer's length.</summary>
    public Task<int> SendBatchAsync() => PostAsync(_batch, _batchBody);

    public void Dispose() => _http.Dispose();

    private async Task<int> PostAsync(Uri uri, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri);
        request.Headers.TryAddWithoutValidation("Authorization", _authorization);
        request.Headers.TryAddWithoutValidation("x-ms-requestid", Guid.NewGuid().ToString());
        request.Headers.TryAddWithoutValidation("x-ms-correlationid", Guid.NewGuid().ToString());
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = Json;
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        var length = (int)response.Content.Headers.ContentLength!.Value;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
            var read = 0;
            int n;
            while (read < length && (n = await stream.ReadAsync(buffer.AsMemory(read, length - read)).ConfigureAwait(false)) > 0)
            {
                read += n;
            }

            return read;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
