using System.Text.RegularExpressions;
using MarketplaceMetering.Emulator;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace MarketplaceMetering.Tests.Docs;

/// <summary>The docs' C# is the compiled code of <see cref="DocSnippets"/>, and the snippets do what the docs say.</summary>
public partial class DocSnippetTests
{
    [Fact]
    public void Docs_EverySnippetMatchesItsCompiledRegion()
    {
        var root = Repository.Root();
        var source = string.Join("\n", Directory.GetFiles(Path.Combine(root, "tests", "MarketplaceMetering.Tests", "Docs"), "DocSnippets*.cs").Select(File.ReadAllText));
        var regions = RegionPattern().Matches(source).ToDictionary(m => m.Groups["name"].Value, m => Normalize(m.Groups["code"].Value));
        var used = new List<string>();

        foreach (var page in Directory.GetFiles(Path.Combine(root, "docs"), "*.md"))
        {
            foreach (Match snippet in SnippetPattern().Matches(File.ReadAllText(page)))
            {
                var name = snippet.Groups["name"].Value;
                regions.Should().ContainKey(name, "{0} uses snippet '{1}'", Path.GetFileName(page), name);
                Normalize(snippet.Groups["code"].Value).Should().Be(regions[name], "{0}'s snippet '{1}' must equal the compiled region in DocSnippets.cs", Path.GetFileName(page), name);
                used.Add(name);
            }
        }

        used.Should().Contain(["auth-client-secret", "auth-certificate", "auth-managed-identity", "auth-any-credential", "results-switch", "results-batch", "errors-exceptions", "emulator-with-client", "reliability-feedback",
            "getting-started", "di-configuration", "di-code", "observability-otel", "testing-emulator", "testing-mock", "accumulation-quickstart", "accumulation-di", "usage-events", "reconcile", "reconcile-ledger", "emulator-catalogue", "emulator-faults"]);
    }

    [Fact]
    public async Task ResultsSnippets_AgainstTheEmulator_DescribeEachOutcome()
    {
        await using var h = await Harness.StartAsync();
        var hour = h.Clock.GetUtcNow().AddHours(-1);

        (await DocSnippets.HandleResultAsync(h.Client, TestEvents.Resource, hour)).Should().StartWith("billed as");
        (await DocSnippets.HandleResultAsync(h.Client, TestEvents.Resource, hour)).Should().StartWith("already billed");
        h.Emulator.Faults.Enqueue(EmulatorFault.ServerError(503), EmulatorFault.ServerError(503), EmulatorFault.ServerError(503), EmulatorFault.ServerError(503));
        (await DocSnippets.HandleExceptionsAsync(h.Client, h.HourAgo(resource: TestEvents.ResourceNumber(5)))).Should().StartWith("try later (HTTP 503");
        (await DocSnippets.HandleExceptionsAsync(h.Client, TestEvents.At(h.Clock.GetUtcNow().AddDays(-2)))).Should().StartWith("invalid:");

        var events = TestEvents.Distinct(h.Clock, 3);
        await h.Client.SubmitUsageEventAsync(TestEvents.At(events[1].EffectiveStartTime, quantity: 99m, resource: events[1].ResourceId));
        (await DocSnippets.HandleBatchAsync(h.Client, events)).Should().Equal(events[1]);
        (await DocSnippets.Mock().SubmitUsageEventAsync(events[0])).IsDelivered.Should().BeTrue();
    }

    [Fact]
    public async Task EmulatorSnippet_SecondSubmission_IsAReplayAndRecordedOnce()
    {
        var (first, again, recorded) = await DocSnippets.EmulatorWithClientAsync();

        first.Should().BeOfType<UsageEventResult.Accepted>();
        again.Should().BeOfType<UsageEventResult.Duplicate>().Which.IsReplay.Should().BeTrue();
        recorded.Should().Be(1);
    }

    [Fact]
    public async Task EmulatorCatalogueAndFaultsSnippets_AnswerFromTheCatalogueAndResetTheFaults()
    {
        var subscription = Guid.NewGuid();
        var options = DocSnippets.EmulatorCatalogue(subscription, Guid.NewGuid());
        await using var emulator = await MeteringEmulator.StartAsync(options);
        using var client = new MeteringClient(emulator.Credential, new MeteringClientOptions { Endpoint = emulator.Endpoint });
        var hour = DateTimeOffset.UtcNow.AddHours(-1);

        (await client.SubmitUsageEventAsync(UsageEvent.ForResourceId(subscription, "gold", "storage-gb", 1, hour))).Should().BeOfType<UsageEventResult.Accepted>();
        (await client.SubmitUsageEventAsync(UsageEvent.ForResourceId(subscription, "gold", "fax", 1, hour))).Should().BeOfType<UsageEventResult.InvalidDimension>();
        (await client.SubmitUsageEventAsync(UsageEvent.ForResourceId(options.Resources[1].ResourceId, "standard", "cpu-hours", 1, hour))).Should().BeOfType<UsageEventResult.ResourceNotActive>();

        DocSnippets.EmulatorFaults(emulator);
        emulator.Faults.Settings.ServerErrorProbability.Should().Be(0);
        (await client.SubmitUsageEventAsync(UsageEvent.ForResourceId(subscription, "gold", "api-calls", 1, hour))).Should().BeOfType<UsageEventResult.Accepted>("Reset emptied the queued faults");
        emulator.Requests.Should().HaveCount(4);
    }

    [Fact]
    public async Task ReliabilitySnippet_UnderFaults_DeliversEverythingAndLogsTheSummary()
    {
        var logger = new FakeLogger();
        await using var h = await Harness.StartAsync(emulator: o => o.Seed = 5, client: o => o.MaxConcurrency = 1);
        h.Emulator.Faults.Enqueue(EmulatorFault.DropAfterAccept(), EmulatorFault.ServerError(503), EmulatorFault.ServerError(503), EmulatorFault.ServerError(503), EmulatorFault.ServerError(503));
        var events = TestEvents.Distinct(h.Clock, 30);

        await DocSnippets.SubmitUntilSettledAsync(h.Client, events, logger);

        h.Emulator.Ledger.Count.Should().Be(30);
        logger.Collector.GetSnapshot().Select(r => r.Message).Should().Contain(m => m.Contains("Metering: 30 events")).And.Contain(m => m.Contains("Metering retry 1"));
    }

    private static string Normalize(string code)
    {
        var lines = code.Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd()).SkipWhile(string.IsNullOrWhiteSpace).Reverse().SkipWhile(string.IsNullOrWhiteSpace).Reverse().ToList();
        var indent = lines.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..] : l));
    }

    [GeneratedRegex(@"#region (?<name>[a-z\-]+)\r?\n(?<code>.*?)\r?\n\s*#endregion", RegexOptions.Singleline)]
    private static partial Regex RegionPattern();

    [GeneratedRegex(@"<!-- snippet: (?<name>[a-z\-]+) -->\s*```csharp\r?\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex SnippetPattern();
}
