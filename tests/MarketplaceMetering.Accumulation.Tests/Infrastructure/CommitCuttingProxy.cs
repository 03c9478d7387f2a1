using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// A TCP relay in front of the test's PostgreSQL server that, once armed, breaks the connection that sends the next
/// <c>COMMIT</c>: either after the server has committed and answered (the answer is dropped: the client cannot know
/// the commit happened) or before the server sees it (the server aborts the transaction); or, as a network partition
/// does, it holds the <c>COMMIT</c> and breaks only the client's side, leaving the server's side open and silent (the
/// transaction stays in progress until the server is told otherwise) until the test heals it. Everything else is
/// relayed as it is. The break is placed by the protocol, not by timing.
/// </summary>
internal sealed class CommitCuttingProxy : IAsyncDisposable
{
    /// <summary>The protocol's Query message for <c>COMMIT</c> ('Q', its length 11, the text and its NUL), as Npgsql sends it.</summary>
    private static readonly byte[] Commit = [(byte)'Q', 0, 0, 0, 11, .. Encoding.ASCII.GetBytes("COMMIT"), 0];

    /// <summary>The ledger's question about a transaction whose commit's answer was lost.</summary>
    private static readonly byte[] StatusQuestion = Encoding.ASCII.GetBytes("txid_status");

    /// <summary>The ledger's order to end the backend that runs a transaction left in progress.</summary>
    private static readonly byte[] TerminateOrder = Encoding.ASCII.GetBytes("pg_terminate_backend");

    /// <summary>The server's ReadyForQuery message ('Z', its length 5, then the status byte): it has answered.</summary>
    private static readonly byte[] ReadyForQuery = [(byte)'Z', 0, 0, 0, 5];

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _relays = [];
    private readonly List<Partition> _partitions = [];
    private int _armed; // 0: relay; 1: cut after the commit; 2: cut before it; 3: partition at it
    private int _cuts;
    private int _statusQuestions;
    private int _endPartitionsAtStatusQuestion = int.MaxValue;
    private int _healBeforeTermination;
    private bool? _healedBeforeTermination;

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

    /// <summary>
    /// The next COMMIT is held, as a network partition would: the client's side of its connection is closed, the
    /// server's side stays open and hears nothing more, so the server keeps the transaction in progress. <see cref="HealAsync"/>
    /// then delivers the held COMMIT, as a partition that heals would.
    /// </summary>
    public void PartitionAtNextCommit() => Volatile.Write(ref _armed, 3);

    /// <summary>
    /// Closes the server's side of every partitioned connection (the server then aborts its transaction, as it does once
    /// it notices the partition) when the client asks <c>txid_status</c> for the <paramref name="questions"/>th time.
    /// </summary>
    public void EndPartitionsAtStatusQuestion(int questions) => Volatile.Write(ref _endPartitionsAtStatusQuestion, questions);

    /// <summary>
    /// Heals the partition (<see cref="HealAsync"/>) when the client orders <c>pg_terminate_backend</c>, before the
    /// order reaches the server: the held COMMIT commits first, as one delivered late by the network can.
    /// </summary>
    public void HealBeforeTermination() => Volatile.Write(ref _healBeforeTermination, 1);

    /// <summary>Whether the server answered the COMMIT healed by <see cref="HealBeforeTermination"/>; null until then.</summary>
    public bool? HealedBeforeTermination => _healedBeforeTermination;

    /// <summary>How many times the client asked <c>txid_status</c>.</summary>
    public int StatusQuestions => Volatile.Read(ref _statusQuestions);

    /// <summary>
    /// Delivers the COMMIT held by the partition to the server, as a partition that heals would, and waits for the
    /// server: <see langword="true"/> when it answered (its transaction was still there and is now committed, or failed),
    /// <see langword="false"/> when it had ended the connection (its backend was ended; the transaction is gone).
    /// </summary>
    public Task<bool> HealAsync() => SendToPartitionedServerAsync(held: null);

    /// <summary>
    /// Asks the server <c>SELECT 1</c> on the partitioned connection (after <see cref="HealAsync"/>): <see langword="true"/>
    /// when it answers (its session is alive), <see langword="false"/> when it has ended the connection.
    /// </summary>
    public Task<bool> ProbePartitionedSessionAsync() => SendToPartitionedServerAsync([(byte)'Q', 0, 0, 0, 13, .. Encoding.ASCII.GetBytes("SELECT 1"), 0]);

