using System.Text.RegularExpressions;

namespace MarketplaceMetering.Tests.Benchmarks;

/// <summary>
/// The commands docs/performance.md gives keep working: every sender of the benchmarks (the client, the minimal sender
/// that is the baseline in both its forms, the wire floor) still gets its events accepted, and the throughput program runs end to end
/// against the emulator in another process. Only correctness is asserted here: the figures of a Debug build on a shared
/// machine mean nothing, and timing assertions have no place in tests.
/// </summary>
public class BenchmarkProgramTests
{
    private static readonly string Program = Path.Combine(ProgramRunner.BuildOutput("tests", "MarketplaceMetering.Benchmarks"), "MarketplaceMetering.Benchmarks.dll");

    [Fact]
    public async Task Verify_EverySender_GetsAllItsEventsAcceptedByTheCannedServer()
    {
        var (exitCode, output) = await ProgramRunner.RunAsync(Program, ["verify"], TimeSpan.FromMinutes(3));

        exitCode.Should().Be(0, output);
        output.Should().Contain("Every sender's events were accepted.");
    }

    [Fact]
    public async Task Throughput_SmallRun_EverySenderHasEveryEventAcceptedAndTheMediansArePrinted()
    {
        var (exitCode, output) = await ProgramRunner.RunAsync(Program, ["throughput", "3000", "600", "1"], TimeSpan.FromMinutes(4));

        exitCode.Should().Be(0, output);
        var rows = output.Split('\n').Select(l => l.TrimEnd()).Where(l => Regex.IsMatch(l, @"^1\s{2,}")).ToList();
        (string Sender, string Accepted)[] expected =
        [
            ("minimal sender, batches", "3,000"),
            ("minimal sender, batches, allocated bodies", "3,000"),
            ("SubmitUsageEventsAsync", "3,000"),
            ("SubmitBatchUsageEventAsync", "3,000"),
            ("minimal sender, single", "600"),
            ("minimal sender, single, allocated bodies", "600"),
            ("SubmitUsageEventAsync", "600"),
        ];
        foreach (var (sender, accepted) in expected)
        {
            rows.Should().ContainSingle(r => Regex.IsMatch(r, @"^1\s{2,}" + Regex.Escape(sender) + @"\s{2,}"), output)
                .Which.Should().MatchRegex(@"\s" + accepted.Replace(",", @"\D?", StringComparison.Ordinal) + "$", "every event the {0} sent was accepted", sender);
        }

        // The two forms of the minimal sender differ in what the issue's baseline is about: the allocating one copies each
        // request body and buffers each answer, so it allocates several times the pooled one's bytes per event. (Bytes,
        // not time: they do not depend on the machine's load.)
        BytesPerEvent(rows, "minimal sender, batches, allocated bodies").Should().BeGreaterThan(2 * BytesPerEvent(rows, "minimal sender, batches"));
        BytesPerEvent(rows, "minimal sender, single, allocated bodies").Should().BeGreaterThan(BytesPerEvent(rows, "minimal sender, single") + 400);
        output.Should().Contain("bulk: SubmitUsageEventsAsync / minimal sender, events/s by round:")
            .And.Contain("single: SubmitUsageEventAsync / minimal sender, events/s by round:")
            .And.Contain("bulk: SubmitUsageEventsAsync / minimal sender with allocated bodies (issue 9's baseline), events/s by round:")
            .And.Contain("single: SubmitUsageEventAsync / minimal sender with allocated bodies (issue 9's baseline), events/s by round:")
            .And.Contain("median");
    }

    /// <summary>The "B/event" column of a sender's row: the second number after its name.</summary>
    private static double BytesPerEvent(List<string> rows, string sender)
    {
        var row = rows.Single(r => Regex.IsMatch(r, @"^1\s{2,}" + Regex.Escape(sender) + @"\s{2,}"));
        // Whole numbers (N0) in the program's culture: the group separators, whatever they are, are dropped.
        var numbers = Regex.Matches(row[(row.IndexOf(sender, StringComparison.Ordinal) + sender.Length)..], @"\d[\d,.\u00A0\u202F]*");
        return double.Parse(Regex.Replace(numbers[1].Value, @"\D", string.Empty), System.Globalization.CultureInfo.InvariantCulture);
    }
}
