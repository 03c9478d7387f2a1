using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MarketplaceMetering.Tests;

/// <summary>
/// An HTTP/1.1 server on loopback that writes exactly the bytes a test gives it, for answers whose framing lies: a
/// body that ends before its <c>Content-Length</c>, a <c>Content-Length</c> shorter than the body, chunks cut at
/// odd places. Kestrel (and so WireMock.Net, which runs on it) refuses to send a body that disagrees with its declared
/// length, which is the point of these tests, so they need a socket of their own.
/// </summary>
internal sealed class RawHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<int, string, RawAnswer> _answer;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;
    private int _requests;
    private int _accepted;

    private RawHttpServer(Func<int, string, RawAnswer> answer)
    {
        _answer = answer;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accepting = AcceptAsync();
    }

    public Uri Endpoint { get; }

    /// <summary>Requests read so far.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _accepted);

    /// <summary>A server that answers request number n (from 1), whose body was the given text, with <paramref name="answer"/>(n, body).</summary>
    public static RawHttpServer Start(Func<int, string, RawAnswer> answer) => new(answer);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException or OperationCanceledException)
        {
        }

        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            Interlocked.Increment(ref _accepted);
            lock (_connections)
            {
                _connections.Add(ServeAsync(client));
            }
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var buffer = new byte[256 * 1024];
                var filled = 0;
                while (true)
                {
                    int headEnd;
                    while ((headEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
                    {
                        var read = await stream.ReadAsync(buffer.AsMemory(filled), _stop.Token);
                        if (read == 0)
                        {
                            return;
                        }

                        filled += read;
                    }

                    var head = Encoding.ASCII.GetString(buffer, 0, headEnd);
                    var length = head.Split("\r\n")
                        .Where(line => line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                        .Select(line => int.Parse(line["Content-Length:".Length..].Trim(), CultureInfo.InvariantCulture))
                        .FirstOrDefault();
                    var total = headEnd + 4 + length;
                    while (filled < total)
                    {
                        var read = await stream.ReadAsync(buffer.AsMemory(filled), _stop.Token);
                        if (read == 0)
                        {
                            return;
                        }

                        filled += read;
                    }

                    var body = Encoding.UTF8.GetString(buffer, headEnd + 4, length);
                    Buffer.BlockCopy(buffer, total, buffer, 0, filled - total);
                    filled -= total;

                    var answer = _answer(Interlocked.Increment(ref _requests), body);
                    await stream.WriteAsync(answer.Bytes, _stop.Token);
                    await stream.FlushAsync(_stop.Token);
                    if (answer.Close)
                    {
                        client.Client.Shutdown(SocketShutdown.Both);
                        return;
                    }
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away, or the server is stopping.
            }
        }
    }
}

/// <summary>The bytes one answer is made of, and whether the connection is closed after them.</summary>
internal sealed record RawAnswer(byte[] Bytes, bool Close)
{
    /// <summary>A well-framed 200 with a JSON body.</summary>
    public static RawAnswer Ok(string json) => Declaring(json, Encoding.UTF8.GetByteCount(json));

    /// <summary>A 200 whose <c>Content-Length</c> says <paramref name="declared"/> bytes, followed by all of <paramref name="json"/>; the connection stays open.</summary>
    public static RawAnswer Declaring(string json, int declared) =>
        new([.. Head($"Content-Length: {declared.ToString(CultureInfo.InvariantCulture)}"), .. Encoding.UTF8.GetBytes(json)], Close: false);

    /// <summary>A 200 that declares the whole body, sends the first <paramref name="sent"/> bytes of it, then closes the connection.</summary>
    public static RawAnswer CutAfter(string json, int sent)
    {
        var body = Encoding.UTF8.GetBytes(json);
        return new([.. Head($"Content-Length: {body.Length.ToString(CultureInfo.InvariantCulture)}"), .. body.AsSpan(0, sent)], Close: true);
    }

    /// <summary>A 200 that declares the whole body, sends the first <paramref name="sent"/> bytes of it, then nothing more, holding the connection open.</summary>
    public static RawAnswer StallAfter(string json, int sent) => CutAfter(json, sent) with { Close = false };

    /// <summary>A 200 sent with chunked transfer encoding (no <c>Content-Length</c>), in chunks of <paramref name="chunkSize"/> bytes.</summary>
    public static RawAnswer Chunked(string json, int chunkSize)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var bytes = new List<byte>(Head("Transfer-Encoding: chunked"));
        for (var offset = 0; offset < body.Length; offset += chunkSize)
        {
            var size = Math.Min(chunkSize, body.Length - offset);
            bytes.AddRange(Encoding.ASCII.GetBytes(size.ToString("x", CultureInfo.InvariantCulture) + "\r\n"));
            bytes.AddRange(body.AsSpan(offset, size).ToArray());
            bytes.AddRange("\r\n"u8.ToArray());
        }

        bytes.AddRange("0\r\n\r\n"u8.ToArray());
        return new([.. bytes], Close: false);
    }

    private static byte[] Head(string framing) =>
        Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n" + framing + "\r\n\r\n");
}
