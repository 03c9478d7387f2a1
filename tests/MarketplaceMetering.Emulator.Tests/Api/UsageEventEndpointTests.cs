using System.Globalization;
using MarketplaceMetering.Emulator.Tests.TestSupport;
using static MarketplaceMetering.Emulator.Tests.TestSupport.EventJson;

namespace MarketplaceMetering.Emulator.Tests.Api;

public sealed class UsageEventEndpointTests
{
    private const string SyntheticSaaSUriPrefix = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/emulator/providers/Microsoft.SaaS/resources/";

    [Fact]
    public async Task PostUsageEvent_ValidEvent_Returns200AcceptedWithEveryField()
    {
        await using var host = await TestEmulator.StartAsync();
        var time = host.Now.AddMinutes(-30);

        var answer = await host.PostEventAsync(Event(time, quantity: "5"));

        answer.Status.Should().Be(200);
        var json = answer.Json;
        json.GetProperty("status").GetString().Should().Be("Accepted");
        json.GetProperty("usageEventId").GetGuid().Should().NotBeEmpty();
        json.GetProperty("messageTime").GetString().Should().Be("2026-11-20T10:17:23Z");
        json.GetProperty("resourceId").GetGuid().Should().Be(ResourceA);
        json.GetProperty("resourceUri").GetString().Should().Be(SyntheticSaaSUriPrefix + ResourceA);
        json.GetProperty("quantity").GetRawText().Should().Be("5.0");
        json.GetProperty("dimension").GetString().Should().Be("dim1");
        json.GetProperty("effectiveStartTime").GetString().Should().Be("2026-11-20T09:47:23Z");
        json.GetProperty("planId").GetString().Should().Be("plan1");

        var entry = host.Emulator.Ledger.Entries.Should().ContainSingle().Subject;
        entry.UsageEventId.Should().Be(json.GetProperty("usageEventId").GetGuid());
        entry.Should().BeEquivalentTo(new { ResourceId = ResourceA, ResourceUri = (string?)null, PlanId = "plan1", Dimension = "dim1", Quantity = 5m, EffectiveStartTime = time, MessageTime = host.Now });
    }

    [Fact]
    public async Task PostUsageEvent_DecimalQuantity_IsKeptExactly()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostEventAsync(Event(host.Now, quantity: "12.125"));

