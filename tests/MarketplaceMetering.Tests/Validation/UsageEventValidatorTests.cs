namespace MarketplaceMetering.Tests.Validation;

public class UsageEventValidatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 10, 17, 23, TimeSpan.Zero);

    [Fact]
    public void ValidateSingle_EventWithinWindow_Passes()
    {
        var act = () => UsageEventValidator.ValidateSingle(TestEvents.At(Now.AddHours(-23).AddMinutes(-59)), Now, "usageEvent");

        act.Should().NotThrow();
    }

    [Fact]
    public void ValidateSingle_OlderThan24Hours_ThrowsNamingEffectiveStartTime()
    {
        var act = () => UsageEventValidator.ValidateSingle(TestEvents.At(Now.AddHours(-24).AddSeconds(-1)), Now, "usageEvent");

        var e = act.Should().Throw<ArgumentException>().Which;
        e.ParamName.Should().Be("usageEvent");
        e.Message.Should().Contain("EffectiveStartTime").And.Contain("24 hours");
    }

    [Fact]
    public void ValidateSingle_FutureBeyondSkew_ThrowsNamingEffectiveStartTime()
    {
        var act = () => UsageEventValidator.ValidateSingle(TestEvents.At(Now + UsageEventValidator.ClockSkewAllowance + TimeSpan.FromSeconds(1)), Now, "usageEvent");

        var e = act.Should().Throw<ArgumentException>().Which;
        e.ParamName.Should().Be("usageEvent");
        e.Message.Should().Contain("EffectiveStartTime").And.Contain("future");
    }

    [Fact]
    public void ValidateSingle_FutureWithinSkew_Passes()
    {
        var act = () => UsageEventValidator.ValidateSingle(TestEvents.At(Now.AddMinutes(4)), Now, "usageEvent");

        act.Should().NotThrow();
    }

    [Fact]
    public void ValidateSingle_Null_ThrowsArgumentNull()
    {
        var act = () => UsageEventValidator.ValidateSingle(null, Now, "usageEvent");

        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("usageEvent");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(26)]
    public void ValidateBatch_CountOutside1To25_Throws(int count)
    {
        var events = Enumerable.Range(0, count).Select(i => TestEvents.At(Now.AddHours(-1), resource: TestEvents.ResourceNumber(i))).ToList();

        var act = () => UsageEventValidator.ValidateBatch(events, Now, "usageEvents");

        var e = act.Should().Throw<ArgumentException>().Which;
        e.ParamName.Should().Be("usageEvents");
        e.Message.Should().Contain("1 to 25").And.Contain(count.ToString());
    }

    [Fact]
    public void ValidateBatch_25DistinctEvents_Passes()
    {
        var events = Enumerable.Range(0, 25).Select(i => TestEvents.At(Now.AddHours(-1), resource: TestEvents.ResourceNumber(i))).ToList();

        var act = () => UsageEventValidator.ValidateBatch(events, Now, "usageEvents");

        act.Should().NotThrow();
    }

    [Theory]
    [InlineData("th-TH")]
    [InlineData("ar-SA")]
    [InlineData("fi-FI")]
    public void ValidateBatch_SameHourUnderAnotherCulture_MessageNamesTheUtcHourAsTheWireWritesIt(string culture)
    {
        var events = new[] { TestEvents.At(Now.AddHours(-2).AddMinutes(5)), TestEvents.At(Now.AddHours(-2).AddMinutes(30), quantity: 9m) };
        var previous = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.GetCultureInfo(culture);
        try
        {
            var act = () => UsageEventValidator.ValidateBatch(events, Now, "usageEvents");

            act.Should().Throw<ArgumentException>().WithMessage("*/ 2026-11-20T08:00Z*", "the hour is named in the Gregorian, invariant form the wire uses, whatever the thread's culture");
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = previous;
        }
    }

    [Fact]
    public void ValidateBatch_SameResourceDimensionAndHour_ThrowsNamingBothIndices()
    {
        var events = new[]
        {
            TestEvents.At(Now.AddHours(-2).AddMinutes(5)),
            TestEvents.At(Now.AddHours(-1)),
            TestEvents.At(Now.AddHours(-2).AddMinutes(30), quantity: 9m),
        };

        var act = () => UsageEventValidator.ValidateBatch(events, Now, "usageEvents");

        act.Should().Throw<ArgumentException>().WithMessage("*usageEvents[0]*usageEvents[2]*same resource, dimension and hour*");
    }

    [Fact]
    public void ValidateBatch_SameHourDimensionDiffersOnlyInCase_Throws()
    {
        var events = new[] { TestEvents.At(Now.AddHours(-1), dimension: "Dim1"), TestEvents.At(Now.AddHours(-1), dimension: "dim1") };

        var act = () => UsageEventValidator.ValidateBatch(events, Now, "usageEvents");

        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void ValidateBatch_SameResourceDifferentHourOrDimension_Passes()
    {
        var events = new[]
        {
            TestEvents.At(Now.AddHours(-1)),
            TestEvents.At(Now.AddHours(-2)),
            TestEvents.At(Now.AddHours(-1), dimension: "dim2"),
        };

        var act = () => UsageEventValidator.ValidateBatch(events, Now, "usageEvents");

        act.Should().NotThrow();
    }

    [Fact]
    public void ValidateBatch_NullElement_ThrowsNamingIndex()
    {
        var events = new UsageEvent?[] { TestEvents.At(Now.AddHours(-1)), null };

        var act = () => UsageEventValidator.ValidateBatch(events, Now, "usageEvents");

        act.Should().Throw<ArgumentException>().WithMessage("*usageEvents[1] is null*");
    }

    [Fact]
    public void ValidateBatch_OneExpiredEvent_ThrowsNamingItsIndex()
    {
        var events = new[] { TestEvents.At(Now.AddHours(-1)), TestEvents.At(Now.AddHours(-30), resource: TestEvents.ResourceNumber(1)) };

        var act = () => UsageEventValidator.ValidateBatch(events, Now, "usageEvents");

        act.Should().Throw<ArgumentException>().WithMessage("*usageEvents[1]*EffectiveStartTime*");
    }

    [Fact]
    public void Deadline_IsEarliestEventPlus24HoursLessMargin()
    {
        var events = new[] { TestEvents.At(Now.AddHours(-1)), TestEvents.At(Now.AddHours(-5), resource: TestEvents.ResourceNumber(1)) };

        UsageEventValidator.Deadline(events).Should().Be(Now.AddHours(-5) + TimeSpan.FromHours(24) - UsageEventValidator.DeadlineSafetyMargin);
    }
}
