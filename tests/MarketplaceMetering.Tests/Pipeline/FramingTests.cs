using System.Text.Json;
using System.Text.Json.Nodes;
using MarketplaceMetering.Testing;

namespace MarketplaceMetering.Tests.Pipeline;

/// <summary>
/// Answers whose HTTP framing lies or is unusual, written byte by byte by <see cref="RawHttpServer"/>. The client reads
/// a body up to its declared <c>Content-Length</c> (and stops there); these tests hold it to that: a body that ends early
/// is a transport failure (retried, then a retryable <see cref="MeteringException"/>, never a raw
/// <see cref="IOException"/>), a <c>Content-Length</c> shorter than the body is an unreadable answer that harms no later
/// call, and a chunked answer with no <c>Content-Length</c> is read whole. Two of them (a <c>Content-Length</c> shorter
/// than the body, an answer sent ahead of its request) hold the HTTP stack under the client to what the client relies
/// on: it stops at the declared length and never hands one call the bytes meant for another.
/// </summary>
public class FramingTests
{
    [Fact]
    public async Task SubmitUsageEventAsync_BodyEndsBeforeItsContentLength_IsRetriedThenAccepted()
    {
        var ids = new List<Guid>();
        await using var server = RawHttpServer.Start((n, body) =>
        {
            var answer = Echo(body, ids);
            return n == 1 ? RawAnswer.CutAfter(answer, 40) : RawAnswer.Ok(answer);
        });
        using var client = Client(server);

        var result = await client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        result.Should().BeOfType<UsageEventResult.Accepted>().Which.UsageEventId.Should().Be(ids[1], "the answer to the retry is the one read");
        server.Requests.Should().Be(2);
        server.Connections.Should().Be(2, "a connection whose answer was cut short is not used again");
    }

