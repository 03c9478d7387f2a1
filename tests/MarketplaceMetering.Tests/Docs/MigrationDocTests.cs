
namespace MarketplaceMetering.Tests.Docs;

/// <summary>docs/migration.md maps every public operation, type and exception of Microsoft's Microsoft.Marketplace.Metering client.</summary>
public class MigrationDocTests
{
    // The public surface of Microsoft.Marketplace.Metering at commit e288c1c352c0700150a29791ca461b89e2c83660 of
    // microsoft/commercial-marketplace-client-dotnet (src/Microsoft.Marketplace.Metering). The package is not in this
    // build's registry, so the list is kept here rather than read by reflection.
    public static TheoryData<string> OfficialSurface =>
    [
        "MarketplaceMeteringClient(TokenCredential", "MarketplaceMeteringClient(Uri endpoint", "MarketplaceMeteringClientOptions",
        "IMarketplaceMeteringClient", "IMeteringOperations", "MeteringOperations",
        "PostUsageEventAsync(", "PostUsageEvent(", "PostBatchUsageEventAsync(", "PostBatchUsageEvent(", "GetUsageEventAsync(", "GetUsageEvent(",
        "`UsageEvent`", "`BatchUsageEvent`", "`UsageEventOkResponse`", "`BatchUsageEventOkResponse`", "`UsageBatchEventOkMessage`",
        "`UsageEventStatusEnum`", "`UsageEventConflictResponse`", "`UsageEventConflictResponseAdditionalInfo`", "`UsageEventBadRequestResponse`",
        "`UsageEventBadRequestResponseDetail`", "`GetUsageEvent`", "`ReconStatusEnum`",
        "`RequestFailedException` with `Status` 400", "`RequestFailedException` with `Status` 409", "`RequestFailedException` with `Status` 403",
        "`RequestFailedException` for 429, 5xx", "`AuthenticationFailedException`", "`ArgumentNullException`",
    ];

    [Theory]
    [MemberData(nameof(OfficialSurface))]
    public void MigrationDoc_OfficialClientSurface_IsMapped(string member)
    {
        var text = File.ReadAllText(Path.Combine(Repository.Root(), "docs", "migration.md"));

        text.Should().Contain(member);
    }
}
