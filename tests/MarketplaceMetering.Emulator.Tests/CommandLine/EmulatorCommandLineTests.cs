using MarketplaceMetering.Emulator.CommandLine;

namespace MarketplaceMetering.Emulator.Tests.CommandLine;

public sealed class EmulatorCommandLineTests
{
    [Fact]
    public void Parse_NoArguments_UsesPort5080OnLoopbackWithAMadeUpToken()
    {
        var result = EmulatorCommandLine.Parse([]);

        result.Error.Should().BeNull();
        result.ShowHelp.Should().BeFalse();
        result.Arguments.Should().Be(new EmulatorArguments(5080, Token: null, AnyAddress: false, Seed: null, Https: false, WireTimeStyle.UtcDesignator));
        var options = result.Arguments!.ToOptions();
        options.UseHttps.Should().BeFalse();
        options.TimeStyle.Should().Be(WireTimeStyle.UtcDesignator);
    }

    [Theory]
    [InlineData("--port", "6000", "--token", "abc", "--any-address", "--seed", "-3", "--https", "--time-style", "no-offset")]
    [InlineData("--port=6000", "--token=abc", "--seed=-3", "--any-address", "--time-style=NO-OFFSET", "--https", null, null, null, null)]
    public void Parse_EveryOption_IsRead(string a, string b, string c, string d, string? e, string? f, string? g, string? h, string? i, string? j)
    {
        var args = new[] { a, b, c, d, e, f, g, h, i, j }.OfType<string>().ToArray();

        var result = EmulatorCommandLine.Parse(args);

        result.Arguments.Should().Be(new EmulatorArguments(6000, "abc", AnyAddress: true, Seed: -3, Https: true, WireTimeStyle.NoOffset));
        var options = result.Arguments!.ToOptions();
        options.Port.Should().Be(6000);
        options.Token.Should().Be("abc");
        options.ListenOnAnyAddress.Should().BeTrue();
        options.Seed.Should().Be(-3);
        options.UseHttps.Should().BeTrue();
        options.TimeStyle.Should().Be(WireTimeStyle.NoOffset);
    }

    [Theory]
    [InlineData("z", WireTimeStyle.UtcDesignator)]
    [InlineData("Z", WireTimeStyle.UtcDesignator)]
    [InlineData("no-offset", WireTimeStyle.NoOffset)]
    public void Parse_TimeStyle_MapsToTheOption(string value, WireTimeStyle expected)
    {
        var result = EmulatorCommandLine.Parse(["--time-style", value]);

        result.Arguments!.ToOptions().TimeStyle.Should().Be(expected);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("-?")]
    public void Parse_HelpFlag_AsksForHelp(string flag)
    {
        var result = EmulatorCommandLine.Parse(["--port", "1", flag]);

        result.ShowHelp.Should().BeTrue();
        result.Arguments.Should().BeNull();
    }

    [Theory]
    [InlineData("unknown argument", "--verbose")]
    [InlineData("unknown argument", "5080")]
    [InlineData("--port must be", "--port", "abc")]
    [InlineData("--port must be", "--port", "70000")]
    [InlineData("--port must be", "--port", "-1")]
    [InlineData("--port needs a value", "--port")]
    [InlineData("--port needs a value", "--port", "--any-address")]
    [InlineData("--seed must be", "--seed", "1.5")]
    [InlineData("--token must be", "--token", "a b")]
    [InlineData("--token must be", "--token=")]
    [InlineData("more than once", "--port", "1", "--port", "2")]
    [InlineData("takes no value", "--any-address=yes")]
    [InlineData("--https takes no value", "--https=true")]
    [InlineData("more than once", "--https", "--https")]
    [InlineData("--time-style must be z or no-offset", "--time-style", "local")]
    [InlineData("--time-style must be z or no-offset", "--time-style", "UtcDesignator")]
    [InlineData("--time-style needs a value", "--time-style")]
    public void Parse_BadArguments_ReturnsAClearError(string expected, params string[] args)
    {
        var result = EmulatorCommandLine.Parse(args);

        result.Arguments.Should().BeNull();
        result.ShowHelp.Should().BeFalse();
        result.Error.Should().Contain(expected);
    }
}