    /// <summary>Sends <paramref name="held"/> (the held COMMIT when null) to the partitioned connection's server and waits for its answer or its end.</summary>
    private async Task<bool> SendToPartitionedServerAsync(byte[]? held)
    {
        Partition partition;
        lock (_partitions)
        {
            partition = _partitions.Single();
        }

        try
        {
            await partition.Server.SendAsync(held ?? partition.Held, _stop.Token);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        var answered = partition.Answers.WaitAsync();
        var settled = await Task.WhenAny(answered, partition.Ended.Task).WaitAsync(TimeSpan.FromSeconds(60));
        return settled == answered;
    }

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
        var partition = new Partition(server);
        var toServer = PumpToServerAsync(client, server, committing, partition, cut);
        var toClient = PumpToClientAsync(server, client, committing.Task, partition, cut);
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

    private async Task PumpToServerAsync(Socket from, Socket to, TaskCompletionSource committing, Partition partition, CancellationTokenSource cut)
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

            if (buffer.AsSpan(0, read).IndexOf(StatusQuestion) >= 0 && Interlocked.Increment(ref _statusQuestions) == Volatile.Read(ref _endPartitionsAtStatusQuestion))
            {
                EndPartitions();
            }

            if (buffer.AsSpan(0, read).IndexOf(TerminateOrder) >= 0 && Interlocked.Exchange(ref _healBeforeTermination, 0) == 1)
            {
                _healedBeforeTermination = await HealAsync();
            }

            if (buffer.AsSpan(0, read).IndexOf(Commit) >= 0 && Interlocked.Exchange(ref _armed, 0) is var mode and not 0)
            {
                Interlocked.Increment(ref _cuts);
                if (mode == 2)
                {
                    await cut.CancelAsync();
                    return;
                }

                if (mode == 3)
                {
                    // The client's side breaks; the server's side stays open, hears nothing, and its reader (PumpToClientAsync)
                    // goes on listening to learn whether the server answers the COMMIT when healed or ends the connection.
                    partition.Held = buffer.AsSpan(0, read).ToArray();
                    lock (_partitions)
                    {
                        _partitions.Add(partition);
                    }

                    from.Dispose();
                    return;
                }

                committing.TrySetResult();
            }

            await to.SendAsync(buffer.AsMemory(0, read), cut.Token);
        }
    }

    private static async Task PumpToClientAsync(Socket from, Socket to, Task committing, Partition partition, CancellationTokenSource cut)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int read;
            try
            {
                read = await from.ReceiveAsync(buffer, cut.Token);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException && partition.Held is not null)
            {
                read = 0;
            }

            if (partition.Held is not null)
            {
                // Partitioned: nothing reaches the client; the server either answers the healed COMMIT or ends the connection
                // (the FATAL of a terminated backend, then the end of the stream).
                if (read == 0)
                {
                    partition.Ended.TrySetResult();
                    await cut.CancelAsync();
                    return;
                }

                if (buffer.AsSpan(0, read).IndexOf(ReadyForQuery) >= 0)
                {
                    partition.Answers.Release();
                }

                continue;
            }

            if (read == 0 || committing.IsCompleted)
            {
                // The server's answer to the COMMIT: it has committed. The client never learns it.
                await cut.CancelAsync();
                return;
            }

            await to.SendAsync(buffer.AsMemory(0, read), cut.Token);
        }
    }

    /// <summary>Closes the server's side of every partitioned connection, as the server does once it notices the partition.</summary>
    private void EndPartitions()
    {
        lock (_partitions)
        {
            foreach (var partition in _partitions)
            {
                partition.Server.Dispose();
            }
        }
    }

    /// <summary>A connection whose client side is gone and whose server side is held open (<see cref="PartitionAtNextCommit"/>).</summary>
    private sealed class Partition(Socket server)
    {
        public Socket Server { get; } = server;

        /// <summary>What the client sent with the COMMIT, held back; set when the partition begins.</summary>
        public volatile byte[]? Held;

        /// <summary>Released once per ReadyForQuery the server sends: one per message it answered.</summary>
        public SemaphoreSlim Answers { get; } = new(0);

        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
