using System.Text.Json;
using MarketplaceMetering.Emulator;

namespace MarketplaceMetering.Tests.Pipeline;

/// <summary>
/// The client never follows a redirect (review of the core, item 3): a 301/302/303 would turn the POST into a GET and
/// report another host's 200 as billed; a 307/308 would send the usage to another host. A 3xx is a non-retryable
/// <see cref="MeteringException"/> naming the status and the <c>Location</c> host. The other host is a WireMock server
/// that would answer anything 200 (an accepted-looking echo where it matters); its request log shows it was never asked.
/// </summary>
public class RedirectTests
{
    [Theory]
    [InlineData(301)]
    [InlineData(302)]
    [InlineData(303)]
    [InlineData(307)]
    [InlineData(308)]
    public async Task SubmitUsageEventAsync_ServiceRedirects_NotFollowedAndThrowsNamingStatusAndHost(int status)
    {
        await using var h = await Harness.StartAsync();
        var usage = h.HourAgo();
        using var elsewhere = WireMockLoopback.Answering(AcceptedEcho(usage));
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(status, string.Empty, new Dictionary<string, string> { ["Location"] = elsewhere.LocalhostUrl("api/usageEvent?api-version=2018-08-31") }));

        var act = () => h.Client.SubmitUsageEventAsync(usage);

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.StatusCode.Should().Be(status);
        e.IsRetryable.Should().BeFalse();
        e.Message.Should().Contain(status.ToString()).And.Contain("redirect").And.Contain("localhost");
        elsewhere.LogEntries.Should().BeEmpty("the redirect is never followed");
        h.Emulator.Requests.Should().ContainSingle("a redirect is not retried");
    }

    [Theory]
    [InlineData(302)]
    [InlineData(307)]
    public async Task SubmitBatchUsageEventAsync_ServiceRedirects_NotFollowedAndThrows(int status)
    {
        using var elsewhere = WireMockLoopback.Answering();
        await using var h = await Harness.StartAsync();
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(status, string.Empty, new Dictionary<string, string> { ["Location"] = elsewhere.LocalhostUrl("api/batchUsageEvent") }));

        var act = () => h.Client.SubmitBatchUsageEventAsync(TestEvents.Distinct(h.Clock, 3));

        (await act.Should().ThrowAsync<MeteringException>()).Which.StatusCode.Should().Be(status);
        elsewhere.LogEntries.Should().BeEmpty();
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_ServiceRedirects_EventsAreErrorsNotDelivered()
    {
        using var elsewhere = WireMockLoopback.Answering();
        await using var h = await Harness.StartAsync(client: o => o.MaxConcurrency = 1);
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(308, string.Empty, new Dictionary<string, string> { ["Location"] = elsewhere.LocalhostUrl("api/batchUsageEvent") }));

        var bulk = await h.Client.SubmitUsageEventsAsync(TestEvents.Distinct(h.Clock, 30));

        bulk.Results.Take(25).Should().AllBeOfType<UsageEventResult.Error>().Which.Should().OnlyContain(r => r.Message.Contains("308"));
        bulk.Results.Skip(25).Should().OnlyContain(r => r.IsDelivered);
        elsewhere.LogEntries.Should().BeEmpty();
    }

    [Theory]
    [InlineData(302)]
    [InlineData(307)]
    public async Task SubmitUsageEventAsync_CallersHttpClientFollowsRedirect_NeverReportedAccepted(int status)
    {
        await using var h = await Harness.StartAsync();
        var usage = h.HourAgo();
        using var elsewhere = WireMockLoopback.Answering(AcceptedEcho(usage));
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(status, string.Empty, new Dictionary<string, string> { ["Location"] = elsewhere.LocalhostUrl("api/usageEvent?api-version=2018-08-31") }));
        using var followsRedirects = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true });
        var options = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = h.Clock };
        using var client = new MeteringClient(followsRedirects, h.Emulator.Credential, options);

        var act = () => client.SubmitUsageEventAsync(usage);

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.IsRetryable.Should().BeFalse();
        e.Message.Should().Contain("redirect").And.Contain("localhost");
        elsewhere.LogEntries.Should().ContainSingle("the caller's HttpClient did follow the redirect, and got the accepted-looking answer");
    }

    [Fact]
    public void CreateHandler_OwnHandler_DoesNotFollowRedirects()
    {
        using var handler = MeteringTransport.CreateHandler();

#if NETSTANDARD_BUILD
        ((HttpClientHandler)handler).AllowAutoRedirect.Should().BeFalse();
#else
        ((SocketsHttpHandler)handler).AllowAutoRedirect.Should().BeFalse();
#endif
    }

    internal static string AcceptedEcho(UsageEvent usage) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["usageEventId"] = Guid.NewGuid(),
        ["status"] = "Accepted",
        ["messageTime"] = "2026-11-20T10:17:24Z",
        ["resourceId"] = usage.ResourceId,
        ["quantity"] = usage.Quantity,
        ["dimension"] = usage.Dimension,
        ["effectiveStartTime"] = usage.EffectiveStartTime.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ"),
        ["planId"] = usage.PlanId,
    });
}
