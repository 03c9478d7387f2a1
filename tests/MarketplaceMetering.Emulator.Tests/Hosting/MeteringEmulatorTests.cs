using System.Diagnostics;
using System.Net.Sockets;
using Azure.Core;
using MarketplaceMetering.Emulator.Tests.TestSupport;
using MarketplaceMetering.Testing;
using Microsoft.Extensions.Logging;
using static MarketplaceMetering.Emulator.Tests.TestSupport.EventJson;

namespace MarketplaceMetering.Emulator.Tests.Hosting;

public sealed class MeteringEmulatorTests
{
    [Fact]
    public async Task StartAsync_DefaultOptions_ListensOnLoopbackOnAFreePort()
    {
        await using var first = await MeteringEmulator.StartAsync();
        await using var second = await MeteringEmulator.StartAsync();

        first.Endpoint.Scheme.Should().Be("http");
        first.CertificateThumbprint.Should().BeNull("https is off by default");
        first.CertificatePemPath.Should().BeNull();
        first.Endpoint.Host.Should().Be("127.0.0.1");
        first.Endpoint.Port.Should().BeGreaterThan(0);
        first.Endpoint.AbsolutePath.Should().Be("/");
        second.Endpoint.Port.Should().NotBe(first.Endpoint.Port);
        first.Token.Should().NotBeNullOrWhiteSpace().And.NotBe(second.Token, "a token is made up per emulator");
    }

    [Fact]
    public async Task StartAsync_MadeUpToken_IsTheOneAccepted()
    {
        await using var emulator = await MeteringEmulator.StartAsync();
        using var http = new HttpClient { BaseAddress = emulator.Endpoint };
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + emulator.Token);

        using var response = await http.GetAsync(TestEmulator.UsagePath + "&usageStartDate=2026-01-01");

