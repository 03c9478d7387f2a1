namespace MarketplaceMetering.Cli.Tests.Output;

/// <summary>
/// Standard output that cannot be written (redirected to a full disk: <c>metering batch f.csv --json &gt; out.json</c>)
/// after the work is done: the exit code and the error line must not say the service failed, and must say what was done.
/// </summary>
public class OutputFailureTests
{
    [Fact]
    public async Task Emit_StandardOutputFull_ExitsSixSayingTheEventWasDelivered()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(
            scope.Args("emit", "--resource-id", EmulatorScope.Resource(0).ToString(), "--plan", "plan1", "--dimension", "dim1", "--quantity", "1"),
            environment: null,
            output: new FullDiskWriter());

        scope.Emulator.Ledger.Count.Should().Be(1, "the event was sent before the output was written");
        run.ExitCode.Should().Be(6, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should()
            .Be("error: Standard output could not be written: No space left on device; the event was delivered (Accepted)");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Batch_StandardOutputFull_ExitsSixSayingHowManyEventsWereDelivered(bool json)
    {
        await using var scope = await EmulatorScope.StartAsync();
        string[] args = json ? ["batch", scope.Csv(30), "--json"] : ["batch", scope.Csv(30)];

        var run = await CliRunner.RunAsync(scope.Args(args), environment: null, output: new FullDiskWriter());

        scope.Emulator.Ledger.Count.Should().Be(30);
        run.ExitCode.Should().Be(6, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain("Standard output could not be written").And.Contain("30 of 30 events were delivered");
    }

    /// <summary>A file on a full disk: every write fails as .NET reports ENOSPC.</summary>
    private sealed class FullDiskWriter : StringWriter
    {
        public override void Write(char value) => throw Full();

        public override void Write(string? value) => throw Full();

        public override void Write(char[] buffer, int index, int count) => throw Full();

        public override void Write(ReadOnlySpan<char> buffer) => throw Full();

        public override void WriteLine(string? value) => throw Full();

        public override Task WriteAsync(string? value) => throw Full();

        public override Task WriteLineAsync(string? value) => throw Full();

        private static IOException Full() => new("No space left on device");
    }
}
