using MarketplaceMetering.Emulator.Wire;

namespace MarketplaceMetering.Emulator.Tests.Wire;

public sealed class WireTimeTests
{
    [Theory]
    [InlineData("2026-11-20T10:00:00Z", WireTimeStyle.UtcDesignator, "2026-11-20T10:00:00Z")]
    [InlineData("2026-11-20T10:00:00Z", WireTimeStyle.NoOffset, "2026-11-20T10:00:00")]
    [InlineData("2026-11-20T10:00:00.1230000Z", WireTimeStyle.UtcDesignator, "2026-11-20T10:00:00.123Z")]
    [InlineData("2026-11-20T12:00:00+02:00", WireTimeStyle.NoOffset, "2026-11-20T10:00:00")]
    [InlineData("2026-11-20T12:00:00+02:00", WireTimeStyle.UtcDesignator, "2026-11-20T10:00:00Z")]
    public void Format_UtcTime_WritesIsoInTheStyleAsked(string input, WireTimeStyle style, string expected)
    {
        WireTime.TryParse(input, out var time).Should().BeTrue();

        WireTime.Format(time, style).Should().Be(expected);
    }

    [Theory]
    [InlineData("2026-11-20T10:00:00")]
    [InlineData("2026-11-20T10:00:00Z")]
    [InlineData("2026-11-20T11:00:00+01:00")]
    public void TryParse_WithOrWithoutOffset_ReadsTheSameUtcInstant(string text)
    {
        WireTime.TryParse(text, out var time).Should().BeTrue();

        time.Should().Be(new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero));
        time.Offset.Should().Be(TimeSpan.Zero);
    }

    [Theory]
    [InlineData("")]
    [InlineData("tomorrow")]
    [InlineData(null)]
    public void TryParse_NotATime_ReturnsFalse(string? text) =>
        WireTime.TryParse(text, out _).Should().BeFalse();
}
