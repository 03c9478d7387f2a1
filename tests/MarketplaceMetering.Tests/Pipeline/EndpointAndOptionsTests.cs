using System.Security.Authentication;

namespace MarketplaceMetering.Tests.Pipeline;

public class EndpointAndOptionsTests
{
    private static readonly CountingCredential Credential = new("token", TimeProvider.System);

    [Theory]
    [InlineData("https://marketplaceapi.microsoft.com")]
    [InlineData("https://example.test:8443/prefix/")]
    [InlineData("http://localhost:5080")]
    [InlineData("http://127.0.0.1:5080/")]
    [InlineData("http://[::1]:5080/")]
    [InlineData("http://127.0.0.2:5080/")]
    public void Constructor_HttpsOrLoopbackHttp_IsAccepted(string endpoint)
    {
        var options = new MeteringClientOptions { Endpoint = new Uri(endpoint) };

        using var client = new MeteringClient(Credential, options);

        client.Endpoint.Should().Be(new Uri(endpoint));
    }

    [Theory]
    [InlineData("http://marketplaceapi.microsoft.com")]
    [InlineData("http://10.0.0.5:5080")]
    [InlineData("http://localhost.evil.example")]
    [InlineData("ftp://localhost/")]
    public void Constructor_PlainHttpToRealHost_ThrowsArgumentException(string endpoint)
    {
        var options = new MeteringClientOptions { Endpoint = new Uri(endpoint) };

        var act = () => new MeteringClient(Credential, options);

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("https").And.Contain("loopback");
    }

    [Theory]
    [InlineData("https://meter:S3cr3t-Passw0rd@marketplaceapi.microsoft.com/?tenant=1")]
    [InlineData("https://meter:S3cr3t-Passw0rd@marketplaceapi.microsoft.com/#top")]
    [InlineData("http://meter:S3cr3t-Passw0rd@example.test/")]
    public void Constructor_EndpointWithPasswordAndAnotherProblem_MessageNamesTheUserInformationWithoutThePassword(string endpoint)
    {
        var options = new MeteringClientOptions { Endpoint = new Uri(endpoint) };

        var act = () => new MeteringClient(Credential, options);

        var message = act.Should().Throw<ArgumentException>().Which.Message;
        message.Should().Contain("Endpoint").And.Contain("user information");
        message.Should().NotContain("S3cr3t-Passw0rd");
    }

    [Fact]
    public void Constructor_CallerHttpClientWithPlainHttpToRealHost_ThrowsToo()
    {
        using var http = new HttpClient();
        var act = () => new MeteringClient(http, Credential, new MeteringClientOptions { Endpoint = new Uri("http://example.test") });

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("options");
    }

    [Fact]
    public void Constructor_SeveralBadOptions_OneExceptionListsThemAll()
    {
        var options = new MeteringClientOptions
        {
            Endpoint = new Uri("relative/path", UriKind.Relative),
            ApiVersion = " ",
            NetworkTimeout = TimeSpan.Zero,
            TimeProvider = null!,
        };
        options.Retry.MaxRetries = -1;
        options.Retry.Delay = TimeSpan.FromSeconds(10);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(1);

        var act = () => new MeteringClient(Credential, options);

        var e = act.Should().Throw<ArgumentException>().Which;
        e.ParamName.Should().Be("options");
        e.Message.Should().Contain("Endpoint").And.Contain("ApiVersion").And.Contain("NetworkTimeout").And.Contain("TimeProvider")
            .And.Contain("Retry.MaxRetries").And.Contain("Retry.MaxDelay");
    }

    [Fact]
    public void Constructor_NullCredential_ThrowsArgumentNull()
    {
        var act = () => new MeteringClient(null!);

        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("credential");
    }

    [Fact]
    public void Constructor_NullHttpClient_ThrowsArgumentNull()
    {
        var act = () => new MeteringClient((HttpClient)null!, Credential);

        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("httpClient");
    }

    [Fact]
    public void Options_Defaults_AreTheDocumentedOnes()
    {
        var options = new MeteringClientOptions();

        options.Endpoint.Should().Be(new Uri("https://marketplaceapi.microsoft.com"));
        options.ApiVersion.Should().Be("2018-08-31");
        options.Retry.MaxRetries.Should().Be(3);
        options.Retry.Delay.Should().Be(TimeSpan.FromSeconds(0.8));
        options.Retry.MaxDelay.Should().Be(TimeSpan.FromSeconds(30));
        options.NetworkTimeout.Should().Be(TimeSpan.FromSeconds(100));
        options.TimeProvider.Should().BeSameAs(TimeProvider.System);
        options.LoggerFactory.Should().BeNull();
        MeteringClient.Scope.Should().Be("20e940b3-4c77-4b0b-9a53-9e16a1b010a7/.default");
    }

    [Fact]
    public void Constructor_OptionsChangedAfterwards_DoNotAffectTheClient()
    {
        var options = new MeteringClientOptions { Endpoint = new Uri("http://127.0.0.1:1/") };
        using var client = new MeteringClient(Credential, options);

        options.Endpoint = new Uri("http://127.0.0.1:2/");

        client.Endpoint.Should().Be(new Uri("http://127.0.0.1:1/"));
    }

    [Fact]
    public void CreateHandler_AllowsOnlyTls12AndTls13()
    {
        using var handler = MeteringTransport.CreateHandler();

        var enabled = MeteringTransport.EnabledProtocols(handler);

        enabled.Should().Be(SslProtocols.Tls12 | (SslProtocols)12288);
#pragma warning disable CS0618, SYSLIB0039, CA5397 // the point is to assert the old protocols are off
        enabled.HasFlag(SslProtocols.Tls).Should().BeFalse();
        enabled.HasFlag(SslProtocols.Tls11).Should().BeFalse();
        enabled.HasFlag(SslProtocols.Ssl3).Should().BeFalse();
#pragma warning restore CS0618, SYSLIB0039, CA5397
    }

    [Fact]
    public async Task ProtectedConstructor_UnmockedMember_ThrowsInvalidOperation()
    {
        var mock = new MockClient();

        var act = () => mock.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        (await act.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("mocking");
    }

    private sealed class MockClient : MeteringClient
    {
    }
}
