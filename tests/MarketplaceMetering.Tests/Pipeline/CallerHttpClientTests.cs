using MarketplaceMetering.Emulator;

namespace MarketplaceMetering.Tests.Pipeline;

/// <summary>
/// An <see cref="HttpClient"/> the caller passes in is used as it is, but what it carries of its own never decides what
/// the service sees or what a failure means: its default headers cannot replace or double the client's token and ids,
/// and its own <see cref="HttpClient.Timeout"/> is a transient failure, retried, not the caller's cancellation.
/// </summary>
public class CallerHttpClientTests
{
    [Fact]
    public async Task SubmitUsageEventAsync_CallerHttpClientWithItsOwnDefaultHeaders_ServiceSeesOnlyTheClientsTokenAndIds()
    {
        await using var h = await Harness.StartAsync();
        using var http = new HttpClient();
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer someone-elses-token");
        http.DefaultRequestHeaders.TryAddWithoutValidation("x-ms-requestid", "11111111-1111-1111-1111-111111111111");
        http.DefaultRequestHeaders.TryAddWithoutValidation("x-ms-correlationid", "22222222-2222-2222-2222-222222222222");
        using var client = new MeteringClient(http, h.Emulator.Credential, new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = h.Clock });

        (await client.SubmitUsageEventAsync(h.HourAgo())).Should().BeOfType<UsageEventResult.Accepted>();
        (await client.SubmitBatchUsageEventAsync(TestEvents.Distinct(h.Clock, 2, "dim2"))).IsAllDelivered.Should().BeTrue();

        h.Emulator.Requests.Should().HaveCount(2);
        h.Emulator.Requests.Should().OnlyContain(r => r.Headers["Authorization"] == "Bearer " + h.Emulator.Token);
        h.Emulator.Requests.Select(r => r.Headers["x-ms-requestid"]).Should().OnlyContain(id => IsGuid(id) && !id.StartsWith("1111", StringComparison.Ordinal))
            .And.OnlyHaveUniqueItems();
        h.Emulator.Requests.Select(r => r.Headers["x-ms-correlationid"]).Should().OnlyContain(id => IsGuid(id) && !id.StartsWith("2222", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SubmitUsageEventAsync_CallerHttpClientTimesOut_IsRetriedNotReportedAsCancelled()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Latency(TimeSpan.FromSeconds(30)));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var options = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = h.Clock };
        options.Retry.Delay = TimeSpan.Zero;
        using var client = new MeteringClient(http, h.Emulator.Credential, options);

        var result = await client.SubmitUsageEventAsync(h.HourAgo()).WaitAsync(TimeSpan.FromSeconds(20));

        result.Should().BeOfType<UsageEventResult.Accepted>("the HttpClient's own timeout is a transient failure, not the caller cancelling");
        h.Emulator.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_CallerHttpClientAlwaysTimesOut_ThrowsRetryableMeteringException()
    {
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(Enumerable.Repeat(EmulatorFault.Latency(TimeSpan.FromSeconds(30)), 2).ToArray());
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var options = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = h.Clock };
        options.Retry.Delay = TimeSpan.Zero;
        options.Retry.MaxRetries = 1;
        using var client = new MeteringClient(http, h.Emulator.Credential, options);

        var act = () => client.SubmitUsageEventAsync(h.HourAgo()).WaitAsync(TimeSpan.FromSeconds(20));

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.IsRetryable.Should().BeTrue();
        h.Emulator.Requests.Should().HaveCount(2);
    }

    private static bool IsGuid(string value) => Guid.TryParse(value, out _);
}
