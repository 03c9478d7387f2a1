using System.Text;
using MarketplaceMetering.Serialization;

namespace MarketplaceMetering.Tests.Serialization;

public class WireFormatTests
{
    [Theory]
    [InlineData("2021-12-13T20:00:00", "2021-12-13T20:00:00Z")]
    [InlineData("2021-12-13T20:00:00Z", "2021-12-13T20:00:00Z")]
    [InlineData("2021-12-13T22:00:00+02:00", "2021-12-13T20:00:00Z")]
    [InlineData("2021-12-13T20:00:00.1234567", "2021-12-13T20:00:00.1234567Z")]
    public void ParseTime_WithOrWithoutOffset_ReadsUtc(string text, string expectedUtc)
    {
        var value = WireFormat.ParseTime(text);

        value.Should().NotBeNull();
        value!.Value.Offset.Should().Be(TimeSpan.Zero);
        value.Value.Should().Be(DateTimeOffset.Parse(expectedUtc));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("20:00:00")]
    [InlineData("8:00:00 PM")]
    [InlineData("2021-12-13")]
    [InlineData("2021-12-13T20:00")]
    [InlineData("2021-12-13T20:00Z")]
    [InlineData("2021-12-13 20:00:00")]
    [InlineData("2021-12-13t20:00:00z")]
    [InlineData(" 2021-12-13T20:00:00Z")]
    [InlineData("2021-12-13T20:00:00Z ")]
    [InlineData("2021-12-13T20:00:00.")]
    [InlineData("2021-12-13T20:00:00+02")]
    [InlineData("2021-12-13T20:00:00+0200")]
    [InlineData("2021-12-13T24:00:00")]
    [InlineData("2021-12-13T23:59:60Z")]
    [InlineData("2021-02-30T20:00:00Z")]
    [InlineData("2021-12-13T20:00:00+15:00")]
    [InlineData("12/13/2021 20:00:00")]
    [InlineData("2021-W50-1T20:00:00")]
    [InlineData("2021-347T20:00:00")]
    [InlineData("２０２１-12-13T20:00:00")]
    public void ParseTime_NotATime_ReturnsNull(string? text) => WireFormat.ParseTime(text).Should().BeNull();

    [Theory]
    [InlineData(9.1234567890123461, "9.123456789012346")]
    [InlineData(5.0, "5")]
    [InlineData(0.1, "0.1")]
    public void ToDecimal_LongDouble_ReadsShortestRoundTrip(double value, string expected) =>
        WireFormat.ToDecimal(value).Should().Be(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));

    [Theory]
    [InlineData(1e300)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void ToDecimal_OutOfRange_ReturnsNull(double value) => WireFormat.ToDecimal(value).Should().BeNull();

    [Fact]
    public void Excerpt_LongBody_IsShortSingleLine()
    {
        var body = Encoding.UTF8.GetBytes("<html>\n<body>" + new string('x', 5000) + "</body></html>");

        var excerpt = WireFormat.Excerpt(body, SecretRedactor.Shapeless);

        excerpt.Length.Should().BeLessThanOrEqualTo(201);
        excerpt.Should().NotContain("\n").And.StartWith("<html> <body>").And.EndWith("…");
    }

    [Theory]
    [InlineData("\u202E")] // right-to-left override
    [InlineData("\u2066")] // left-to-right isolate
    [InlineData("\u200F")] // right-to-left mark
    [InlineData("\u061C")] // Arabic letter mark
    public void SafeText_BidirectionalFormattingCharacter_IsASpace(string bidi)
    {
        // Shown in a log viewer or a terminal, it would reorder what follows: "quantity 10" could read as "01 ytitnauq".
        var text = "Accepted" + bidi + "quantity 10";

        var safe = WireFormat.SafeText(text, SecretRedactor.Shapeless, 200);

        safe.Should().Be("Accepted quantity 10");
    }

    [Fact]
    public void Excerpt_BodyEchoingAToken_HidesIt()
    {
        const string jwt = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiIyMGU5NDBiMyJ9.c2lnbmF0dXJl";
        var body = Encoding.UTF8.GetBytes("{\"message\":\"bad token " + jwt + "\", \"h\":\"Bearer abc.def-secret\"}");

        var excerpt = WireFormat.Excerpt(body, SecretRedactor.Shapeless);

        excerpt.Should().NotContain(jwt).And.NotContain("abc.def-secret").And.Contain("***");
    }

    [Fact]
    public void Excerpt_SecretStraddlingTheCut_IsMaskedNotHalfShown()
    {
        const string secret = "0123456789-opaque-secret-value-abcdefghij";
        var redactor = new SecretRedactor([secret]);
        var body = Encoding.UTF8.GetBytes(new string('x', 190) + secret + new string('y', 100));

        var excerpt = WireFormat.Excerpt(body, redactor);

        excerpt.Should().NotContain(secret.Substring(0, 10));
    }

    [Theory]
    [InlineData(9.1234567890123461, "9.123456789012346")]
    [InlineData(0.1, "0.1")]
    [InlineData(0.30000000000000004, "0.30000000000000004")]
    [InlineData(1e21, "1E+21")]
    [InlineData(123456789.12345679, "123456789.12345679")]
    public void ShortestRoundTrip_AnyDouble_IsTheShortestTextThatReadsBack(double value, string expected)
    {
        var text = WireFormat.ShortestRoundTrip(value);

        text.Should().Be(expected);
        double.Parse(text, System.Globalization.CultureInfo.InvariantCulture).Should().Be(value);
    }
}
