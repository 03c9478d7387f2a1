using System.Globalization;
using System.Text.Json;

namespace MarketplaceMetering.Cli.Tests.Commands;

/// <summary><c>metering usage</c> over real HTTP against the emulator.</summary>
public class UsageCommandTests
{
    [Fact]
    public async Task Usage_AfterABatch_ListsTheRecordedRowsAsTableAndJson()
    {
        await using var scope = await EmulatorScope.StartAsync();
        (await CliRunner.RunAsync(scope.Args("batch", scope.Csv(3)))).ExitCode.Should().Be(0);
        var from = EmulatorScope.Now.AddDays(-2).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        var table = await CliRunner.RunAsync(scope.Args("usage", "--from", from));
        var json = await CliRunner.RunAsync(scope.Args("usage", "--from", from, "--json"));

        table.ExitCode.Should().Be(0, table.ToString());
        table.Out.Should().Contain(EmulatorScope.Resource(2).ToString()).And.Contain("3 rows.");
        json.ExitCode.Should().Be(0, json.ToString());
        using var rows = JsonDocument.Parse(json.Out);
        rows.RootElement.EnumerateArray()
            .Select(r => (r.GetProperty("usageResourceId").GetGuid(), r.GetProperty("submittedQuantity").GetDecimal(), r.GetProperty("reconStatus").GetString()))
            .Should().BeEquivalentTo(scope.Emulator.Ledger.Entries.Select(e => (e.ResourceId, e.Quantity, (string?)"Accepted")));
    }

    [Fact]
    public async Task Usage_WithToAndFilters_SendsThemAndListsOnlyMatchingRows()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var hour = EmulatorScope.LastHour.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var file = scope.File("two.csv", $"resourceId,planId,dimension,quantity,effectiveStartTime\n{EmulatorScope.Resource(0)},plan1,dim1,1,{hour}\n{EmulatorScope.Resource(0)},plan1,dim2,2,{hour}\n");
        (await CliRunner.RunAsync(scope.Args("batch", file))).ExitCode.Should().Be(0);
        scope.Emulator.ClearRequests();

        var run = await CliRunner.RunAsync(scope.Args("usage", "--from", "2020-01-01", "--to", "2100-01-01T00:00:00Z", "--dimension", "dim2", "--plan", "plan1", "--json"));