    [Fact]
    public async Task SubmitUsageEventAsync_EveryBodyEndsBeforeItsContentLength_ThrowsRetryableMeteringException()
    {
        await using var server = RawHttpServer.Start((_, body) => RawAnswer.CutAfter(Echo(body), 40));
        using var client = Client(server, maxRetries: 2);

        var act = () => client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.IsRetryable.Should().BeTrue("the event may or may not have been recorded; sending it again is safe");
        e.StatusCode.Should().BeNull("no whole answer arrived");
        server.Requests.Should().Be(3, "one attempt and two retries");
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_BodyEndsBeforeItsContentLength_IsRetriedThenAllAccepted()
    {
        var ids = new List<Guid>();
        await using var server = RawHttpServer.Start((n, body) =>
        {
            var answer = Echo(body, ids);
            return n == 1 ? RawAnswer.CutAfter(answer, answer.Length / 2) : RawAnswer.Ok(answer);
        });
        using var client = Client(server);
        var events = TestEvents.Distinct(TimeProvider.System, 25);

        var batch = await client.SubmitBatchUsageEventAsync(events);

        batch.Results.Should().AllBeOfType<UsageEventResult.Accepted>();
        batch.Results.Cast<UsageEventResult.Accepted>().Select(r => r.UsageEventId).Should().BeEquivalentTo(ids.Skip(25), "the answer to the retry is the one read");
        server.Requests.Should().Be(2);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_ContentLengthShorterThanTheBody_ThrowsMeteringExceptionAndTheNextCallIsAccepted()
    {
        var ids = new List<Guid>();
        await using var server = RawHttpServer.Start((n, body) =>
        {
            var answer = Echo(body, ids);
            return n == 1 ? RawAnswer.Declaring(answer, 40) : RawAnswer.Ok(answer);
        });
        using var client = Client(server, maxRetries: 0);

        var first = () => client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));
        (await first.Should().ThrowAsync<MeteringException>()).Which.StatusCode.Should().Be(200);
        var second = await client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System, resource: TestEvents.ResourceNumber(1)));

        second.Should().BeOfType<UsageEventResult.Accepted>().Which.UsageEventId.Should().Be(ids[^1], "the second call reads its own answer, not what was left on the first connection");
    }

    [Fact]
    public async Task SubmitUsageEventAsync_UnaskedAnswerWaitsOnTheConnection_NextCallReadsItsOwnAnswer()
    {
        // The first answer is framed correctly but cut to a useless 40 bytes, and a whole second answer (accepted, with an
        // id nobody asked for) follows it at once, before the client sends anything else: a server, or something in the
        // middle, answering ahead. The next call must not take it for its own.
        var unasked = Guid.NewGuid();
        var ids = new List<Guid>();
        await using var server = RawHttpServer.Start((n, body) =>
        {
            var answer = Echo(body, ids);
            if (n > 1)
            {
                return RawAnswer.Ok(answer);
            }

            var cut = RawAnswer.Declaring(answer[..40], 40).Bytes;
            var ahead = RawAnswer.Ok(Echo(body, [], unasked)).Bytes;
            return new RawAnswer([.. cut, .. ahead], Close: false);
        });
        using var client = Client(server, maxRetries: 0);

        var first = () => client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));
        await first.Should().ThrowAsync<MeteringException>();
        var second = await client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        second.Should().BeOfType<UsageEventResult.Accepted>().Which.UsageEventId.Should().NotBe(unasked).And.Be(ids[^1]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public async Task SubmitBatchUsageEventAsync_ChunkedAnswerWithoutContentLength_IsReadWhole(int chunkSize)
    {
        var ids = new List<Guid>();
        await using var server = RawHttpServer.Start((_, body) => RawAnswer.Chunked(Echo(body, ids, note: "Verbrauch gemeldet – 計量済み ✓"), chunkSize));
        using var client = Client(server);
        var events = TestEvents.Distinct(TimeProvider.System, 25);

        var batch = await client.SubmitBatchUsageEventAsync(events);

        batch.Results.Should().AllBeOfType<UsageEventResult.Accepted>();
        batch.Results.Cast<UsageEventResult.Accepted>().Select(r => r.UsageEventId).Should().Equal(ids);
        server.Requests.Should().Be(1);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_OneBatchAnswerEndsEarly_ThatBatchIsRetriedAndEveryEventDelivered()
    {
        await using var server = RawHttpServer.Start((n, body) =>
        {
            var answer = Echo(body);
            return n == 2 ? RawAnswer.CutAfter(answer, answer.Length - 1) : RawAnswer.Ok(answer);
        });
        using var client = Client(server);
        var events = TestEvents.Distinct(TimeProvider.System, 60);

        var bulk = await client.SubmitUsageEventsAsync(events);

        bulk.Summary.AllDelivered.Should().BeTrue();
        bulk.Results.Should().AllBeOfType<UsageEventResult.Accepted>();
        server.Requests.Should().Be(4, "three batches, one of them sent twice");
    }

    [Fact]
    public async Task SubmitUsageEventAsync_BodyStallsAfterTheHeaders_AttemptTimesOutAndIsRetried()
    {
        var clock = new TestClock(DateTimeOffset.UtcNow);
        var ids = new List<Guid>();
        await using var server = RawHttpServer.Start((n, body) =>
        {
            var answer = Echo(body, ids);
            return n == 1 ? RawAnswer.StallAfter(answer, 40) : RawAnswer.Ok(answer);
        });
        using var client = Client(server, clock: clock, networkTimeout: TimeSpan.FromSeconds(10));

        var call = client.SubmitUsageEventAsync(TestEvents.HourAgo(clock));
        await Eventually.HoldsAsync(() => server.Requests == 1, "the first attempt is answered in part");
        await clock.WaitForTimerAsync(d => d == TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromSeconds(10));

        (await call.WaitAsync(TimeSpan.FromSeconds(20))).Should().BeOfType<UsageEventResult.Accepted>().Which.UsageEventId.Should().Be(ids[^1]);
        server.Requests.Should().Be(2);
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_CancelledWhileTheBodyStalls_ThrowsAtOnce()
    {
        var clock = new TestClock(DateTimeOffset.UtcNow);
        await using var server = RawHttpServer.Start((_, body) => RawAnswer.StallAfter(Echo(body), 100));
        using var client = Client(server, clock: clock);
        using var cancel = new CancellationTokenSource();

        var call = client.SubmitBatchUsageEventAsync(TestEvents.Distinct(clock, 25), cancel.Token);
        await Eventually.HoldsAsync(() => server.Requests == 1, "the attempt is answered in part");
        await cancel.CancelAsync();

        await FluentActions.Awaiting(() => call.WaitAsync(TimeSpan.FromSeconds(20))).Should().ThrowAsync<OperationCanceledException>();
        server.Requests.Should().Be(1, "a cancelled call is not retried");
    }

    private static MeteringClient Client(RawHttpServer server, int maxRetries = 3, TimeProvider? clock = null, TimeSpan? networkTimeout = null)
    {
        var options = new MeteringClientOptions { Endpoint = server.Endpoint, TimeProvider = clock ?? TimeProvider.System };
        options.NetworkTimeout = networkTimeout ?? options.NetworkTimeout;
        options.Retry.Delay = TimeSpan.Zero;
        options.Retry.MaxRetries = maxRetries;
        return new MeteringClient(new CountingCredential("raw-server-token", options.TimeProvider), options);
    }

    /// <summary>The service's 200 for a request body (single or batch): every event accepted, each with a new id (added to <paramref name="ids"/>).</summary>
    private static string Echo(string requestBody, List<Guid>? ids = null, Guid? id = null, string? note = null)
    {
        var request = JsonNode.Parse(requestBody)!.AsObject();
        if (request["request"] is JsonArray events)
        {
            var items = new JsonArray([.. events.Select(e => (JsonNode)Accepted(e!.AsObject(), ids, id, note))]);
            return new JsonObject { ["count"] = items.Count, ["result"] = items }.ToJsonString(Options);
        }

        return Accepted(request, ids, id, note).ToJsonString(Options);
    }

    private static JsonObject Accepted(JsonObject sent, List<Guid>? ids, Guid? id, string? note)
    {
        var usageEventId = id ?? Guid.NewGuid();
        ids?.Add(usageEventId);
        var answer = new JsonObject
        {
            ["usageEventId"] = usageEventId,
            ["status"] = "Accepted",
            ["messageTime"] = DateTime.UtcNow.ToString("O"),
            ["resourceId"] = sent["resourceId"]!.DeepClone(),
            ["quantity"] = sent["quantity"]!.DeepClone(),
            ["dimension"] = sent["dimension"]!.DeepClone(),
            ["effectiveStartTime"] = sent["effectiveStartTime"]!.DeepClone(),
            ["planId"] = sent["planId"]!.DeepClone(),
        };
        if (note is not null)
        {
            answer["note"] = note;
        }

        return answer;
    }

    private static readonly JsonSerializerOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
