using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// A TCP relay in front of the test's PostgreSQL server that, once armed, breaks the connection that sends the next
/// <c>COMMIT</c>: either after the server has committed and answered (the answer is dropped: the client cannot know
/// the commit happened) or before the server sees it (the server aborts the transaction). Everything else is relayed
/// as it is. The break is placed by the protocol, not by timing.
/// </summary>
internal sealed class CommitCuttingProxy : IAsyncDisposable
{
    /// <summary>The protocol's Query message for <c>COMMIT</c> ('Q', its length 11, the text and its NUL), as Npgsql sends it.</summary>
    private static readonly byte[] Commit = [(byte)'Q', 0, 0, 0, 11, .. Encoding.ASCII.GetBytes("COMMIT"), 0];

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _relays = [];
    private int _armed; // 0: relay; 1: cut after the commit; 2: cut before it
    private int _cuts;

    private CommitCuttingProxy(string serverConnectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(serverConnectionString);
        _host = builder.Host!;
        _port = builder.Port;
        _listener.Start();
        builder.Host = "127.0.0.1";
        builder.Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        builder.SslMode = SslMode.Disable;
        ConnectionString = builder.ConnectionString;
        _relays.Add(AcceptAsync());
    }

    /// <summary>The connection string that goes through the relay.</summary>
    public string ConnectionString { get; }

    /// <summary>How many connections were broken at a commit.</summary>
    public int Cuts => Volatile.Read(ref _cuts);

    public static CommitCuttingProxy Start(string serverConnectionString) => new(serverConnectionString);

    /// <summary>The next COMMIT reaches the server and commits; its answer is dropped and the connection broken.</summary>
    public void CutAfterNextCommit() => Volatile.Write(ref _armed, 1);

    /// <summary>The next COMMIT never reaches the server; the connection is broken instead.</summary>
    public void CutBeforeNextCommit() => Volatile.Write(ref _armed, 2);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await Task.WhenAll(_relays.ToArray());
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await server.ConnectAsync(_host, _port, _stop.Token);
            lock (_relays)
            {
                _relays.Add(RelayAsync(client, server));
            }
        }
    }

    private async Task RelayAsync(Socket client, Socket server)
    {
        using var cut = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var committing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var toServer = PumpToServerAsync(client, server, committing, cut);
        var toClient = PumpToClientAsync(server, client, committing.Task, cut);
        try
        {
            await Task.WhenAll(toServer, toClient);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task PumpToServerAsync(Socket from, Socket to, TaskCompletionSource committing, CancellationTokenSource cut)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReceiveAsync(buffer, cut.Token);
            if (read == 0)
            {
                await cut.CancelAsync();
                return;
            }

            if (buffer.AsSpan(0, read).IndexOf(Commit) >= 0 && Interlocked.Exchange(ref _armed, 0) is var mode and not 0)
            {
                Interlocked.Increment(ref _cuts);
                if (mode == 2)
                {
                    await cut.CancelAsync();
                    return;
                }

                committing.TrySetResult();
            }

            await to.SendAsync(buffer.AsMemory(0, read), cut.Token);
        }
    }

    private static async Task PumpToClientAsync(Socket from, Socket to, Task committing, CancellationTokenSource cut)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var read = await from.ReceiveAsync(buffer, cut.Token);
            if (read == 0 || committing.IsCompleted)
            {
                // The server's answer to the COMMIT: it has committed. The client never learns it.
                await cut.CancelAsync();
                return;
            }

            await to.SendAsync(buffer.AsMemory(0, read), cut.Token);
        }
    }
}