        answer.Json.GetProperty("quantity").GetRawText().Should().Be("12.125");
        host.Emulator.Ledger.Entries.Single().Quantity.Should().Be(12.125m);
    }

    [Fact]
    public async Task PostUsageEvent_SameResourceDimensionAndHour_Returns409WithOriginalIdAndQuantity()
    {
        await using var host = await TestEmulator.StartAsync();
        var first = await host.PostEventAsync(Event(host.Now.AddMinutes(-10), quantity: "5"));
        host.Time.Advance(TimeSpan.FromMinutes(1));

        var second = await host.PostEventAsync(Event(host.Now.AddMinutes(-2), quantity: "7.5", dimension: "DIM1"));

        second.Status.Should().Be(409);
        var json = second.Json;
        json.GetProperty("code").GetString().Should().Be("Conflict");
        json.GetProperty("message").GetString().Should().Be("This usage event already exist.");
        var original = json.GetProperty("additionalInfo").GetProperty("acceptedMessage");
        original.GetProperty("usageEventId").GetGuid().Should().Be(first.Json.GetProperty("usageEventId").GetGuid());
        original.GetProperty("status").GetString().Should().Be("Duplicate");
        original.GetProperty("quantity").GetRawText().Should().Be("5.0");
        original.GetProperty("messageTime").GetString().Should().Be("2026-11-20T10:17:23Z");
        original.GetProperty("effectiveStartTime").GetString().Should().Be("2026-11-20T10:07:23Z");
        original.GetProperty("dimension").GetString().Should().Be("dim1");
        original.GetProperty("resourceId").GetGuid().Should().Be(ResourceA);
        original.GetProperty("resourceUri").GetString().Should().Be(SyntheticSaaSUriPrefix + ResourceA);
        original.GetProperty("planId").GetString().Should().Be("plan1");
        host.Emulator.Ledger.Count.Should().Be(1);
    }

    [Fact]
    public async Task PostUsageEvent_HourBoundary_DeduplicatesPerUtcCalendarHour()
    {
        await using var host = await TestEmulator.StartAsync();
        host.Time.SetUtcNow(new DateTimeOffset(2026, 11, 20, 11, 30, 0, TimeSpan.Zero));
        var lastSecondOfTen = new DateTimeOffset(2026, 11, 20, 10, 59, 59, TimeSpan.Zero);
        var firstSecondOfEleven = new DateTimeOffset(2026, 11, 20, 11, 0, 0, TimeSpan.Zero);
        var startOfTen = new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);

        (await host.PostEventAsync(Event(lastSecondOfTen))).Status.Should().Be(200);
        (await host.PostEventAsync(Event(firstSecondOfEleven))).Status.Should().Be(200);
        (await host.PostEventAsync(Event(startOfTen))).Status.Should().Be(409);
        (await host.PostEventAsync(Event(firstSecondOfEleven.AddMinutes(29)))).Status.Should().Be(409);

        host.Emulator.Ledger.Entries.Select(e => e.EffectiveStartTime).Should().Equal(lastSecondOfTen, firstSecondOfEleven);
    }

    [Fact]
    public async Task PostUsageEvent_OtherDimensionOrResourceInSameHour_IsAccepted()
    {
        await using var host = await TestEmulator.StartAsync();

        (await host.PostEventAsync(Event(host.Now))).Status.Should().Be(200);
        (await host.PostEventAsync(Event(host.Now, dimension: "dim2"))).Status.Should().Be(200);
        (await host.PostEventAsync(Event(host.Now, resourceId: ResourceB))).Status.Should().Be(200);

        host.Emulator.Ledger.Count.Should().Be(3);
    }

    [Fact]
    public async Task PostUsageEvent_ExactlyTwentyFourHoursOldOrNow_IsAccepted()
    {
        await using var host = await TestEmulator.StartAsync();

        (await host.PostEventAsync(Event(host.Now.AddHours(-24)))).Status.Should().Be(200);
        (await host.PostEventAsync(Event(host.Now, dimension: "dim2"))).Status.Should().Be(200);
    }

    [Theory]
    [InlineData(-24 * 3600 - 1)]
    [InlineData(-3 * 24 * 3600)]
    [InlineData(1)]
    [InlineData(3600)]
    public async Task PostUsageEvent_OutsideTheWindow_Returns400ExpiredShape(int secondsFromNow)
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostEventAsync(Event(host.Now.AddSeconds(secondsFromNow)));

        answer.Status.Should().Be(400);
        var json = answer.Json;
        json.GetProperty("code").GetString().Should().Be("BadArgument");
        json.GetProperty("message").GetString().Should().Be("One or more errors have occurred.");
        json.GetProperty("target").GetString().Should().Be("usageEventRequest");
        var detail = json.GetProperty("details").EnumerateArray().Should().ContainSingle().Subject;
        detail.GetProperty("code").GetString().Should().Be("BadArgument");
        detail.GetProperty("target").GetString().Should().Be("effectiveStartTime");
        detail.GetProperty("message").GetString().Should().Be("The usageEvent.effectiveStartTime has expired or is in future.");
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task PostUsageEvent_ClockAdvancedPastTheWindow_ExpiresAnEventThatWasInside()
    {
        await using var host = await TestEmulator.StartAsync();
        var time = host.Now.AddHours(-23);
        (await host.PostEventAsync(Event(time))).Status.Should().Be(200);

        host.Time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var answer = await host.PostEventAsync(Event(time, dimension: "dim2"));

        answer.Status.Should().Be(400);
        answer.Json.GetProperty("details")[0].GetProperty("target").GetString().Should().Be("effectiveStartTime");
    }

    [Fact]
    public async Task PostUsageEvent_FutureEventOnceTheClockCatchesUp_IsAccepted()
    {
        await using var host = await TestEmulator.StartAsync();
        var time = host.Now.AddMinutes(5);
        (await host.PostEventAsync(Event(time))).Status.Should().Be(400);

        host.Time.Advance(TimeSpan.FromMinutes(5));

        (await host.PostEventAsync(Event(time))).Status.Should().Be(200);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("-0.5")]
    public async Task PostUsageEvent_QuantityNotPositive_Returns400InvalidQuantity(string quantity)
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostEventAsync(Event(host.Now, quantity: quantity));

        answer.Status.Should().Be(400);
        AssertServiceError(answer, "InvalidQuantity", "quantity");
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Theory]
    [InlineData("9.123456789012346", "9.1234567890123461")]
    [InlineData("0.12345678901234567890", "0.12345678901234568")]
    [InlineData("123456789.123456789", "123456789.12345679")]
    [InlineData("0.1", "0.1")]
    [InlineData("1.50", "1.5")]
    [InlineData("7", "7.0")]
    public async Task PostUsageEvent_Quantity_IsHeldAndEchoedAsTheServicesDouble(string sent, string held)
    {
        // The service keeps the nearest double and writes it back (DESIGN.md: "quantities may come back as long doubles
        // (9.1234567890123461)"); code that compares the echo with what it sent must see here what it will see there.
        await using var host = await TestEmulator.StartAsync();

        var accepted = await host.PostEventAsync(Event(host.Now.AddMinutes(-5), quantity: sent));
        var conflict = await host.PostEventAsync(Event(host.Now, quantity: sent));
        var batch = await host.PostBatchAsync(Batch(Event(host.Now, quantity: sent), Event(host.Now, dimension: "dim2", quantity: sent)));

        accepted.Json.GetProperty("quantity").GetRawText().Should().Be(held);
        conflict.Json.GetProperty("additionalInfo").GetProperty("acceptedMessage").GetProperty("quantity").GetRawText().Should().Be(held);
        var items = batch.Json.GetProperty("result").EnumerateArray().ToList();
        items.Select(i => i.GetProperty("quantity").GetRawText()).Should().Equal(held, held);
        host.Emulator.Ledger.Entries.Select(e => e.Quantity).Should().Equal(
            decimal.Parse(held, CultureInfo.InvariantCulture), decimal.Parse(held, CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("79228162514264337593543950334")]
    [InlineData("79228162514264337593543950335")]
    public async Task PostUsageEvent_QuantityWhoseDoubleIsPastTheDecimalRange_IsAcceptedAndEchoedAsTheSameDouble(string sent)
    {
        // The nearest double to these is 2^96, just past decimal.MaxValue: the ledger keeps the decimal sent instead.
        await using var host = await TestEmulator.StartAsync();

        var accepted = await host.PostEventAsync(Event(host.Now.AddMinutes(-5), quantity: sent));

        accepted.Status.Should().Be(200);
        accepted.Json.GetProperty("quantity").GetDouble().Should().Be(double.Parse(sent, CultureInfo.InvariantCulture));
        host.Emulator.Ledger.Entries.Single().Quantity.Should().Be(decimal.Parse(sent, CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("1e-30")]
    [InlineData("0.00000000000000000000000000001")]
    [InlineData("1e30")]
    public async Task PostUsageEvent_PositiveQuantityADecimalCannotHold_Returns400OutOfRangeNotInvalidQuantity(string quantity)
    {
        // Above 0, so "must be greater than 0" (InvalidQuantity) would be false; the emulator's decimal ledger cannot
        // hold it, and says so.
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostEventAsync(Event(host.Now, quantity: quantity));

        BadRequestShapeTests.AssertDocumentedBadRequest(answer, "BadArgument", "quantity")
            .GetProperty("message").GetString().Should().Contain("out of the range the emulator can record");
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Theory]
    [InlineData("0.0000000000000000000000000001", "0.0000000000000000000000000001")]
    [InlineData("79228162514264337593543950335", "79228162514264337593543950335")]
    [InlineData("7.922816251426434E+28", "79228162514264337593543950335")]
    [InlineData("79228162514264335000000000000", "79228162514264335000000000000")]
    public async Task PostUsageEvent_QuantityAtTheEdgesOfDecimal_IsAccepted(string quantity, string answered)
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostEventAsync(Event(host.Now, quantity: quantity));

        answer.Status.Should().Be(200);
        answer.Json.GetProperty("quantity").GetRawText().Should().Be(answered);
    }

    [Theory]
    [InlineData("noResource", "resourceId")]
    [InlineData("bothResources", "resourceUri")]
    [InlineData("noQuantity", "quantity")]
    [InlineData("noDimension", "dimension")]
    [InlineData("emptyDimension", "dimension")]
    [InlineData("noTime", "effectiveStartTime")]
    [InlineData("noPlan", "planId")]
    [InlineData("emptyPlan", "planId")]
    public async Task PostUsageEvent_MissingOrConflictingField_Returns400BadArgument(string shape, string target)
    {
        await using var host = await TestEmulator.StartAsync();
        var now = host.Now;
        var json = shape switch
        {
            "noResource" => Event(now, useResourceA: false),
            "bothResources" => Event(now, resourceId: ResourceA, resourceUri: AppUri),
            "noQuantity" => Event(now, quantity: null),
            "noDimension" => Event(now, dimension: null),
            "emptyDimension" => Event(now, dimension: ""),
            "noTime" => Event(null),
            "noPlan" => Event(now, planId: null),
            "emptyPlan" => Event(now, planId: " "),
            _ => throw new ArgumentOutOfRangeException(nameof(shape)),
        };

        var answer = await host.PostEventAsync(json);

        answer.Status.Should().Be(400);
        AssertServiceError(answer, "BadArgument", target);
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Theory]
    [InlineData("""{"resourceId":"5f5d2b4e-8a51-4bb0-9d0e-0a6c1f5e7a01","quantity":"abc","dimension":"dim1","effectiveStartTime":"2026-11-20T10:00:00Z","planId":"plan1"}""", "quantity")]
    [InlineData("""{"resourceId":"5f5d2b4e-8a51-4bb0-9d0e-0a6c1f5e7a01","quantity":true,"dimension":"dim1","effectiveStartTime":"2026-11-20T10:00:00Z","planId":"plan1"}""", "quantity")]
    [InlineData("""{"resourceId":"5f5d2b4e-8a51-4bb0-9d0e-0a6c1f5e7a01","quantity":1e400,"dimension":"dim1","effectiveStartTime":"2026-11-20T10:00:00Z","planId":"plan1"}""", "quantity")]
    [InlineData("""{"resourceId":"not-a-guid","quantity":1,"dimension":"dim1","effectiveStartTime":"2026-11-20T10:00:00Z","planId":"plan1"}""", "resourceId")]
    [InlineData("""{"resourceId":42,"quantity":1,"dimension":"dim1","effectiveStartTime":"2026-11-20T10:00:00Z","planId":"plan1"}""", "resourceId")]
    [InlineData("""{"resourceId":"5f5d2b4e-8a51-4bb0-9d0e-0a6c1f5e7a01","quantity":1,"dimension":{"a":1},"effectiveStartTime":"2026-11-20T10:00:00Z","planId":"plan1"}""", "dimension")]
    [InlineData("""{"resourceId":"5f5d2b4e-8a51-4bb0-9d0e-0a6c1f5e7a01","quantity":1,"dimension":"dim1","effectiveStartTime":"yesterday","planId":"plan1"}""", "effectiveStartTime")]
    [InlineData("""{"resourceId":"5f5d2b4e-8a51-4bb0-9d0e-0a6c1f5e7a01","quantity":1,"dimension":"dim1","effectiveStartTime":1732096800,"planId":"plan1"}""", "effectiveStartTime")]
    [InlineData("""{"resourceId":"5f5d2b4e-8a51-4bb0-9d0e-0a6c1f5e7a01","quantity":1,"dimension":"dim1","effectiveStartTime":"2026-11-20T10:00:00Z","planId":["plan1"]}""", "planId")]
    public async Task PostUsageEvent_ValueOfWrongTypeOrUnreadable_Returns400BadArgument(string json, string target)
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostEventAsync(json);

        answer.Status.Should().Be(400);
        AssertServiceError(answer, "BadArgument", target);
        host.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task PostUsageEvent_PropertyNamesInAnyCase_AreRead()
    {
        await using var host = await TestEmulator.StartAsync();
        var json = $$"""{"RESOURCEID":"{{ResourceA}}","Quantity":2,"DIMENSION":"dim1","EffectiveStartTime":"{{Iso(host.Now)}}","PlanID":"plan1"}""";

        var answer = await host.PostEventAsync(json);

        answer.Status.Should().Be(200);
        host.Emulator.Ledger.Entries.Single().Quantity.Should().Be(2m);
    }

    [Fact]
    public async Task PostUsageEvent_TimeWithoutOffset_IsReadAsUtc()
    {
        await using var host = await TestEmulator.StartAsync();
        var json = $$"""{"resourceId":"{{ResourceA}}","quantity":1,"dimension":"dim1","effectiveStartTime":"2026-11-20T10:05:00","planId":"plan1"}""";

        var answer = await host.PostEventAsync(json);

        answer.Status.Should().Be(200);
        answer.Json.GetProperty("effectiveStartTime").GetString().Should().Be("2026-11-20T10:05:00Z");
        host.Emulator.Ledger.Entries.Single().EffectiveStartTime.Should().Be(new DateTimeOffset(2026, 11, 20, 10, 5, 0, TimeSpan.Zero));
    }

    [Fact]
    public async Task PostUsageEvent_TimeWithOtherOffset_IsConvertedToUtc()
    {
        await using var host = await TestEmulator.StartAsync();
        var json = $$"""{"resourceId":"{{ResourceA}}","quantity":1,"dimension":"dim1","effectiveStartTime":"2026-11-20T12:05:00+02:00","planId":"plan1"}""";

        var answer = await host.PostEventAsync(json);

        answer.Json.GetProperty("effectiveStartTime").GetString().Should().Be("2026-11-20T10:05:00Z");
    }

    [Fact]
    public async Task PostUsageEvent_ResourceUriWithoutCatalogue_AnswersDerivedResourceIdAndBothFields()
    {
        await using var host = await TestEmulator.StartAsync();

        var answer = await host.PostEventAsync(Event(host.Now, resourceUri: AppUri));

        answer.Status.Should().Be(200);
        var resourceId = answer.Json.GetProperty("resourceId").GetGuid();
        resourceId.Should().NotBeEmpty().And.NotBe(ResourceA).And.NotBe(Guid.Parse("11111111-2222-3333-4444-555555555555"));
        answer.Json.GetProperty("resourceUri").GetString().Should().Be(AppUri);
        host.Emulator.Ledger.Entries.Single().Should().Match<LedgerEntry>(e => e.ResourceId == resourceId && e.ResourceUri == AppUri);

        // The same application in other letter case is the same resource: same id, and a duplicate in the same hour.
        var again = await host.PostEventAsync(Event(host.Now, resourceUri: AppUri.ToUpperInvariant()));
        again.Status.Should().Be(409);
        again.Json.GetProperty("additionalInfo").GetProperty("acceptedMessage").GetProperty("resourceId").GetGuid().Should().Be(resourceId);
    }

    [Fact]
    public async Task PostUsageEvent_TwoApplicationUris_GetDifferentResourceIds()
    {
        await using var host = await TestEmulator.StartAsync();

        var first = await host.PostEventAsync(Event(host.Now, resourceUri: AppUri));
        var second = await host.PostEventAsync(Event(host.Now, resourceUri: AppUri + "-2"));

        second.Status.Should().Be(200);
        second.Json.GetProperty("resourceId").GetGuid().Should().NotBe(first.Json.GetProperty("resourceId").GetGuid());
    }

    [Fact]
    public async Task PostUsageEvent_AppSentByUriThenByItsResourceId_ConflictRepeatsTheOriginalAnswer()
    {
        await using var host = await TestEmulator.StartAsync();
        var byUri = await host.PostEventAsync(Event(host.Now, resourceUri: AppUri));
        var resourceId = byUri.Json.GetProperty("resourceId").GetGuid();

        var byId = await host.PostEventAsync(Event(host.Now, resourceId: resourceId));
        var inBatch = await host.PostBatchAsync(Batch(Event(host.Now, resourceId: resourceId)));

        // acceptedMessage is the event as it was accepted: the application's URI, not one made up for a SaaS subscription.
        byId.Status.Should().Be(409);
        var original = byId.Json.GetProperty("additionalInfo").GetProperty("acceptedMessage");
        original.GetProperty("usageEventId").GetGuid().Should().Be(byUri.Json.GetProperty("usageEventId").GetGuid());
        original.GetProperty("resourceUri").GetString().Should().Be(AppUri);
        inBatch.Json.GetProperty("result")[0].GetProperty("error").GetProperty("additionalInfo").GetProperty("acceptedMessage")
            .GetProperty("resourceUri").GetString().Should().Be(AppUri);
    }

    /// <summary>A 400 of the documented shape whose one detail has <paramref name="code"/> and <paramref name="target"/>.</summary>
    internal static void AssertServiceError(ApiAnswer answer, string code, string target) =>
        BadRequestShapeTests.AssertDocumentedBadRequest(answer, code, target);
}
