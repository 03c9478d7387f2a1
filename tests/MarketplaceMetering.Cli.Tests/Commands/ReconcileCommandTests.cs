using System.Globalization;
using System.Text.Json;

namespace MarketplaceMetering.Cli.Tests.Commands;

/// <summary><c>metering reconcile --sent FILE</c> over real HTTP against the emulator.</summary>
public class ReconcileCommandTests
{
    private const string Header = "resourceId,planId,dimension,quantity,effectiveStartTime,status";

    private static string Hour(int hoursBack = 0) => EmulatorScope.LastHour.AddHours(-hoursBack).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string From => EmulatorScope.Now.AddDays(-2).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Reconcile_SentFileMatchesTheMarketplace_ExitsZero()
    {
        await using var scope = await EmulatorScope.StartAsync();
        (await CliRunner.RunAsync(scope.Args("batch", scope.Csv(3)))).ExitCode.Should().Be(0);
        var sent = scope.File("sent.csv", Header + "\n" + string.Concat(Enumerable.Range(0, 3).Select(i => $"{EmulatorScope.Resource(i)},plan1,dim1,{i + 1},{Hour()},Accepted\n")));

        var run = await CliRunner.RunAsync(scope.Args("reconcile", "--sent", sent, "--from", From));

        run.ExitCode.Should().Be(0, run.ToString());
        run.Out.Should().Contain("No differences in 3 rows");
    }

    [Fact]
    public async Task Reconcile_PlantedDifferences_ExitsFiveAndJsonNamesEachOnItsRow()
    {
        await using var scope = await EmulatorScope.StartAsync();
        (await CliRunner.RunAsync(scope.Args("batch", scope.Csv(3)))).ExitCode.Should().Be(0);
        // Resource 0 agrees; resource 1's quantity differs; resource 2 is missing here; resource 3 was never received; resource 4 was rejected.
        var sent = scope.File("sent.jsonl", string.Join('\n',
            Line(0, 1, "Accepted"),
            Line(1, 9, "Accepted"),
            Line(3, 1, "Accepted"),
            Line(4, 1, "Expired")));

        var run = await CliRunner.RunAsync(scope.Args("reconcile", "--sent", sent, "--from", From, "--json"));

        run.ExitCode.Should().Be(5, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("hasDifferences").GetBoolean().Should().BeTrue();
        json.RootElement.GetProperty("rows").EnumerateArray()
            .ToDictionary(r => r.GetProperty("resourceId").GetGuid(), r => string.Join(",", r.GetProperty("differences").EnumerateArray().Select(d => d.GetString())))
            .Should().Equal(new Dictionary<Guid, string>
            {
                [EmulatorScope.Resource(0)] = string.Empty,
                [EmulatorScope.Resource(1)] = "QuantityMismatch",
                [EmulatorScope.Resource(2)] = "MissingHere",
                [EmulatorScope.Resource(3)] = "MissingThere",
                [EmulatorScope.Resource(4)] = "Rejected",
            });

        var table = await CliRunner.RunAsync(scope.Args("reconcile", "--sent", sent, "--from", From));
        table.ExitCode.Should().Be(5);
        table.Out.Should().Contain("4 of 5 rows differ").And.Contain("MissingThere").And.Contain("QuantityMismatch");
    }

    [Theory]
    [InlineData("status", "Acepted", ":2: status 'Acepted' is not one of")]
    [InlineData("nostatus", "", ":1: no 'status' column")]
    public async Task Reconcile_BadSentFile_ExitsTwoNamingTheLine(string what, string status, string expected)
    {
        await using var scope = await EmulatorScope.StartAsync();
        var content = what == "nostatus"
            ? $"resourceId,planId,dimension,quantity,effectiveStartTime\n{EmulatorScope.Resource(0)},plan1,dim1,1,{Hour()}\n"
            : $"{Header}\n{EmulatorScope.Resource(0)},plan1,dim1,1,{Hour()},{status}\n";

        var run = await CliRunner.RunAsync(scope.Args("reconcile", "--sent", scope.File("sent.csv", content), "--from", From));

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("sent.csv" + expected);
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Reconcile_SentFileWithALineLongerThanTheLimit_ExitsTwoNamingTheLine()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var path = scope.File("sent.csv", $"{Header}\n" + new string('x', 2 * 1024 * 1024) + "\n");

        var run = await CliRunner.RunAsync(scope.Args("reconcile", "--sent", path, "--from", From));

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("sent.csv:2: the line is longer than 65536 characters");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Reconcile_SentQuantitiesOfADayAddUpPastDecimalMaxValue_ExitsTwoNamingTheRow()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var day = new DateTimeOffset(EmulatorScope.Now.UtcDateTime.Date, TimeSpan.Zero).AddDays(-1);
        var at = (int hour) => day.AddHours(hour).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var sent = scope.File("sent.csv", $"{Header}\n{EmulatorScope.Resource(0)},plan1,dim1,50000000000000000000000000000,{at(1)},Accepted\n{EmulatorScope.Resource(0)},plan1,dim1,50000000000000000000000000000,{at(2)},Accepted\n");

        var run = await CliRunner.RunAsync(scope.Args("reconcile", "--sent", sent, "--from", From));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should()
            .Contain("add up to more than a quantity can hold").And.Contain(EmulatorScope.Resource(0).ToString()).And.NotContain("OverflowException");
    }

    [Fact]
    public async Task Reconcile_NoSource_ExitsTwo()
    {
        var run = await CliRunner.RunAsync("reconcile", "--from", "2026-11-19", "--token", "t");

        run.ExitCode.Should().Be(2);
        run.Error.Should().Contain("--sent FILE");
    }

    private static string Line(int resource, decimal quantity, string status) =>
        $$"""{"resourceId":"{{EmulatorScope.Resource(resource)}}","planId":"plan1","dimension":"dim1","quantity":{{quantity.ToString(CultureInfo.InvariantCulture)}},"effectiveStartTime":"{{Hour()}}","status":"{{status}}"}""";
}
