namespace MarketplaceMetering.Tests.Pipeline;

/// <summary>
/// Every bad setting is refused in the constructor, in the one <see cref="ArgumentException"/> that lists them all
/// (review of the core, item 8): no Polly exception escapes, nothing fails after a request was sent, and an endpoint
/// that would silently produce a wrong URL is refused.
/// </summary>
public class OptionChecksTests
{
    private static readonly Azure.Core.TokenCredential Credential = new CountingCredential("options-token", TimeProvider.System);

    public static TheoryData<string, Action<MeteringClientOptions>> BadSettings => new()
    {
        { "NetworkTimeout", o => o.NetworkTimeout = TimeSpan.FromMilliseconds(5) },
        { "NetworkTimeout", o => o.NetworkTimeout = TimeSpan.FromDays(2) },
        { "NetworkTimeout", o => o.NetworkTimeout = TimeSpan.Zero },
        { "Retry.Delay", o => { o.Retry.Delay = TimeSpan.MaxValue; o.Retry.MaxDelay = TimeSpan.MaxValue; } },
        { "Retry.MaxDelay", o => o.Retry.MaxDelay = TimeSpan.FromDays(3) },
        { "Endpoint", o => o.Endpoint = new Uri("https://marketplaceapi.microsoft.com/?x=1") },
        { "Endpoint", o => o.Endpoint = new Uri("https://marketplaceapi.microsoft.com/#frag") },
        { "Endpoint", o => o.Endpoint = new Uri("https://user:password@marketplaceapi.microsoft.com/") },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void Constructor_BadSetting_ThrowsArgumentExceptionNamingIt(string setting, Action<MeteringClientOptions> configure)
    {
        var options = new MeteringClientOptions();
        configure(options);

        var act = () => new MeteringClient(Credential, options);

        act.Should().ThrowExactly<ArgumentException>().Which.Message.Should().Contain(setting).And.Contain("options are not valid");
    }

    [Fact]
    public void Constructor_SeveralBadSettings_OneExceptionListsEveryOne()
    {
        var options = new MeteringClientOptions { NetworkTimeout = TimeSpan.FromMilliseconds(5), Endpoint = new Uri("https://marketplaceapi.microsoft.com/?x=1"), MaxConcurrency = 0 };
        options.Retry.Delay = TimeSpan.MaxValue;

        var act = () => new MeteringClient(Credential, options);

        var message = act.Should().ThrowExactly<ArgumentException>().Which.Message;
        message.Should().Contain("NetworkTimeout").And.Contain("Retry.Delay").And.Contain("Endpoint").And.Contain("MaxConcurrency");
    }

    [Fact]
    public async Task Constructor_RetryDelayMaxValue_NothingIsEverSent()
    {
        await using var h = await Harness.StartAsync();
        var options = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint };
        options.Retry.Delay = TimeSpan.MaxValue;
        options.Retry.MaxDelay = TimeSpan.MaxValue;

        var act = () => new MeteringClient(h.Emulator.Credential, options);

        act.Should().ThrowExactly<ArgumentException>();
        h.Emulator.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData(10)]
    [InlineData(86_400_000)]
    public void Constructor_NetworkTimeoutAtTheLimits_IsAccepted(int milliseconds)
    {
        var options = new MeteringClientOptions { NetworkTimeout = TimeSpan.FromMilliseconds(milliseconds) };

        using var client = new MeteringClient(Credential, options);

        client.Endpoint.Should().Be(MeteringClientOptions.DefaultEndpoint);
    }

    [Fact]
    public void Constructor_EndpointWithPathPrefix_IsAcceptedAndKeptInTheUrl()
    {
        var options = new MeteringClientOptions { Endpoint = new Uri("https://gateway.example/metering/") };

        using var client = new MeteringClient(Credential, options);

        client.Endpoint.AbsoluteUri.Should().Be("https://gateway.example/metering/");
    }
}
