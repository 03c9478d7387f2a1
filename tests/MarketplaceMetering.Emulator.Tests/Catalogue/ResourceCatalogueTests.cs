using MarketplaceMetering.Emulator.Tests.TestSupport;
using static MarketplaceMetering.Emulator.Tests.TestSupport.EventJson;

namespace MarketplaceMetering.Emulator.Tests.Catalogue;

public sealed class ResourceCatalogueTests
{
    private static readonly Guid AppUsageId = Guid.Parse("7e57a99e-0000-4000-8000-0000000000aa");

    [Fact]
    public async Task PostUsageEvent_ResourceNotInCatalogue_Returns400ResourceNotFound()
    {
        await using var host = await StartWithCatalogueAsync();

        var byId = await host.PostEventAsync(Event(host.Now, resourceId: Guid.NewGuid()));
        var byUri = await host.PostEventAsync(Event(host.Now, resourceUri: AppUri + "-unknown"));

        byId.Status.Should().Be(400);
        Api.UsageEventEndpointTests.AssertServiceError(byId, "ResourceNotFound", "resourceId");
        byUri.Status.Should().Be(400);
        Api.UsageEventEndpointTests.AssertServiceError(byUri, "ResourceNotFound", "resourceUri");
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Theory]
    [InlineData(EmulatedResourceStatus.PendingFulfillmentStart)]
    [InlineData(EmulatedResourceStatus.Suspended)]
    [InlineData(EmulatedResourceStatus.Unsubscribed)]
    public async Task PostUsageEvent_ResourceNotSubscribed_Returns400ResourceNotActive(EmulatedResourceStatus status)
    {
        await using var host = await TestEmulator.StartAsync(options => options.Resources.Add(
            new EmulatedResource { ResourceId = ResourceA, PlanId = "plan1", Dimensions = ["dim1"], Status = status }));

        var answer = await host.PostEventAsync(Event(host.Now));

        answer.Status.Should().Be(400);
        Api.UsageEventEndpointTests.AssertServiceError(answer, "ResourceNotActive", "resourceId");
        answer.Json.GetProperty("details")[0].GetProperty("message").GetString().Should().Contain(status.ToString());
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task PostUsageEvent_DimensionNotInPlan_Returns400InvalidDimension()
    {
        await using var host = await StartWithCatalogueAsync();

        var answer = await host.PostEventAsync(Event(host.Now, dimension: "gpu"));

        answer.Status.Should().Be(400);
        Api.UsageEventEndpointTests.AssertServiceError(answer, "InvalidDimension", "dimension");
    }

    [Fact]
    public async Task PostUsageEvent_DimensionInOtherLetterCase_IsAccepted()
    {
        await using var host = await StartWithCatalogueAsync();

        var answer = await host.PostEventAsync(Event(host.Now, dimension: "DIM1"));

        answer.Status.Should().Be(200);
    }

    [Fact]
    public async Task PostUsageEvent_PlanIdDiffersFromCatalogue_Returns400BadArgument()
    {
        await using var host = await StartWithCatalogueAsync();

        var answer = await host.PostEventAsync(Event(host.Now, planId: "plan2"));

        answer.Status.Should().Be(400);
        Api.UsageEventEndpointTests.AssertServiceError(answer, "BadArgument", "planId");
    }

    [Fact]
    public async Task PostUsageEvent_ManagedAppByUri_AnswersTheCatalogueResourceIdAndUri()
    {
        await using var host = await StartWithCatalogueAsync();

        var answer = await host.PostEventAsync(Event(host.Now, resourceUri: AppUri.ToLowerInvariant(), planId: "app-plan", dimension: "cpu"));

        answer.Status.Should().Be(200);
        answer.Json.GetProperty("resourceId").GetGuid().Should().Be(AppUsageId);
        answer.Json.GetProperty("resourceUri").GetString().Should().Be(AppUri);
        host.Emulator.Ledger.Entries.Single().Should().Match<LedgerEntry>(e => e.ResourceId == AppUsageId && e.ResourceUri == AppUri);
    }

    [Fact]
    public async Task PostUsageEvent_ManagedAppByIdThenByUri_IsTheSameResource()
    {
        await using var host = await StartWithCatalogueAsync();

        var byId = await host.PostEventAsync(Event(host.Now, resourceId: AppUsageId, planId: "app-plan", dimension: "cpu"));
        var byUri = await host.PostEventAsync(Event(host.Now, resourceUri: AppUri, planId: "app-plan", dimension: "cpu"));

        byId.Status.Should().Be(200);
        byId.Json.GetProperty("resourceUri").GetString().Should().Be(AppUri);
        byUri.Status.Should().Be(409);
    }

    [Fact]
    public async Task PostUsageEvent_SaaSResourceInCatalogue_AnswersSynthesizedUri()
    {
        await using var host = await StartWithCatalogueAsync();

        var answer = await host.PostEventAsync(Event(host.Now));

        answer.Json.GetProperty("resourceUri").GetString().Should()
            .Be($"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator/providers/Microsoft.SaaS/resources/{ResourceA}");
    }

    [Fact]
    public async Task SetResourceStatus_AtRunTime_ChangesTheAnswer()
    {
        await using var host = await StartWithCatalogueAsync();

        host.Emulator.SetResourceStatus(ResourceA, EmulatedResourceStatus.Suspended);
        var suspended = await host.PostEventAsync(Event(host.Now));
        host.Emulator.SetResourceStatus(ResourceA, EmulatedResourceStatus.Subscribed);
        var subscribed = await host.PostEventAsync(Event(host.Now));

        suspended.Status.Should().Be(400);
        suspended.Json.GetProperty("details")[0].GetProperty("code").GetString().Should().Be("ResourceNotActive");
        subscribed.Status.Should().Be(200);
    }

    [Fact]
    public async Task SetResourceStatus_ResourceNotInCatalogue_Throws()
    {
        await using var host = await StartWithCatalogueAsync();

        var act = () => host.Emulator.SetResourceStatus(Guid.NewGuid(), EmulatedResourceStatus.Suspended);

        act.Should().Throw<ArgumentException>().WithParameterName("resourceId");
    }

    [Fact]
    public async Task SetResourceStatus_OpenCatalogue_AppliesToThatResourceOnly()
    {
        await using var host = await TestEmulator.StartAsync();

        host.Emulator.SetResourceStatus(ResourceB, EmulatedResourceStatus.Unsubscribed);

        (await host.PostEventAsync(Event(host.Now, resourceId: ResourceB))).Json.GetProperty("details")[0].GetProperty("code").GetString().Should().Be("ResourceNotActive");
        (await host.PostEventAsync(Event(host.Now, resourceId: ResourceA))).Status.Should().Be(200);
    }

    [Fact]
    public async Task PostUsageEvent_OpenCatalogue_AcceptsAnyPlanAndDimension()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostEventAsync(Event(host.Now, resourceId: Guid.NewGuid(), planId: "any-plan", dimension: "any-dimension"));

        answer.Status.Should().Be(200);
    }

    [Fact]
    public async Task PostUsageEvent_OpenCatalogueAllZeroResourceId_Returns400ResourceNotFound()
    {
        await using var host = await TestEmulator.StartAsync();

        // Guid.Empty is what an id left unset serializes as: no marketplace resource has it, so it must not be billed.
        var single = await host.PostEventAsync(Event(host.Now, resourceId: Guid.Empty));
        var batch = await host.PostBatchAsync(Batch(Event(host.Now, resourceId: Guid.Empty)));

        single.Status.Should().Be(400);
        Api.UsageEventEndpointTests.AssertServiceError(single, "ResourceNotFound", "resourceId");
        batch.Json.GetProperty("result")[0].GetProperty("status").GetString().Should().Be("ResourceNotFound");
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    private static Task<TestEmulator> StartWithCatalogueAsync() => TestEmulator.StartAsync(options =>
    {
        options.Resources.Add(new EmulatedResource { ResourceId = ResourceA, PlanId = "plan1", Dimensions = ["dim1", "dim2"] });
        options.Resources.Add(new EmulatedResource { ResourceId = AppUsageId, ResourceUri = AppUri, PlanId = "app-plan", Dimensions = ["cpu"] });
    });
}