        ((int)response.StatusCode).Should().Be(200);
    }

    [Fact]
    public async Task StartAsync_ListenOnAnyAddress_StillAnswersOnLoopback()
    {
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { ListenOnAnyAddress = true, Token = "t" });
        using var http = new HttpClient { BaseAddress = emulator.Endpoint };
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer t");

        using var response = await http.GetAsync(TestEmulator.UsagePath + "&usageStartDate=2026-01-01");

        emulator.Endpoint.Host.Should().Be("127.0.0.1");
        ((int)response.StatusCode).Should().Be(200);
    }

    [Fact]
    public async Task StartAsync_InvalidOptions_ThrowsOneExceptionListingEveryProblem()
    {
        var options = new MeteringEmulatorOptions { Port = 70000, Token = "has space", MaxRequestBodyBytes = 0, MaxRecordedRequests = -1 };
        options.Faults.ThrottleProbability = 0.7;
        options.Faults.ServerErrorProbability = 0.7;
        options.Faults.MinLatency = TimeSpan.FromSeconds(2);
        options.Faults.MaxLatency = TimeSpan.FromSeconds(1);
        options.Resources.Add(new EmulatedResource { ResourceId = ResourceA, PlanId = "", Dimensions = [] });
        options.Resources.Add(new EmulatedResource { ResourceId = ResourceA, PlanId = "p", Dimensions = ["d"] });

        var act = () => MeteringEmulator.StartAsync(options);

        var thrown = await act.Should().ThrowAsync<ArgumentException>();
        thrown.Which.ParamName.Should().Be("options");
        thrown.Which.Message.Should()
            .Contain("Port").And.Contain("Token").And.Contain("MaxRequestBodyBytes").And.Contain("MaxRecordedRequests must be 0 or more (was -1)")
            .And.Contain("more than 1").And.Contain("MaxLatency")
            .And.Contain("Resources[0].PlanId").And.Contain("Resources[0].Dimensions").And.Contain("Resources[1].ResourceId");
    }

    [Fact]
    public async Task StartAsync_UnknownTimeStyle_ThrowsNamingIt()
    {
        var act = () => MeteringEmulator.StartAsync(new MeteringEmulatorOptions { TimeStyle = (WireTimeStyle)42 });

        (await act.Should().ThrowAsync<ArgumentException>()).Which.Message.Should().Contain("TimeStyle");
    }

    [Fact]
    public async Task StartAsync_PortInUse_ThrowsIOException()
    {
        await using var first = await MeteringEmulator.StartAsync();

        var act = () => MeteringEmulator.StartAsync(new MeteringEmulatorOptions { Port = first.Endpoint.Port });

        await act.Should().ThrowAsync<IOException>();
    }

    [Fact]
    public async Task Credential_GetToken_ReturnsTheTokenExpiringAnHourAfterTheEmulatorsClockAndCounts()
    {
        var time = new TestClock();
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { TimeProvider = time, Token = "secret-ish" });
        var context = new TokenRequestContext(["20e940b3-4c77-4b0b-9a53-9e16a1b010a7/.default"]);

        var first = await emulator.Credential.GetTokenAsync(context, default);
        time.Advance(TimeSpan.FromMinutes(30));
        var second = emulator.Credential.GetToken(context, default);

        first.Token.Should().Be("secret-ish");
        first.ExpiresOn.Should().Be(new DateTimeOffset(2026, 11, 20, 11, 17, 23, TimeSpan.Zero));
        second.ExpiresOn.Should().Be(new DateTimeOffset(2026, 11, 20, 11, 47, 23, TimeSpan.Zero));
        emulator.TokenRequests.Should().Be(2);
    }

    [Fact]
    public async Task DisposeAsync_Running_StopsListening()
    {
        var emulator = await MeteringEmulator.StartAsync();
        var port = emulator.Endpoint.Port;

        await emulator.DisposeAsync();
        await emulator.DisposeAsync();

        using var client = new TcpClient();
        var act = () => client.ConnectAsync("127.0.0.1", port);
        await act.Should().ThrowAsync<SocketException>();
    }

    [Fact]
    public async Task DisposeAsync_DuringALongLatencyFault_EndsPromptly()
    {
        var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { Token = "t" });
        emulator.Faults.Enqueue(EmulatorFault.Latency(TimeSpan.FromMinutes(10)));
        using var http = new HttpClient { BaseAddress = emulator.Endpoint };
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer t");
        var pending = http.GetAsync(TestEmulator.UsagePath + "&usageStartDate=2026-01-01");
        var waiting = Stopwatch.StartNew();
        while (emulator.Faults.Pending > 0 && waiting.Elapsed < TimeSpan.FromSeconds(10))
        {
            // The request has taken its fault once the queue is empty.
            await Task.Yield();
        }

        var stopping = Stopwatch.StartNew();
        await emulator.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        stopping.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5), "the latency wait ends when the emulator stops");
        await FluentActions.Awaiting(() => pending).Should().ThrowAsync<HttpRequestException>();
    }

    [Fact]
    public async Task LoggerFactory_Given_ReceivesOneLinePerRequestWithoutTheToken()
    {
        var provider = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(logging => logging.AddProvider(provider).SetMinimumLevel(LogLevel.Information));
        await using var host = await TestEmulator.StartAsync(options => options.LoggerFactory = loggerFactory);

        await host.PostEventAsync(Event(host.Now));

        provider.Messages.Should().Contain(m => m.Contains("/api/usageEvent") && m.Contains("200"));
        provider.Messages.Should().NotContain(m => m.Contains(TestEmulator.Token));
    }

    private sealed class ListLoggerProvider : ILoggerProvider
    {
        private readonly List<string> _messages = [];

        public IReadOnlyList<string> Messages
        {
            get
            {
                lock (_messages)
                {
                    return _messages.ToArray();
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new ListLogger(this);

        public void Dispose()
        {
        }

        private sealed class ListLogger(ListLoggerProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner._messages)
                {
                    owner._messages.Add(formatter(state, exception));
                }
            }
        }
    }
}
