namespace MarketplaceMetering.Emulator.Tests.Faults;

public sealed class EmulatorFaultTests
{
    [Theory]
    [InlineData(400)]
    [InlineData(501)]
    [InlineData(429)]
    public void ServerError_StatusNotAServerError_Throws(int statusCode)
    {
        var act = () => EmulatorFault.ServerError(statusCode);

        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName(nameof(statusCode));
    }

    [Fact]
    public void Factories_NegativeDurations_Throw()
    {
        FluentActions.Invoking(() => EmulatorFault.Throttle(TimeSpan.FromSeconds(-1))).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => EmulatorFault.Latency(TimeSpan.FromSeconds(-1))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Latency_LongerThanADay_Throws()
    {
        // Queued, 60 days answered the next request with an empty 500 (a timer cannot wait that long); the admin API
        // already refuses more than a day.
        var settings = new EmulatorFaultSettings();

        FluentActions.Invoking(() => EmulatorFault.Latency(TimeSpan.FromDays(1))).Should().NotThrow();
        FluentActions.Invoking(() => EmulatorFault.Latency(TimeSpan.FromDays(60))).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => settings.MaxLatency = TimeSpan.FromDays(60)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => settings.MinLatency = TimeSpan.FromDays(1) + TimeSpan.FromTicks(1)).Should().Throw<ArgumentOutOfRangeException>();
        settings.MaxLatency.Should().Be(TimeSpan.Zero);
    }

    [Theory]
    [InlineData(99)]
    [InlineData(100)]
    [InlineData(199)]
    [InlineData(600)]
    public void Respond_StatusOutOfRange_Throws(int statusCode)
    {
        var act = () => EmulatorFault.Respond(statusCode, "x");

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Factories_ValidArguments_BuildTheNestedCases()
    {
        EmulatorFault.None.Should().BeOfType<EmulatorFault.NoFault>();
        EmulatorFault.Throttle(TimeSpan.FromSeconds(2)).Should().BeOfType<EmulatorFault.ThrottleFault>().Which.RetryAfter.Should().Be(TimeSpan.FromSeconds(2));
        EmulatorFault.ServerError(503).Should().BeOfType<EmulatorFault.ServerErrorFault>().Which.StatusCode.Should().Be(503);
        EmulatorFault.Latency(TimeSpan.FromMilliseconds(5)).Should().BeOfType<EmulatorFault.LatencyFault>().Which.Delay.Should().Be(TimeSpan.FromMilliseconds(5));
        EmulatorFault.DropAfterAccept().Should().BeOfType<EmulatorFault.DropAfterAcceptFault>();
        var respond = EmulatorFault.Respond(401, "", new Dictionary<string, string> { ["WWW-Authenticate"] = "Bearer" })
            .Should().BeOfType<EmulatorFault.RespondFault>().Subject;
        respond.Headers["www-authenticate"].Should().Be("Bearer");
    }

    [Fact]
    public async Task Enqueue_NullFault_ThrowsAndQueuesNothing()
    {
        await using var emulator = await MeteringEmulator.StartAsync();

        var act = () => emulator.Faults.Enqueue(EmulatorFault.None, null!);

        act.Should().Throw<ArgumentException>();
        emulator.Faults.Pending.Should().Be(0);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.1)]
    [InlineData(double.NaN)]
    public void Settings_ProbabilityOutOfRange_Throws(double probability)
    {
        var settings = new MeteringEmulatorOptions().Faults;

        settings.Invoking(s => s.ThrottleProbability = probability).Should().Throw<ArgumentOutOfRangeException>().WithParameterName("ThrottleProbability");
        settings.Invoking(s => s.ServerErrorProbability = probability).Should().Throw<ArgumentOutOfRangeException>();
        settings.Invoking(s => s.DropAfterAcceptProbability = probability).Should().Throw<ArgumentOutOfRangeException>();
    }
}
