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

    public static async Task<CannedServer> StartAsync(Workload workload)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        CannedServer? server = null;
        var bulkAnswers = workload.BulkAnswers.GetAlternateLookup<ReadOnlySpan<char>>();
        app.MapPost("/api/usageEvent", async context =>
        {
            var (buffer, _) = await ReadAsync(context);
            ArrayPool<byte>.Shared.Return(buffer);
            await Write(context, workload.SingleAnswer);
        });
        app.MapPost("/api/batchUsageEvent", async context =>
        {
            var (buffer, length) = await ReadAsync(context);
            var answer = FindBulkAnswer(buffer.AsSpan(0, length), bulkAnswers) ?? server!.BatchAnswerOverride ?? workload.BatchAnswer;
            ArrayPool<byte>.Shared.Return(buffer);
            await Write(context, answer);
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

    private static Task Write(HttpContext context, byte[] answer)
    {
        context.Response.StatusCode = 200;
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
