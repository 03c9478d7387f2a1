using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MarketplaceMetering.Tests;

/// <summary>
/// The documented 400 names the field only in its <c>details</c>, under <c>"One or more errors have occurred."</c> and
/// <c>"target": "usageEventRequest"</c>: the caller still sees which field and why, over real HTTP.
/// </summary>
public class MeteringClientBadRequestTests
{
    // The documented 400 for POST /api/usageEvent without a resourceId (Microsoft Learn, "Marketplace metered billing APIs").
    private const string DocumentedMissingResourceId = """
        {"message":"One or more errors have occurred.","target":"usageEventRequest",
         "details":[{"message":"The resourceId is required.","target":"ResourceId","code":"BadArgument"}],"code":"BadArgument"}
        """;

    private static readonly Guid Active = Guid.Parse("aaaaaaaa-1111-4111-8111-000000000001");

    [Fact]
    public async Task SubmitUsageEventAsync_Documented400_BadArgumentNamesTheFieldAndItsMessage()
    {
        using var server = Canned("/api/usageEvent", 400, DocumentedMissingResourceId);
        using var client = server.ClientWithoutRetries();

        var result = await client.SubmitUsageEventAsync(TestEvents.At(TestClock.DefaultStart.AddMinutes(-30)));

        var bad = result.Should().BeOfType<UsageEventResult.BadArgument>().Subject;
        bad.Code.Should().Be("BadArgument");
        bad.Target.Should().Be("ResourceId");
        bad.Message.Should().Be("The resourceId is required.");
        bad.Details.Should().Equal(new MeteringErrorDetail("BadArgument", "The resourceId is required.", "ResourceId"));
    }

    [Fact]
    public async Task SubmitBatchUsageEventAsync_Documented400_ThrowsNamingTheFieldAndItsMessage()
    {
        using var server = Canned("/api/batchUsageEvent", 400, DocumentedMissingResourceId);
        using var client = server.ClientWithoutRetries();

        var act = () => client.SubmitBatchUsageEventAsync([TestEvents.At(TestClock.DefaultStart.AddMinutes(-30))]);

        var thrown = (await act.Should().ThrowExactlyAsync<MeteringException>()).Which;
        thrown.StatusCode.Should().Be(400);
        thrown.ErrorCode.Should().Be("BadArgument");
        thrown.Message.Should().Contain("'ResourceId': 'The resourceId is required.'");
    }

    [Fact]
    public async Task SubmitUsageEventAsync_EmulatorRefusesThePlan_BadArgumentNamesPlanIdAndTheEmulatorsMessage()
    {
        await using var h = await Harness.StartAsync(emulator: o =>
            o.Resources.Add(new EmulatedResource { ResourceId = Active, PlanId = "plan1", Dimensions = ["dim1"] }));

        var result = await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: Active, plan: "plan2"));

        var bad = result.Should().BeOfType<UsageEventResult.BadArgument>().Subject;
        bad.Code.Should().Be("BadArgument");
        bad.Target.Should().Be("planId");
        bad.Message.Should().Be("The usageEvent.planId does not match the resource's plan.");
        h.Emulator.Ledger.Count.Should().Be(0);
    }

    private static WireMockServer Canned(string path, int status, string body)
    {
        var server = WireMockLoopback.Start();
        server.Given(Request.Create().WithPath(path).UsingPost())
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body));
        return server;
    }
}
