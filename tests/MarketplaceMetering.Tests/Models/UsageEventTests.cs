namespace MarketplaceMetering.Tests.Models;

public class UsageEventTests
{
    private static readonly DateTimeOffset Time = new(2026, 11, 20, 9, 30, 14, TimeSpan.Zero);
    private const string Uri = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Solutions/applications/app1";

    [Fact]
    public void ForResourceId_ValidArguments_KeepsThemAndNoUri()
    {
        var e = UsageEvent.ForResourceId(TestEvents.Resource, "plan1", "dim1", 2.5m, Time);

        e.ResourceId.Should().Be(TestEvents.Resource);
        e.ResourceUri.Should().BeNull();
        e.PlanId.Should().Be("plan1");
        e.Dimension.Should().Be("dim1");
        e.Quantity.Should().Be(2.5m);
        e.EffectiveStartTime.Should().Be(Time);
    }

    [Fact]
    public void ForResourceUri_ValidArguments_KeepsUriAndNoId()
    {
        var e = UsageEvent.ForResourceUri(Uri, "plan1", "dim1", 1m, Time);

        e.ResourceUri.Should().Be(Uri);
        e.ResourceId.Should().BeNull();
    }

    [Fact]
    public void ForResourceId_TimeWithOffset_StoresUtc()
    {
        var local = new DateTimeOffset(2026, 11, 20, 11, 30, 0, TimeSpan.FromHours(2));

        var e = UsageEvent.ForResourceId(TestEvents.Resource, "plan1", "dim1", 1m, local);

        e.EffectiveStartTime.Offset.Should().Be(TimeSpan.Zero);
        e.EffectiveStartTime.UtcDateTime.Should().Be(new DateTime(2026, 11, 20, 9, 30, 0, DateTimeKind.Utc));
    }

    [Fact]
    public void ForResourceId_EmptyGuid_ThrowsNamingResourceId()
    {
        var act = () => UsageEvent.ForResourceId(Guid.Empty, "plan1", "dim1", 1m, Time);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("resourceId");
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not-a-resource-id")]
    [InlineData("https://management.azure.com/subscriptions/x")]
    [InlineData("/subscriptions/with space/x")]
    public void ForResourceUri_NotAnAzureResourceId_ThrowsNamingResourceUri(string uri)
    {
        var act = () => UsageEvent.ForResourceUri(uri, "plan1", "dim1", 1m, Time);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("resourceUri");
    }

    [Fact]
    public void ForResourceUri_Null_ThrowsNamingResourceUri()
    {
        var act = () => UsageEvent.ForResourceUri(null!, "plan1", "dim1", 1m, Time);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("resourceUri");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(-0.0001)]
    public void ForResourceId_QuantityNotPositive_ThrowsOutOfRangeNamingQuantity(decimal quantity)
    {
        var act = () => UsageEvent.ForResourceId(TestEvents.Resource, "plan1", "dim1", quantity, Time);

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("quantity");
    }

    [Fact]
    public void ForResourceId_SmallPositiveQuantity_IsAccepted()
    {
        UsageEvent.ForResourceId(TestEvents.Resource, "plan1", "dim1", 0.0001m, Time).Quantity.Should().Be(0.0001m);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void ForResourceId_EmptyPlan_ThrowsNamingPlanId(string? plan)
    {
        var act = () => UsageEvent.ForResourceId(TestEvents.Resource, plan!, "dim1", 1m, Time);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("planId");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("\t")]
    public void ForResourceUri_EmptyDimension_ThrowsNamingDimension(string? dimension)
    {
        var act = () => UsageEvent.ForResourceUri(Uri, "plan1", dimension!, 1m, Time);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("dimension");
    }

    /// <summary>
    /// JSON cannot carry a lone UTF-16 surrogate: the writer sends U+FFFD in its place, so the service records (and bills)
    /// another dimension or plan than the event's, and its echo never matches the event (an error, "sending it again
    /// is safe", and then a conflict). Refused when the event is made, naming the argument.
    /// </summary>
    [Theory]
    [InlineData("planId", 0xD800, "")]
    [InlineData("dimension", 0xDC00, "x")]
    [InlineData("dimension", 0xDBFF, "")]
    [InlineData("resourceUri", 0xD83D, "")]
    public void ForResourceUri_TextWithALoneSurrogate_ThrowsNamingTheArgument(string param, int surrogate, string after)
    {
        // Built here: an attribute argument cannot hold a lone surrogate (metadata stores it as U+FFFD).
        var lone = (char)surrogate + after;
        var act = () => UsageEvent.ForResourceUri(
            param == "resourceUri" ? Uri + lone : Uri,
            param == "planId" ? "plan" + lone : "plan1",
            param == "dimension" ? "dim" + lone : "dim1",
            1m,
            Time);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be(param);
    }

    [Fact]
    public void ForResourceId_TextWithSurrogatePairs_IsAccepted()
    {
        var e = UsageEvent.ForResourceId(TestEvents.Resource, "plan-\U0001F600", "dim-\U0001F4A1", 1m, Time);

        e.Dimension.Should().Be("dim-\U0001F4A1");
    }

    [Fact]
    public void Hour_IsTheUtcCalendarHour()
    {
        var e = UsageEvent.ForResourceId(TestEvents.Resource, "plan1", "dim1", 1m, new DateTimeOffset(2026, 11, 20, 11, 59, 59, TimeSpan.FromHours(2)));

        e.Hour.Should().Be(new DateTimeOffset(2026, 11, 20, 9, 0, 0, TimeSpan.Zero));
    }
}
