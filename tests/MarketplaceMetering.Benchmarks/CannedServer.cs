using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Benchmarks;

/// <summary>
/// A loopback Kestrel server that answers with pre-built bodies, so the server costs as little as it can and the
/// same for every sender: a single event, a batch, and each bulk batch (found by its first resource id).
/// </summary>
public sealed class CannedServer : IAsyncDisposable
{
    private static readonly byte[] ResourceIdProperty = "\"resourceId\":\""u8.ToArray();
    private readonly WebApplication _app;

    private CannedServer(WebApplication app, Uri endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    /// <summary>What /api/batchUsageEvent answers when the body's first resource is not a bulk batch's.</summary>
    public byte[]? BatchAnswerOverride { get; set; }

    /// <summary>
    /// While set (during a benchmark's set-up, never while it is measured: parsing would add to every sender's bytes),
    /// every request body is read and each event in it checked against the workload; what does not match, or a batch
    /// of more than 25, is answered 400 and listed in <see cref="Mismatches"/>. A canned answer says Accepted whatever
    /// was sent, so without this a sender that wrote the wrong events would still look accepted.
    /// </summary>
    public bool Checking { get; set; }

    /// <summary>What <see cref="Checking"/> found wrong, one line per request.</summary>
    public List<string> Mismatches { get; } = [];

    public static async Task<CannedServer> StartAsync(Workload workload)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        CannedServer? server = null;
        var bulkAnswers = workload.BulkAnswers.GetAlternateLookup<ReadOnlySpan<char>>();
        var expected = new HashSet<string>(new[] { workload.Single }.Concat(workload.Batch).Concat(workload.Bulk).Select(Key), StringComparer.Ordinal);
        app.MapPost("/api/usageEvent", async context =>
        {
            var (buffer, length) = await ReadAsync(context);
            var problem = server!.Checking ? server.Check(buffer.AsSpan(0, length), expected, batch: false) : null;
            ArrayPool<byte>.Shared.Return(buffer);
            await Write(context, problem is null ? workload.SingleAnswer : BadRequest, problem is null ? 200 : 400);
        });
        app.MapPost("/api/batchUsageEvent", async context =>
        {
            var (buffer, length) = await ReadAsync(context);
            var problem = server!.Checking ? server.Check(buffer.AsSpan(0, length), expected, batch: true) : null;
            var answer = FindBulkAnswer(buffer.AsSpan(0, length), bulkAnswers) ?? server.BatchAnswerOverride ?? workload.BatchAnswer;
            ArrayPool<byte>.Shared.Return(buffer);
            await Write(context, problem is null ? answer : BadRequest, problem is null ? 200 : 400);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server = new CannedServer(app, new Uri(address + "/"));
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // The server reads bodies into pooled buffers and answers pre-built bytes, so that its own allocations, which land
    // in every sender's figures alike, stay small.
    private static async Task<(byte[] Buffer, int Length)> ReadAsync(HttpContext context)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)(context.Request.ContentLength ?? 16 * 1024));
        var length = 0;
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer.AsMemory(length))) > 0)
        {
            length += read;
            if (length == buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }
        }

        return (buffer, length);
    }

    private const string RequestIdHeader = "x-ms-requestid";
    private const string CorrelationIdHeader = "x-ms-correlationid";

    private static readonly byte[] BadRequest = """{"code":"BadArgument","message":"The benchmark's canned server did not expect these events."}"""u8.ToArray();

    /// <summary>The text an event is compared by: resource, plan, dimension, quantity and start time, as the service reads them.</summary>
    private static string Key(UsageEvent e) => Key(e.ResourceId!.Value, e.PlanId, e.Dimension, e.Quantity, e.EffectiveStartTime);

    /// <summary>The same text for an event read from a request body.</summary>
    private static string Key(System.Text.Json.JsonElement e) => Key(
        e.GetProperty("resourceId").GetGuid(),
        e.GetProperty("planId").GetString(),
        e.GetProperty("dimension").GetString(),
        e.GetProperty("quantity").GetDecimal(),
        e.GetProperty("effectiveStartTime").GetDateTimeOffset());

    private static string Key(Guid resource, string? plan, string? dimension, decimal quantity, DateTimeOffset start) =>
        string.Join('|', resource.ToString("D"), plan, dimension, quantity.ToString("G29", System.Globalization.CultureInfo.InvariantCulture), start.UtcTicks);

    private string? Check(ReadOnlySpan<byte> body, HashSet<string> expected, bool batch)
    {
        string? problem;
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body.ToArray());
            var events = batch ? [.. document.RootElement.GetProperty("request").EnumerateArray()] : new[] { document.RootElement };
            problem = events.Length is 0 or > 25
                ? events.Length + " events in one call"
                : events.Select(Key)
                    .FirstOrDefault(key => !expected.Contains(key)) is { } unexpected ? "an event not in the workload: " + unexpected : null;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            problem = "an unreadable body (" + e.GetType().Name + ": " + e.Message + ")";
        }

        if (problem is not null)
        {
            lock (Mismatches)
            {
                Mismatches.Add(problem);
            }
        }

        return problem;
    }

    private static Task Write(HttpContext context, byte[] answer, int status = 200)
    {
        // The service echoes the request's ids (and makes them up when absent), so every answer carries both headers, as
        // the emulator's do. Without them a cost in reading the answer's ids would not show in these benchmarks (it
        // did not, for a whole session; the throughput program, against the emulator, found it).
        context.Response.Headers[RequestIdHeader] = context.Request.Headers[RequestIdHeader];
        context.Response.Headers[CorrelationIdHeader] = context.Request.Headers[CorrelationIdHeader];
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = answer.Length;
        return context.Response.Body.WriteAsync(answer, 0, answer.Length);
    }

    internal static byte[]? FindBulkAnswer(ReadOnlySpan<byte> body, Dictionary<string, byte[]>.AlternateLookup<ReadOnlySpan<char>> answers)
    {
        var at = body.IndexOf(ResourceIdProperty);
        if (at < 0 || at + ResourceIdProperty.Length + 36 > body.Length)
        {
            return null;
        }

        Span<char> id = stackalloc char[36];
        System.Text.Encoding.UTF8.GetChars(body.Slice(at + ResourceIdProperty.Length, 36), id);
        return answers.TryGetValue(id, out var answer) ? answer : null;
    }
}