        run.ExitCode.Should().Be(0, run.ToString());
        using var rows = JsonDocument.Parse(run.Out);
        rows.RootElement.EnumerateArray().Should().ContainSingle().Which.GetProperty("submittedQuantity").GetDecimal().Should().Be(2m);
        scope.Emulator.Requests.Single().QueryString.Should().Contain("UsageEndDate=2100-01-01").And.Contain("dimension=dim2").And.Contain("planId=plan1");
    }

    [Theory]
    [InlineData("--from", "19/11/2026", "--from '19/11/2026' is not a time")]
    [InlineData("--from", "2026-11-19T10:00:00", "has no time zone")]
    [InlineData("--azure-subscription", "nope", "is not a GUID")]
    [InlineData("--dimension", "", "query.Dimension is empty; leave it null to list every dimension")]
    [InlineData("--plan", "gold\n", "--plan holds a control character (U+000A) at character 5; no row can match it.")]
    [InlineData("--recon-status", "\u001b[31mAccepted", "--recon-status holds a control character (U+001B) at character 1; no row can match it.")]
    public async Task Usage_BadArgument_ExitsTwoAndSendsNothing(string option, string value, string expected)
    {
        await using var scope = await EmulatorScope.StartAsync();
        string[] args = option == "--from" ? ["usage", option, value] : ["usage", "--from", "2026-11-19", option, value];

        var run = await CliRunner.RunAsync(scope.Args(args));

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain(expected);
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData("usage", "0001-01-01")]
    [InlineData("usage", "0001-01-01T00:00:00Z")]
    [InlineData("reconcile", "0001-01-01")]
    public async Task Usage_FromTheSmallestDate_ExitsTwoSayingWhatIsWrongNotThatTheDateIsMissing(string command, string from)
    {
        // The client takes DateTimeOffset.MinValue for a start date not given: the error said "UsageStartDate is
        // required" of a --from that was there.
        await using var scope = await EmulatorScope.StartAsync();
        string[] args = command == "usage" ? ["usage", "--from", from] : ["reconcile", "--sent", scope.File("sent.csv", $"resourceId,planId,dimension,quantity,effectiveStartTime,status\n{EmulatorScope.Resource(0)},plan1,dim1,1,{EmulatorScope.LastHour:yyyy-MM-dd'T'HH:mm:ss'Z'},Accepted\n"), "--from", from];

        var run = await CliRunner.RunAsync(scope.Args(args));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Be(
            $"error: --from {from} is the smallest date there is (0001-01-01T00:00:00Z), which the client takes for a date not given; give the first day to list, such as 2026-11-19.");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Usage_ToBeforeFrom_ExitsTwo()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args("usage", "--from", "2026-11-19", "--to", "2026-11-18"));

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("before --from");
    }

    [Fact]
    public async Task Usage_MalformedAnswer_ExitsOneNamingTheBadRow()
    {
        await using var scope = await EmulatorScope.StartAsync();
        scope.Emulator.Faults.Enqueue(MarketplaceMetering.Emulator.EmulatorFault.Respond(200, """[{"usageDate":"2026-11-19","usageResourceId":"6f1a2b3c-0000-4000-8000-000000000001","dimension":"dim1","submittedQuantity":"lots"}]"""));

        var run = await CliRunner.RunAsync(scope.Args("usage", "--from", "2026-11-19"));

        run.ExitCode.Should().Be(1, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain("row 0's submittedQuantity is text, not a number");
    }

    [Fact]
    public async Task Usage_RowWithoutReconStatus_JsonLeavesItOutRatherThanWritingAnEmptyString()
    {
        // docs/cli.md: absent values are left out of the JSON. A script testing for the property must not see "".
        await using var scope = await EmulatorScope.StartAsync();
        scope.Emulator.Faults.Enqueue(MarketplaceMetering.Emulator.EmulatorFault.Respond(200, """[{"usageDate":"2026-11-19","usageResourceId":"6f1a2b3c-0000-4000-8000-000000000001","dimension":"dim1","submittedQuantity":1}]"""));

        var run = await CliRunner.RunAsync(scope.Args("usage", "--from", "2026-11-19", "--json"));

        run.ExitCode.Should().Be(0, run.ToString());
        using var rows = JsonDocument.Parse(run.Out);
        rows.RootElement.EnumerateArray().Should().ContainSingle().Which.TryGetProperty("reconStatus", out _).Should().BeFalse(run.Out);
    }

    [Fact]
    public async Task Usage_RowsHoldingControlCharacters_TableWritesNoEscapeSequenceOrExtraLine()
    {
        // A hostile or broken answer: an escape sequence (clear the screen, retitle the terminal) in a dimension and a
        // line break in a plan. The table must show them as text, one row per line, with nothing a terminal would obey.
        await using var scope = await EmulatorScope.StartAsync();
        scope.Emulator.Faults.Enqueue(MarketplaceMetering.Emulator.EmulatorFault.Respond(200, """[{"usageDate":"2026-11-19T00:00:00Z","usageResourceId":"6f1a2b3c-0000-4000-8000-000000000001","dimension":"dim\u001b[2J\u001b]0;pwned\u0007","planId":"plan1\r\nforged row","offerId":"offer\u202E01 ytitnauq\u2066","submittedQuantity":1}]"""));

        var run = await CliRunner.RunAsync(scope.Args("usage", "--from", "2026-11-19"));

        run.ExitCode.Should().Be(0, run.ToString());
        run.Out.Should().NotContain("\u001b").And.NotContain("\u0007");
        run.Out.Should().NotContain("\u202E", "a right-to-left override would show the rest of the row reversed").And.NotContain("\u2066");
        run.Out.Split('\n').Should().ContainSingle(l => l.Contains("6f1a2b3c-0000-4000-8000-000000000001", StringComparison.Ordinal))
            .Which.Should().Contain("forged row", "the plan's line break must not start a line of its own");
    }

    [Fact]
    public async Task Usage_ServiceMessageHoldingAnEscapeSequence_ErrorLineWritesNoEscape()
    {
        await using var scope = await EmulatorScope.StartAsync();
        scope.Emulator.Faults.Enqueue(MarketplaceMetering.Emulator.EmulatorFault.Respond(400, """{"code":"BadArgument","message":"bad\u001b]0;pwned\u0007 date\u202E"}"""));

        var run = await CliRunner.RunAsync(scope.Args("usage", "--from", "2026-11-19"));

        run.ExitCode.Should().Be(1, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain("pwned").And.NotContain("\u001b").And.NotContain("\u0007").And.NotContain("\u202E");
    }

    [Fact]
    public async Task Usage_ServiceUnreachable_ExitsOneWithOneLine()
    {
        int port;
        await using (var scope = await EmulatorScope.StartAsync())
        {
            port = scope.Emulator.Endpoint.Port;
        }

        var run = await CliRunner.RunAsync("usage", "--from", "2026-11-19", "--endpoint", $"http://127.0.0.1:{port}/", "--token", "t", "--max-retries", "0");

        run.ExitCode.Should().Be(1, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain("Could not reach the metering service");
    }
}
