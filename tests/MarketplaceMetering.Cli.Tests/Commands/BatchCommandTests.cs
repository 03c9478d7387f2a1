using System.Globalization;
using System.Text;
using System.Text.Json;
using MarketplaceMetering.Emulator;

namespace MarketplaceMetering.Cli.Tests.Commands;

/// <summary>
/// <c>metering batch FILE</c> over real HTTP against the emulator: every event sent and summarised; every bad file
/// refused with its line before anything is sent; partial delivery said and exited on.
/// </summary>
public class BatchCommandTests
{
    private const string Header = "resourceId,planId,dimension,quantity,effectiveStartTime";

    private static string Hour => EmulatorScope.LastHour.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Batch_Csv_SendsEveryEventAndPrintsTheSummary()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.Csv(60);

        var run = await CliRunner.RunAsync(scope.Args("batch", file));

        run.ExitCode.Should().Be(0, run.ToString());
        scope.Emulator.Ledger.Entries.Select(e => (e.ResourceId, e.Quantity))
            .Should().BeEquivalentTo(Enumerable.Range(0, 60).Select(i => (EmulatorScope.Resource(i), (decimal)(i + 1))));
        scope.Emulator.Requests.Should().OnlyContain(r => r.Path == "/api/batchUsageEvent").And.HaveCount(3);
        run.Out.Should().Contain("Accepted").And.Contain("60 of 60 events delivered.");
    }

    [Fact]
    public async Task Batch_QuantitiesSummingPastTheLargestDecimal_ReportsThemInsteadOfCrashingAfterSending()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.Csv(3, quantity: _ => decimal.MaxValue);

        var run = await CliRunner.RunAsync(scope.Args("batch", file));

        run.ExitCode.Should().Be(0, run.ToString());
        scope.Emulator.Ledger.Count.Should().Be(3);
        run.Out.Should().Contain("3 of 3 events delivered.");
        run.Error.Should().NotContain("Overflow");
    }

    [Fact]
    public async Task Batch_JsonLines_SendsThemAndJsonOutputGivesEachLinesResult()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var text = new StringBuilder();
        for (var i = 0; i < 5; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $$"""{"resourceId":"{{EmulatorScope.Resource(i)}}","planId":"plan1","dimension":"dim1","quantity":{{i + 1}}.5,"effectiveStartTime":"{{Hour}}"}""").Append('\n');
            if (i == 2)
            {
                text.Append('\n');
            }
        }

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.File("events.jsonl", text.ToString()), "--json"));

        run.ExitCode.Should().Be(0, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("delivered").GetInt32().Should().Be(5);
        json.RootElement.GetProperty("complete").GetBoolean().Should().BeTrue();
        var results = json.RootElement.GetProperty("results").EnumerateArray().ToList();
        results.Select(r => r.GetProperty("line").GetInt32()).Should().Equal(1, 2, 3, 5, 6);
        results.Select(r => r.GetProperty("usageEventId").GetGuid()).Should().BeEquivalentTo(scope.Emulator.Ledger.Entries.Select(e => e.UsageEventId));
    }

    [Fact]
    public async Task Batch_JsonLinesWithPropertyNamesInAnotherCase_ReadsTheQuantityNumberAsCsvColumnsAre()
    {
        // Names are case-insensitive (docs/cli.md), so "Quantity": 2.5 is the quantity, whatever the JSON type's check says.
        await using var scope = await EmulatorScope.StartAsync();
        var line = $$"""{"ResourceId":"{{EmulatorScope.Resource(0)}}","PlanId":"plan1","Dimension":"dim1","Quantity":2.5,"EffectiveStartTime":"{{Hour}}"}""";

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.File("events.jsonl", line + "\n")));

        run.ExitCode.Should().Be(0, run.ToString());
        scope.Emulator.Ledger.Entries.Should().ContainSingle().Which.Quantity.Should().Be(2.5m);
    }

    [Fact]
    public async Task Batch_Redirected_DrawsNoProgressBar()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.Csv(100)), new Dictionary<string, string>(), redirected: true, colorTerminal: true);

        run.ExitCode.Should().Be(0, run.ToString());
        run.Out.Should().NotContain("Sending").And.Contain("100 of 100 events delivered.");
    }

    [Fact]
    public async Task Batch_OnATerminal_SendsThroughTheProgressBarPath()
    {
        // Spectre.Console draws the bar on its own refresh timer, so whether a frame lands in the output is not
        // asserted; the run must still deliver everything and end with the summary.
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.Csv(100)), new Dictionary<string, string>(), redirected: false, colorTerminal: true);

        run.ExitCode.Should().Be(0, run.ToString());
        run.Out.Should().Contain("100 of 100 events delivered.");
        scope.Emulator.Ledger.Count.Should().Be(100);
    }

    [Fact]
    public async Task Batch_OnATerminalRefusedByTheService_TheProgressBarEndsAtEveryLineNotShortOfTheNotSentOnes()
    {
        // 300 events; the first call is refused (403): at most 7 batches go out, and the rest are reported NotSent. The
        // bar counted only the answered batches, so its last frame (drawn when it stops) read "Sending: 33%".
        await using var scope = await EmulatorScope.StartAsync();
        scope.Emulator.Faults.Enqueue(EmulatorFault.Respond(403, """{"message":"Client is not authorized for this usage resource.","code":"Forbidden"}"""));

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.Csv(300)), new Dictionary<string, string>(), redirected: false, colorTerminal: true);

        run.ExitCode.Should().Be(3, run.ToString());
        var frames = run.Out.Split('\n').Where(l => l.Contains("Sending", StringComparison.Ordinal)).ToList();
        frames.Should().NotBeEmpty(run.ToString());
        frames[^1].Should().Contain("100%", run.ToString());
    }

    [Fact]
    public async Task Batch_OnATerminalWithTheFileChangedWhileItIsSent_TheProgressBarEndsWhereTheSendingEnds()
    {
        // 300 events; line 252's quantity (350) is saved as 999 when the first batch goes out, so the sending stops after
        // the 250 lines before it. The bar stopped there, its last frame "Sending: 83%", although the sending was over.
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.Csv(300, quantity: i => 100 + i);
        var changed = System.IO.File.ReadAllText(file).Replace(",plan1,dim1,350,", ",plan1,dim1,999,", StringComparison.Ordinal);
        using var handler = new RequestHandler(1, () => System.IO.File.WriteAllText(file, changed));

        var run = await CliRunner.RunAsync(scope.Args("batch", file), new Dictionary<string, string>(), redirected: false, colorTerminal: true, handler: handler)
            .WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(4, run.ToString());
        scope.Emulator.Ledger.Count.Should().BeLessThan(300, "the sending stopped at the change (or earlier, if it read the file half written)");
        var frames = run.Out.Split('\n').Where(l => l.Contains("Sending", StringComparison.Ordinal)).ToList();
        frames.Should().NotBeEmpty(run.ToString());
        frames[^1].Should().Contain("100%", run.ToString());
    }

    [Fact]
    public async Task Batch_DryRun_ChecksTheFileAndSendsNothing()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.Csv(30), "--dry-run"));

        run.ExitCode.Should().Be(0, run.ToString());
        run.Out.Should().Contain("30 events, all valid; nothing was sent (--dry-run).");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    public static TheoryData<string, string, string> BadFiles
    {
        get
        {
            var good = $"{EmulatorScope.Resource(0)},plan1,dim1,1,{Hour}";
            var other = $"{EmulatorScope.Resource(1)},plan1,dim1,2,{Hour}";
            var future = EmulatorScope.Now.AddHours(2).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            var old = EmulatorScope.Now.AddDays(-2).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            return new()
            {
                { "unknown column", $"resourceId,planId,dimension,quantity,effectiveStartTime,colour\n{good},red", ":1: unknown column 'colour'" },
                { "missing column", $"resourceId,planId,quantity,effectiveStartTime\n{EmulatorScope.Resource(0)},plan1,1,{Hour}", ":1: no 'dimension' column" },
                { "no resource column", $"planId,dimension,quantity,effectiveStartTime\nplan1,dim1,1,{Hour}", ":1: no 'resourceId' or 'resourceUri' column" },
                { "too few fields", $"{Header}\n{good}\n{EmulatorScope.Resource(1)},plan1,dim1,2", ":3: has 4 fields, the header has 5" },
                { "bad number", $"{Header}\n{good}\n{EmulatorScope.Resource(1)},plan1,dim1,two,{Hour}", ":3: quantity 'two' is not a number" },
                { "comma decimal", $"{Header}\n{good}\n{EmulatorScope.Resource(1)},plan1,dim1,\"1,5\",{Hour}", ":3: quantity '1,5' is not a number" },
                { "negative quantity", $"{Header}\n{EmulatorScope.Resource(1)},plan1,dim1,-3,{Hour}", ":2: " },
                { "time without zone", $"{Header}\n{good}\n{other[..^1]}", ":3: effectiveStartTime '" },
                { "not a GUID", $"{Header}\nxyz,plan1,dim1,1,{Hour}", ":2: resourceId 'xyz' is not a GUID" },
                { "same hour twice", $"{Header}\n{good}\n{other}\n{good.Replace(",1,", ",4,", StringComparison.Ordinal)}", ":4: same resource, dimension and hour as line 2" },
                { "same hour, dimension in another case", $"{Header}\n{good}\n{other}\n{good.Replace(",dim1,1,", ",DIM1,1,", StringComparison.Ordinal)}", ":4: same resource, dimension and hour as line 2" },
                { "same hour, resource id in capitals", $"{Header}\n{good}\n{good.ToUpperInvariant().Replace("PLAN1,DIM1", "plan1,dim1", StringComparison.Ordinal)}", ":3: same resource, dimension and hour as line 2" },
                { "same hour, another minute", $"{Header}\n{good}\n{good.Replace(":00:00Z", ":59:59Z", StringComparison.Ordinal)}", ":3: same resource, dimension and hour as line 2" },
                { "same hour, resource URI in another case", $"resourceUri,planId,dimension,quantity,effectiveStartTime\n/subscriptions/s/resourceGroups/rg/providers/Microsoft.Solutions/applications/app1,plan1,dim1,1,{Hour}\n/SUBSCRIPTIONS/s/resourcegroups/rg/providers/microsoft.solutions/applications/APP1,plan1,dim1,1,{Hour}", ":3: same resource, dimension and hour as line 2" },
                { "future", $"{Header}\n{EmulatorScope.Resource(1)},plan1,dim1,1,{future}", ":2: effectiveStartTime " + future + " is in the future" },
                { "expired", $"{Header}\n{EmulatorScope.Resource(1)},plan1,dim1,1,{old}", ":2: effectiveStartTime " + old + " is more than 24 hours ago" },
                { "unclosed quote", $"{Header}\n{good}\n\"{other}", ":3: has a quote that is not closed" },
                { "missing value", $"{Header}\n{EmulatorScope.Resource(1)},,dim1,1,{Hour}", ":2: no value for planId" },
                { "NUL in a dimension", $"{Header}\n{good}\n{EmulatorScope.Resource(1)},plan1,dim\u00001,1,{Hour}", ":3: dimension holds a control character (U+0000) at character 4" },
                { "tab in a plan", $"{Header}\n{EmulatorScope.Resource(1)},pl\tan1,dim1,1,{Hour}", ":2: planId holds a control character (U+0009) at character 3" },
                { "empty file", string.Empty, "the file is empty" },
                { "blank lines only", "\n  \n\n", "the file is empty" },
                { "header only", Header + "\n", "no events in the file" },
            };
        }
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task Batch_BadCsv_ExitsTwoNamingTheLineAndSendsNothing(string what, string content, string expected)
    {
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.File("bad.csv", content);

        var run = await CliRunner.RunAsync(scope.Args("batch", file));

        run.ExitCode.Should().Be(2, what + "\n" + run);
        run.Error.Should().Contain(expected, what);
        run.Error.Should().Contain("nothing was sent", what).And.NotContain("   at ");
        run.ErrorLines.Should().OnlyContain(l => l.StartsWith("error: ", StringComparison.Ordinal), what);
        scope.Emulator.Requests.Should().BeEmpty(what);
    }

    [Fact]
    public async Task Batch_TimeWithoutZone_SaysHowToWriteIt()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var naked = EmulatorScope.LastHour.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.File("naked.csv", $"{Header}\n{EmulatorScope.Resource(0)},plan1,dim1,1,{naked}\n")));

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain($"naked.csv:2: effectiveStartTime '{naked}' has no time zone; write it in UTC with a Z (such as {naked}Z)");
    }

    [Fact]
    public async Task Batch_TimeWithoutADate_IsRefusedNotReadAsToday()
    {
        // "15:00:00Z" parses in .NET as today at 15:00 (the machine's day): an event of the last hour would be sent for a
        // day the file never named.
        await using var scope = await EmulatorScope.StartAsync();
        var timeOnly = EmulatorScope.LastHour.ToString("HH':00:00Z'", CultureInfo.InvariantCulture);

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.File("nodate.csv", $"{Header}\n{EmulatorScope.Resource(0)},plan1,dim1,1,{timeOnly}\n")));

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain($"nodate.csv:2: effectiveStartTime '{timeOnly}' is not a time with a date (yyyy-MM-dd)");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData("events.csv")]
    [InlineData("events.jsonl")]
    public async Task Batch_FileNotUtf8_ExitsTwoSayingSoAndSendsNothing(string name)
    {
        // Saved as Windows-1252: "é" is the single byte E9. Read leniently it became U+FFFD, and "dim\uFFFD" was sent.
        await using var scope = await EmulatorScope.StartAsync();
        var text = name.EndsWith(".csv", StringComparison.Ordinal)
            ? $"{Header}\n{EmulatorScope.Resource(0)},plan1,dimé,1,{Hour}\n"
            : $$"""{"resourceId":"{{EmulatorScope.Resource(0)}}","planId":"plan1","dimension":"dimé","quantity":1,"effectiveStartTime":"{{Hour}}"}""" + "\n";
        var path = Path.Combine(scope.Directory, name);
        await File.WriteAllBytesAsync(path, Encoding.Latin1.GetBytes(text));

        var run = await CliRunner.RunAsync(scope.Args("batch", path));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain(name + ": not valid UTF-8");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData("events.csv")]
    [InlineData("events.jsonl")]
    public async Task Batch_FileWithAByteOrderMarkButNotUtf8_ExitsTwoSayingSoAndSendsNothing(string name)
    {
        // A UTF-8 byte order mark, then a line saved as Windows-1252 ("dim\xE9"): the mark must not turn the strict
        // reading lenient (the bytes read as U+FFFD and "dim\uFFFD" sent as the dimension).
        await using var scope = await EmulatorScope.StartAsync();
        var text = name.EndsWith(".csv", StringComparison.Ordinal)
            ? $"{Header}\r\n{EmulatorScope.Resource(0)},plan1,dimé,1,{Hour}\r\n"
            : $$"""{"resourceId":"{{EmulatorScope.Resource(0)}}","planId":"plan1","dimension":"dimé","quantity":1,"effectiveStartTime":"{{Hour}}"}""" + "\r\n";
        var path = Path.Combine(scope.Directory, name);
        await File.WriteAllBytesAsync(path, [0xEF, 0xBB, 0xBF, .. Encoding.Latin1.GetBytes(text)]);

        var run = await CliRunner.RunAsync(scope.Args("batch", path));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain(name + ": not valid UTF-8");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Batch_ByteOrderMarkCrLfMultiByteTextAndNoFinalLineEnd_ReadsEveryLineWithItsNumber()
    {
        // A file saved by a Windows editor: a byte order mark, CRLF line ends, a dimension in Japanese (3 bytes a
        // character) and an emoji one (a surrogate pair), padded so characters straddle the reader's blocks, and no
        // line end after the last line. A bad quantity on the last line is named by its number.
        await using var scope = await EmulatorScope.StartAsync();
        var text = new StringBuilder(Header).Append("\r\n");
        for (var i = 0; i < 40; i++)
        {
            var dimension = i % 2 == 0 ? "\u6e2c\u5b9a" + new string('\u6e2c', i * 37) : "\U0001F680" + new string('x', i * 41);
            text.Append(CultureInfo.InvariantCulture, $"{EmulatorScope.Resource(i)},plan1,{dimension},1,{Hour}\r\n");
        }

        var good = text.ToString().TrimEnd('\r', '\n');
        var bad = good + $"\r\n{EmulatorScope.Resource(40)},plan1,dim1,x,{Hour}";
        var goodPath = Path.Combine(scope.Directory, "good.csv");
        var badPath = Path.Combine(scope.Directory, "bad.csv");
        await File.WriteAllTextAsync(goodPath, good, new UTF8Encoding(true));
        await File.WriteAllTextAsync(badPath, bad, new UTF8Encoding(true));

        var refused = await CliRunner.RunAsync(scope.Args("batch", badPath));
        var run = await CliRunner.RunAsync(scope.Args("batch", goodPath, "--json"));

        refused.ExitCode.Should().Be(2, refused.ToString());
        refused.Error.Should().Contain("bad.csv:42: quantity 'x' is not a number");
        run.ExitCode.Should().Be(0, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("line").GetInt32()).Should().Equal(Enumerable.Range(2, 40));
        scope.Emulator.Ledger.Entries.Select(e => (e.ResourceId, e.Dimension)).Should().BeEquivalentTo(Enumerable.Range(0, 40).Select(i =>
            (EmulatorScope.Resource(i), i % 2 == 0 ? "\u6e2c\u5b9a" + new string('\u6e2c', i * 37) : "\U0001F680" + new string('x', i * 41))));
    }

    [Theory]
    [InlineData("resourceId")]
    [InlineData("quantity")]
    [InlineData("effectiveStartTime")]
    [InlineData("a column name")]
    [InlineData("a JSON property name")]
    public async Task Batch_HugeValueInAFile_ErrorQuotesItsStartAndLengthNotAllOfIt(string where)
    {
        // A corrupt or hostile file (a line of 60,000 characters, under the line limit): the error line must stay readable, not be the line.
        await using var scope = await EmulatorScope.StartAsync();
        var huge = new string('7', 60_000);
        string Field(string name, string value) => where == name ? huge : value;
        var path = where switch
        {
            "a column name" => scope.File("huge.csv", $"{Header},{huge}\n"),
            "a JSON property name" => scope.File("huge.jsonl", $$"""{"{{huge}}":1}""" + "\n"),
            _ => scope.File("huge.csv", $"{Header}\n{Field("resourceId", EmulatorScope.Resource(0).ToString())},plan1,dim1,{Field("quantity", "1")},{Field("effectiveStartTime", Hour)}\n"),
        };

        var run = await CliRunner.RunAsync(scope.Args("batch", path));

        run.ExitCode.Should().Be(2, where);
        run.ErrorLines[0].Should().Contain("7777… (60000 characters)", where);
        run.Error.Length.Should().BeLessThan(1_000, where);
        scope.Emulator.Requests.Should().BeEmpty(where);
    }

    [Theory]
    [InlineData("huge.csv")]
    [InlineData("huge.jsonl")]
    public async Task Batch_LineLongerThanTheLimit_ExitsTwoNamingTheLineAndTheLimitAndSendsNothing(string name)
    {
        // A valid first event, then 4 MB with no line break (a dump or a binary file given by mistake; the same holds for
        // gigabytes, which were read whole into memory before the limit).
        await using var scope = await EmulatorScope.StartAsync();
        var first = name.EndsWith(".csv", StringComparison.Ordinal)
            ? $"{Header}\n{EmulatorScope.Resource(0)},plan1,dim1,1,{Hour}\n"
            : JsonLine(EmulatorScope.Resource(0)) + "\n" + JsonLine(EmulatorScope.Resource(1)) + "\n";
        var path = scope.File(name, first + new string('x', 4 * 1024 * 1024));

        var run = await CliRunner.RunAsync(scope.Args("batch", path));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should()
            .Be($"error: {path}:3: the line is longer than 65536 characters, the most a line may have (an event takes a few hundred); is this a file of events? Nothing was sent.");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Batch_LineOfExactlyTheLimit_IsReadAndOneCharacterMoreIsRefused()
    {
        // JSON allows spaces after the object: the same event padded to the limit is an event; one character more is not.
        await using var scope = await EmulatorScope.StartAsync();
        var line = JsonLine(EmulatorScope.Resource(0));
        var atLimit = scope.File("limit.jsonl", line.PadRight(65_536) + "\r\n");
        var overLimit = scope.File("over.jsonl", line.PadRight(65_537) + "\n");

        var read = await CliRunner.RunAsync(scope.Args("batch", atLimit));
        var refused = await CliRunner.RunAsync(scope.Args("batch", overLimit));

        read.ExitCode.Should().Be(0, read.ToString());
        read.Out.Should().Contain("1 of 1 events delivered.");
        refused.ExitCode.Should().Be(2, refused.ToString());
        refused.Error.Should().Contain("over.jsonl:1: the line is longer than 65536 characters");
        scope.Emulator.Ledger.Count.Should().Be(1);
    }

    private static string JsonLine(Guid resource) =>
        $$"""{"resourceId":"{{resource}}","planId":"plan1","dimension":"dim1","quantity":1,"effectiveStartTime":"{{Hour}}"}""";

    public static TheoryData<string, string, string> BadJsonLines => new()
    {
        { "not JSON", "{\"resourceId\":", ":1: is not a JSON object" },
        { "an array", "[1,2]", ":1: is not a JSON object" },
        { "unknown property", "{\"resourceId\":\"6f1a2b3c-0000-4000-8000-000000000001\",\"quantitiy\":1}", ":1: unknown property 'quantitiy'" },
        { "quantity is text", "{\"resourceId\":\"6f1a2b3c-0000-4000-8000-000000000001\",\"planId\":\"p\",\"dimension\":\"d\",\"quantity\":\"lots\",\"effectiveStartTime\":\"2026-11-20T10:00:00Z\"}", ":1: quantity 'lots' is not a number" },
        { "dimension is a number", "{\"resourceId\":\"6f1a2b3c-0000-4000-8000-000000000001\",\"planId\":\"p\",\"dimension\":3,\"quantity\":1,\"effectiveStartTime\":\"2026-11-20T10:00:00Z\"}", ":1: dimension is number, not text" },
        { "quantity twice", "{\"resourceId\":\"6f1a2b3c-0000-4000-8000-000000000001\",\"planId\":\"p\",\"dimension\":\"d\",\"quantity\":1,\"effectiveStartTime\":\"2026-11-20T10:00:00Z\",\"Quantity\":1000}", ":1: property 'Quantity' appears twice" },
        { "escape in a dimension", "{\"resourceId\":\"6f1a2b3c-0000-4000-8000-000000000001\",\"planId\":\"p\",\"dimension\":\"d\\u001b[2J\",\"quantity\":1,\"effectiveStartTime\":\"2026-11-20T10:00:00Z\"}", ":1: dimension holds a control character (U+001B) at character 2" },
        { "right-to-left override in a plan", "{\"resourceId\":\"6f1a2b3c-0000-4000-8000-000000000001\",\"planId\":\"\\u202Ep\",\"dimension\":\"d\",\"quantity\":1,\"effectiveStartTime\":\"2026-11-20T10:00:00Z\"}", ":1: planId holds a bidirectional formatting character (U+202E) at character 1" },
        { "half a surrogate pair", "{\"resourceId\":\"6f1a2b3c-0000-4000-8000-000000000001\",\"planId\":\"p\",\"dimension\":\"d\\uD800\",\"quantity\":1,\"effectiveStartTime\":\"2026-11-20T10:00:00Z\"}", ":1: dimension is not valid text" },
    };

    [Theory]
    [MemberData(nameof(BadJsonLines))]
    public async Task Batch_BadJsonLine_ExitsTwoNamingTheLineAndSendsNothing(string what, string line, string expected)
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.File("bad.jsonl", line + "\n")));

        run.ExitCode.Should().Be(2, what + "\n" + run);
        run.Error.Should().Contain("bad.jsonl" + expected, what);
        scope.Emulator.Requests.Should().BeEmpty(what);
    }

    [Fact]
    public async Task Batch_HundredThousandLines_DryRunChecksThemAll()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.Csv(100_000, "large.csv");

        var run = await CliRunner.RunAsync(scope.Args("batch", file, "--dry-run", "--json"));

        run.ExitCode.Should().Be(0, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("events").GetInt32().Should().Be(100_000);
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Batch_HundredThousandLines_SendsThemAll()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.Csv(100_000, "large.csv", quantity: _ => 1m);

        var run = await CliRunner.RunAsync(scope.Args("batch", file));

        run.ExitCode.Should().Be(0, run.ToString());
        run.Out.Should().Contain("100000 of 100000 events delivered.");
        scope.Emulator.Ledger.Count.Should().Be(100_000);
        scope.Emulator.Ledger.Entries.Select(e => e.ResourceId).Distinct().Should().HaveCount(100_000);
    }

    [Fact]
    public async Task Batch_TwoHundredThousandLines_SendsThemHoldingAtMostTheBatchesInFlightAndReportsEachLineExactly()
    {
        // The file is read as it is sent, not held: at most four batches of 25 events are read and unanswered at any
        // time (the whole file, 200,000, when it was read into memory first), and every line's result is still the one
        // the service recorded for it, in line order.
        await using var scope = await EmulatorScope.StartAsync();
        const int Count = 200_000;
        var file = scope.Csv(Count, "large.csv", quantity: i => i + 1);
        var mostPending = 0;

        var run = await CliRunner.RunAsync(scope.Args("batch", file, "--json"), environment: null, pendingEventsObserved: n => mostPending = Math.Max(mostPending, n));

        run.ExitCode.Should().Be(0, run.Error);
        mostPending.Should().BeInRange(1, MarketplaceMetering.Cli.Commands.BatchCommand.MaxPendingEvents).And.Be(100);
        scope.Emulator.Ledger.Count.Should().Be(Count);
        var recorded = scope.Emulator.Ledger.Entries.ToDictionary(e => e.ResourceId, e => (e.UsageEventId, e.Quantity));
        using var json = JsonDocument.Parse(run.Out);
        var root = json.RootElement;
        (root.GetProperty("total").GetInt32(), root.GetProperty("answered").GetInt32(), root.GetProperty("delivered").GetInt32(), root.GetProperty("accepted").GetInt32())
            .Should().Be((Count, Count, Count, Count));
        var i = 0;
        foreach (var result in root.GetProperty("results").EnumerateArray())
        {
            var resource = EmulatorScope.Resource(i);
            result.GetProperty("line").GetInt32().Should().Be(i + 2);
            result.GetProperty("resource").GetGuid().Should().Be(resource);
            result.GetProperty("quantity").GetDecimal().Should().Be(i + 1);
            (result.GetProperty("usageEventId").GetGuid(), result.GetProperty("quantity").GetDecimal()).Should().Be(recorded[resource]);
            i++;
        }

        i.Should().Be(Count);
    }

    [Fact]
    public async Task Batch_HundredThousandLinesWithBadOnesNearTheEnd_NamesThoseLinesAndSendsNothing()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var lines = File.ReadAllLines(scope.Csv(100_000, "large.csv"));
        lines[99_998] = lines[99_998].Replace(",plan1,dim1,", ",plan1,dim1,x", StringComparison.Ordinal); // line 99,999
        lines[100_000] = lines[100_000][..^1];                                                                   // line 100,001: no zone
        var file = scope.File("large-bad.csv", string.Join('\n', lines));

        var run = await CliRunner.RunAsync(scope.Args("batch", file));

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("large-bad.csv:99999: quantity 'x99998' is not a number")
            .And.Contain("large-bad.csv:100001: effectiveStartTime")
            .And.Contain("2 bad lines; nothing was sent.");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Batch_ManyBadLines_ShowsTheFirstTenAndCountsTheRest()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.File("bad.csv", Header + "\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"{EmulatorScope.Resource(i)},plan1,dim1,bad,{Hour}\n")));

        var run = await CliRunner.RunAsync(scope.Args("batch", file));

        run.ExitCode.Should().Be(2);
        run.ErrorLines.Should().HaveCount(11);
        run.Error.Should().Contain("50 bad lines (the first 10 are shown); nothing was sent.");
    }

    [Fact]
    public async Task Batch_SomeEventsRejected_ExitsFourAndListsTheirLines()
    {
        await using var scope = await EmulatorScope.StartAsync(o =>
        {
            for (var i = 0; i < 10; i++)
            {
                o.Resources.Add(new EmulatedResource { ResourceId = EmulatorScope.Resource(i), PlanId = "plan1", Dimensions = ["dim1"], Status = i == 4 ? EmulatedResourceStatus.Suspended : EmulatedResourceStatus.Subscribed });
            }
        });
        var lines = File.ReadAllLines(scope.Csv(10)).ToList();
        lines[8] = lines[8].Replace(",dim1,", ",dim9,", StringComparison.Ordinal); // line 9: a dimension the plan lacks
        var file = scope.File("mixed.csv", string.Join('\n', lines));

        var run = await CliRunner.RunAsync(scope.Args("batch", file, "--json"));

        run.ExitCode.Should().Be(4, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("delivered").GetInt32().Should().Be(8);
        json.RootElement.GetProperty("results").EnumerateArray()
            .Where(r => !r.GetProperty("delivered").GetBoolean())
            .Select(r => (r.GetProperty("line").GetInt32(), r.GetProperty("status").GetString()))
            .Should().BeEquivalentTo([(6, "ResourceNotActive"), (9, "InvalidDimension")]);
        scope.Emulator.Ledger.Count.Should().Be(8);

        var table = await CliRunner.RunAsync(scope.Args("batch", file));
        table.ExitCode.Should().Be(4);
        table.Out.Should().Contain("ResourceNotActive").And.Contain("InvalidDimension").And.Contain("8 of 10 events delivered.");
    }

    [Fact]
    public async Task Batch_ServiceRefusesTheToken_ExitsThreeAndSaysNothingWasDelivered()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync("batch", scope.Csv(60), "--endpoint", scope.Emulator.Endpoint.ToString(), "--token", "not-the-token");

        run.ExitCode.Should().Be(3, run.ToString());
        run.Out.Should().Contain("0 of 60 events delivered.");
        scope.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task Batch_RefusedHalfway_SaysHowManyWereDelivered()
    {
        await using var scope = await EmulatorScope.StartAsync();
        scope.Emulator.Faults.Enqueue(EmulatorFault.None, EmulatorFault.Respond(403, """{"message":"Client is not authorized for this usage resource.","code":"Forbidden"}"""));

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.Csv(100), "--json"));

        run.ExitCode.Should().Be(3, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        var delivered = json.RootElement.GetProperty("delivered").GetInt32();
        delivered.Should().Be(scope.Emulator.Ledger.Count).And.BeInRange(25, 75);
        json.RootElement.GetProperty("results").EnumerateArray().Count(r => r.TryGetProperty("code", out var code) && code.GetString() == "Forbidden")
            .Should().BeGreaterThanOrEqualTo(25);
    }

    [Fact]
    public async Task Batch_RefusedByTheService_SendsNoBatchAfterTheRefusalAndSaysSoForTheirEvents()
    {
        // 300 events, 12 batches; the first call is refused (403). The batches already out go on; none is sent after the
        // refusal is seen, and their events say why they were not sent.
        await using var scope = await EmulatorScope.StartAsync();
        scope.Emulator.Faults.Enqueue(EmulatorFault.Respond(403, """{"message":"Client is not authorized for this usage resource.","code":"Forbidden"}"""));

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.Csv(300), "--json"));

        run.ExitCode.Should().Be(3, run.ToString());
        var requests = scope.Emulator.Requests.Count;
        requests.Should().BeLessThanOrEqualTo(7, "4 calls at a time, and at most 3 answered before the refusal is seen");
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("answered").GetInt32().Should().Be(300);
        json.RootElement.GetProperty("delivered").GetInt32().Should().Be(scope.Emulator.Ledger.Count).And.Be((requests - 1) * 25);
        var notSent = json.RootElement.GetProperty("results").EnumerateArray().Where(r => r.TryGetProperty("code", out var code) && code.GetString() == "NotSent").ToList();
        notSent.Should().HaveCount(300 - (requests * 25));
        notSent.Should().OnlyContain(r => r.GetProperty("message").GetString()!.StartsWith("Not sent: the service refused the caller earlier in this run.", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Batch_ManagedAppByUriAndByResourceIdInTwoBatches_CountsOneAsAConflictNotDeliveredTwice(bool firstBatchAnsweredLast)
    {
        // One managed application, given on line 1 by its resource URI and on line 27 by its resource usage id (the file
        // check cannot tell the two names apart), with the same usage: 2 batches. The service records one event and
        // answers the other copy Duplicate with it; each copy alone looks like a replay, so both were counted delivered
        // (27 of 27, exit 0) while 26 events were recorded. One bulk submission caught it across its batches.
        const string Uri = "/subscriptions/0b7f0000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Solutions/applications/app1";
        var usageId = EmulatorScope.Resource(100);
        await using var scope = await EmulatorScope.StartAsync(o =>
        {
            o.Resources.Add(new EmulatedResource { ResourceId = usageId, ResourceUri = Uri, PlanId = "plan1", Dimensions = ["dim1"] });
            for (var i = 0; i < 25; i++)
            {
                o.Resources.Add(new EmulatedResource { ResourceId = EmulatorScope.Resource(i), PlanId = "plan1", Dimensions = ["dim1"] });
            }
        });
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $$"""{"resourceUri":"{{Uri}}","planId":"plan1","dimension":"dim1","quantity":5,"effectiveStartTime":"{{Hour}}"}""").Append('\n');
        for (var i = 0; i < 25; i++)
        {
            text.Append(JsonLine(EmulatorScope.Resource(i))).Append('\n');
        }

        text.Append(CultureInfo.InvariantCulture, $$"""{"resourceId":"{{usageId}}","planId":"plan1","dimension":"dim1","quantity":5,"effectiveStartTime":"{{Hour}}"}""").Append('\n');

        // Held, the first batch reaches the service after the second: line 27 is recorded, and line 1 is its Duplicate.
        using var handler = new FirstLastHandler(EmulatorScope.Resource(0), releaseAfter: 1);
        var run = await CliRunner.RunAsync(scope.Args("batch", scope.File("app.jsonl", text.ToString()), "--json"), environment: null, handler: firstBatchAnsweredLast ? handler : null)
            .WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(4, run.ToString());
        scope.Emulator.Requests.Should().HaveCount(2);
        scope.Emulator.Ledger.Count.Should().Be(26);
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("delivered").GetInt32().Should().Be(26);
        json.RootElement.GetProperty("conflicts").GetInt32().Should().Be(1);
        var copies = json.RootElement.GetProperty("results").EnumerateArray()
            .Where(r => r.GetProperty("line").GetInt32() is 1 or 27)
            .Select(r => (Delivered: r.GetProperty("delivered").GetBoolean(), Id: r.GetProperty("usageEventId").GetGuid()))
            .ToList();
        copies.Should().HaveCount(2);
        copies.Count(c => c.Delivered).Should().Be(1);
        if (firstBatchAnsweredLast)
        {
            copies[1].Delivered.Should().BeTrue("line 27 reached the service first");
        }

        copies.Select(c => c.Id).Should().AllBeEquivalentTo(scope.Emulator.Ledger.Entries.Single(e => e.ResourceId == usageId).UsageEventId);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Batch_ManagedAppByUriDeliveredAndByResourceIdFailed_ReportsTheFailedCopyAsAConflictNamingTheRecordedLine(bool uriFirst)
    {
        // One managed application, by resource URI on one line and by resource usage id on another (line 1 and line 27,
        // two batches); every call carrying the usage id is answered 503, so that copy ends as an Error after its retry
        // while the URI copy is accepted. The hour was recorded: sent again, the failed copy could only come back as a
        // replay of it. As a bulk submission does for a failed copy of a delivered event, it is a conflict naming the
        // line recorded, not an Error to resend (was: Error, "1 of 2 copies undelivered").
        const string Uri = "/subscriptions/0b7f0000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Solutions/applications/app1";
        var usageId = EmulatorScope.Resource(100);
        await using var scope = await EmulatorScope.StartAsync(o =>
        {
            o.Resources.Add(new EmulatedResource { ResourceId = usageId, ResourceUri = Uri, PlanId = "plan1", Dimensions = ["dim1"] });
            for (var i = 0; i < 25; i++)
            {
                o.Resources.Add(new EmulatedResource { ResourceId = EmulatorScope.Resource(i), PlanId = "plan1", Dimensions = ["dim1"] });
            }
        });
        var byUri = $$"""{"resourceUri":"{{Uri}}","planId":"plan1","dimension":"dim1","quantity":5,"effectiveStartTime":"{{Hour}}"}""";
        var byId = $$"""{"resourceId":"{{usageId}}","planId":"plan1","dimension":"dim1","quantity":5,"effectiveStartTime":"{{Hour}}"}""";
        var text = new StringBuilder().Append(uriFirst ? byUri : byId).Append('\n');
        for (var i = 0; i < 25; i++)
        {
            text.Append(JsonLine(EmulatorScope.Resource(i))).Append('\n');
        }

        text.Append(uriFirst ? byId : byUri).Append('\n');
        using var handler = new FailingHandler(usageId);

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.File("app.jsonl", text.ToString()), "--max-retries", "1", "--json"), environment: null, handler: handler)
            .WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(4, run.ToString());
        handler.Failed.Should().Be(2, "the call and its one retry");
        var recorded = scope.Emulator.Ledger.Entries.Single(e => e.ResourceId == usageId);
        var (uriLine, idLine) = uriFirst ? (1, 27) : (27, 1);
        using var json = JsonDocument.Parse(run.Out);
        var root = json.RootElement;
        root.GetProperty("conflicts").GetInt32().Should().Be(1);
        root.GetProperty("byStatus").GetProperty("Error").GetInt32().Should().Be(uriFirst ? 1 : 24, "the other events of the failed batch stay Errors");
        var failed = root.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("line").GetInt32() == idLine);
        failed.GetProperty("status").GetString().Should().Be("Duplicate");
        failed.GetProperty("delivered").GetBoolean().Should().BeFalse();
        failed.GetProperty("usageEventId").GetGuid().Should().Be(recorded.UsageEventId);
        failed.GetProperty("message").GetString().Should().StartWith($"The same event as line {uriLine} (the resource under another name)");
    }

    [Fact]
    public async Task Batch_RefusedWithAnotherErrorCode_SendsNoBatchAfterTheRefusalAndExitsThree()
    {
        // A 403 whose body names another code than "Forbidden" (a gateway's, ARM's "AuthorizationFailed") is a refusal
        // all the same: the client stops a bulk submission on the status, whatever the code. The tool looked at the
        // code only, so it went on sending all 12 batches after the refusal and exited 4 (partial delivery), not 3.
        await using var scope = await EmulatorScope.StartAsync();
        scope.Emulator.Faults.Enqueue(EmulatorFault.Respond(403, """{"message":"The client does not have authorization to perform this action.","code":"AuthorizationFailed"}"""));

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.Csv(300), "--json"));

        run.ExitCode.Should().Be(3, run.ToString());
        var requests = scope.Emulator.Requests.Count;
        requests.Should().BeLessThanOrEqualTo(7, "4 calls at a time, and at most 3 answered before the refusal is seen");
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("delivered").GetInt32().Should().Be(scope.Emulator.Ledger.Count).And.Be((requests - 1) * 25);
        json.RootElement.GetProperty("results").EnumerateArray().Count(r => r.TryGetProperty("code", out var code) && code.GetString() == "NotSent")
            .Should().Be(300 - (requests * 25));
    }

    [Fact]
    public async Task Batch_Refused401WithAGatewaysCode_SendsNoBatchAfterTheRefusalAndExitsThree()
    {
        // A 401 (sent once more with a fresh token, refused again) is a refusal like a 403, whatever code its body gives.
        await using var scope = await EmulatorScope.StartAsync();
        const string Refused = """{"error":{"code":"InvalidAuthenticationToken","message":"The access token is invalid."}}""";
        // Up to 4 batches go out at once and each is sent twice (once more with a fresh token): 8 refusals cover them all.
        scope.Emulator.Faults.Enqueue([.. Enumerable.Repeat(EmulatorFault.Respond(401, Refused), 8)]);

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.Csv(300), "--json"));

        run.ExitCode.Should().Be(3, run.ToString());
        var requests = scope.Emulator.Requests.Count;
        requests.Should().BeLessThanOrEqualTo(8, "4 calls at a time and the refused call's resend, and none after the refusal is seen");
        scope.Emulator.Ledger.Count.Should().Be(0);
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("delivered").GetInt32().Should().Be(0);
        json.RootElement.GetProperty("results").EnumerateArray().Count(r => r.TryGetProperty("code", out var code) && code.GetString() == "NotSent")
            .Should().Be(300 - (requests / 2 * 25), "every line of a batch not sent after the refusal is NotSent");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(25, 1)]
    [InlineData(26, 2)]
    [InlineData(100, 4)]
    [InlineData(101, 5)]
    public async Task Batch_FileOfNEvents_SendsBatchesOf25ListsEveryLineInOrderAndASecondRunReplaysThem(int count, int batches)
    {
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.Csv(count);

        var first = await CliRunner.RunAsync(scope.Args("batch", file, "--json"));
        var again = await CliRunner.RunAsync(scope.Args("batch", file, "--json"));

        first.ExitCode.Should().Be(0, first.ToString());
        scope.Emulator.Requests.Should().HaveCount(2 * batches);
        scope.Emulator.Requests.Take(batches).Sum(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("request").GetArrayLength()).Should().Be(count);
        scope.Emulator.Ledger.Count.Should().Be(count);
        using var json = JsonDocument.Parse(first.Out);
        json.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("line").GetInt32()).Should().Equal(Enumerable.Range(2, count));
        json.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("resource").GetString())
            .Should().Equal(Enumerable.Range(0, count).Select(i => EmulatorScope.Resource(i).ToString()));

        // Sending the file again is safe: every event comes back a replay, delivered once, none a conflict.
        again.ExitCode.Should().Be(0, again.ToString());
        using var replayed = JsonDocument.Parse(again.Out);
        replayed.RootElement.GetProperty("delivered").GetInt32().Should().Be(count);
        replayed.RootElement.GetProperty("replays").GetInt32().Should().Be(count);
        replayed.RootElement.GetProperty("conflicts").GetInt32().Should().Be(0);
        scope.Emulator.Ledger.Count.Should().Be(count);
    }

    [Fact]
    public async Task Batch_CancelledWhileABatchWaitsToRetry_ReportsItUnansweredAndExits130()
    {
        // The only batch is answered 503 and waits to try again when the run is cancelled: it was not answered (its
        // events are not Errors), and the tool says they may or may not have reached the service.
        await using var scope = await EmulatorScope.StartAsync();
        scope.Emulator.Faults.Enqueue(Enumerable.Repeat(EmulatorFault.ServerError(503), 10).ToArray());
        using var stop = new CancellationTokenSource();
        var running = CliRunner.RunAsync(scope.Args("batch", scope.Csv(25), "--max-retries", "8", "--json"), environment: null, cancellationToken: stop.Token);
        await Task.Run(async () =>
        {
            while (scope.Emulator.Requests.Count < 1)
            {
                await Task.Delay(20);
            }
        }).WaitAsync(TimeSpan.FromSeconds(60));
        stop.Cancel();

        var run = await running.WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(130, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("answered").GetInt32().Should().Be(0);
        json.RootElement.GetProperty("results").GetArrayLength().Should().Be(0);
        run.ErrorLines.Should().ContainSingle().Which.Should().StartWith("error: cancelled after 0 of 25 events were answered; the other 25 may or may not have reached the service.");
        scope.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task Batch_ServerKeepsFailing_ExitsFourWithTheEventsUndelivered()
    {
        await using var scope = await EmulatorScope.StartAsync();
        scope.Emulator.Faults.Enqueue(Enumerable.Repeat(EmulatorFault.ServerError(503), 2).ToArray());

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.Csv(25), "--max-retries", "1", "--json"));

        run.ExitCode.Should().Be(4, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("delivered").GetInt32().Should().Be(0);
        json.RootElement.GetProperty("byStatus").GetProperty("Error").GetInt32().Should().Be(25);
        scope.Emulator.Requests.Should().HaveCount(2);
    }

    [Fact]
    public async Task Batch_Cancelled_SaysHowManyWereAnsweredAndThatTheRestMayHaveBeenSent()
    {
        await using var scope = await EmulatorScope.StartAsync();
        scope.Emulator.Faults.Enqueue(EmulatorFault.None, EmulatorFault.Latency(TimeSpan.FromSeconds(10)), EmulatorFault.Latency(TimeSpan.FromSeconds(10)), EmulatorFault.Latency(TimeSpan.FromSeconds(10)));
        using var stop = new CancellationTokenSource();
        var output = new StringWriter();
        var running = CliRunner.RunAsync(scope.Args("batch", scope.Csv(100), "--json"), environment: null, output, cancellationToken: stop.Token);
        await Task.Run(async () =>
        {
            // Cancel once the slow batches are in flight (the emulator has received them), whatever the machine's speed.
            while (scope.Emulator.Requests.Count < 4)
            {
                await Task.Delay(20);
            }
        }).WaitAsync(TimeSpan.FromSeconds(60));
        stop.Cancel();

        var run = await running.WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(130, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("complete").GetBoolean().Should().BeFalse();
        var answered = json.RootElement.GetProperty("answered").GetInt32();
        answered.Should().BeLessThan(100);
        run.Error.Should().Contain($"cancelled after {answered} of 100 events were answered; the other {100 - answered} may or may not have reached the service");
    }

    [Fact]
    public async Task Batch_CancelledAndTheFileChanged_SaysBothInTheCancelledLine()
    {
        // Line 252's quantity (350) is saved as 999 and the run is cancelled as the first batch goes out: the report,
        // reading the file again, stops at the change. The exit-130 line said only how many events were answered, not
        // that the file had changed (and that the report stopped there).
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.Csv(300, quantity: i => 100 + i);
        var changed = System.IO.File.ReadAllText(file).Replace(",plan1,dim1,350,", ",plan1,dim1,999,", StringComparison.Ordinal);
        using var stop = new CancellationTokenSource();
        using var handler = new RequestHandler(1, () =>
        {
            System.IO.File.WriteAllText(file, changed);
            stop.Cancel();
        });

        var run = await CliRunner.RunAsync(scope.Args("batch", file, "--json"), environment: null, handler: handler, cancellationToken: stop.Token)
            .WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(130, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().StartWith("error: cancelled after ")
            .And.Contain($"{file} also changed during the run").And.Contain("the report lists no line from the first one changed on");
        scope.Emulator.Ledger.Entries.Should().NotContain(e => e.Quantity == 999m);
    }

    [Fact]
    public async Task Batch_CancelledAndTheFileDeleted_SaysInTheCancelledLineThatItCouldNoLongerBeRead()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.Csv(300);
        using var stop = new CancellationTokenSource();
        using var handler = new RequestHandler(1, () =>
        {
            System.IO.File.Delete(file);
            stop.Cancel();
        });

        var run = await CliRunner.RunAsync(scope.Args("batch", file, "--json"), environment: null, handler: handler, cancellationToken: stop.Token)
            .WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(130, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().StartWith("error: cancelled after ")
            .And.Contain($"{file} also could no longer be read during the run (Could not find file").And.NotContain("changed");
    }

    [Fact]
    public async Task Batch_CancelledWhileTheFirstBatchIsOut_ReportsEveryBatchAnsweredBeforeAsTheServiceRecordedThem()
    {
        // 200 events (8 batches, 4 at a time). The first batch is held, never sent; the next three reach the emulator and
        // are answered; the batches sent after them are held too, and the third of those cancels the run, so by then
        // the three answers have come back and nothing else is out. Reporting in input order, the tool had said 0 of
        // 200 answered (everything waited behind the first batch) while the emulator had recorded 75.
        await using var scope = await EmulatorScope.StartAsync();
        using var stop = new CancellationTokenSource();
        using var handler = new HoldingHandler(stop, held: EmulatorScope.Resource(0), forward: 3, cancelAtRequest: 7);

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.Csv(200), "--json"), environment: null, handler: handler, cancellationToken: stop.Token)
            .WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(130, run.ToString());
        scope.Emulator.Ledger.Count.Should().Be(75);
        scope.Emulator.Requests.Should().HaveCount(3);
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("complete").GetBoolean().Should().BeFalse();
        json.RootElement.GetProperty("answered").GetInt32().Should().Be(75);
        json.RootElement.GetProperty("delivered").GetInt32().Should().Be(75);
        json.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("line").GetInt32()).Should().NotContain(Enumerable.Range(2, 25), "the first batch (lines 2 to 26) was never answered");
        run.ErrorLines.Should().ContainSingle().Which.Should()
            .StartWith("error: cancelled after 75 of 200 events were answered; the other 125 may or may not have reached the service.");
    }

    [Fact]
    public async Task Batch_FirstBatchAnsweredLast_FilesEveryResultAtItsOwnLine()
    {
        // 150 events (6 batches, 4 at a time). The first batch is held until 3 others have been answered, so the answers
        // come back out of order; each line must still show the id the service recorded for that line's resource.
        await using var scope = await EmulatorScope.StartAsync();
        using var handler = new FirstLastHandler(EmulatorScope.Resource(0), releaseAfter: 3);

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.Csv(150, quantity: i => i + 1), "--json"), environment: null, handler: handler)
            .WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(0, run.ToString());
        handler.HeldWasAnsweredAfterOthers.Should().BeTrue();
        var recorded = scope.Emulator.Ledger.Entries.ToDictionary(e => e.ResourceId, e => (e.UsageEventId, e.Quantity));
        using var json = JsonDocument.Parse(run.Out);
        var results = json.RootElement.GetProperty("results").EnumerateArray().ToList();
        results.Select(r => r.GetProperty("line").GetInt32()).Should().Equal(Enumerable.Range(2, 150));
        results.Select(r => (r.GetProperty("usageEventId").GetGuid(), r.GetProperty("quantity").GetDecimal()))
            .Should().Equal(Enumerable.Range(0, 150).Select(i => recorded[EmulatorScope.Resource(i)]));
    }

    [Fact]
    public async Task Batch_OneBatchFailsAfterItsRetries_TheOthersAreDeliveredAndItsLinesListedAsErrors()
    {
        // 100 events; every call of the second batch (lines 27 to 51) is answered 503. That batch's events are Errors
        // after its retries; the three others are delivered; exit 4, every line in order.
        await using var scope = await EmulatorScope.StartAsync();
        using var handler = new FailingHandler(EmulatorScope.Resource(25));

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.Csv(100), "--max-retries", "1", "--json"), environment: null, handler: handler)
            .WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(4, run.ToString());
        handler.Failed.Should().Be(2, "the call and its one retry");
        scope.Emulator.Ledger.Count.Should().Be(75);
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("delivered").GetInt32().Should().Be(75);
        json.RootElement.GetProperty("complete").GetBoolean().Should().BeTrue();
        var results = json.RootElement.GetProperty("results").EnumerateArray().ToList();
        results.Select(r => r.GetProperty("line").GetInt32()).Should().Equal(Enumerable.Range(2, 100));
        results.Where(r => !r.GetProperty("delivered").GetBoolean()).Select(r => r.GetProperty("line").GetInt32()).Should().Equal(Enumerable.Range(27, 25));
        results.Where(r => !r.GetProperty("delivered").GetBoolean()).Should().OnlyContain(r => r.GetProperty("status").GetString() == "Error");
    }

    [Fact]
    public async Task Batch_FileCutShortWhileItIsSent_StopsThereSaysSoAndExitsFour()
    {
        // The file is checked, then read again as it is sent: cut to 10 events when the first batch goes out, it no
        // longer reads as checked. The sending stops where the file ends now, and the run says the file changed
        // instead of reporting the 300 events checked as sent.
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.Csv(300);
        var shorter = string.Join('\n', System.IO.File.ReadAllText(file).Split('\n').Take(11)) + "\n";
        using var handler = new FirstRequestHandler(() => System.IO.File.WriteAllText(file, shorter));

        var run = await CliRunner.RunAsync(scope.Args("batch", file), environment: null, handler: handler).WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(4, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().StartWith($"error: {file}: the file changed while it was sent");
        scope.Emulator.Ledger.Count.Should().BeLessThan(300);
    }

    [Fact]
    public async Task Batch_LineChangedWhileItIsSentInAFileAsLongAsBefore_SendsNoEventAfterTheChangeSaysSoAndExitsFour()
    {
        // An editor saves one line with another quantity (350 becomes 999) when the first batch goes out: the file has
        // as many lines and bytes as when it was checked. The event changed was never checked (nor was any after it),
        // so it must not be sent; it was, and the run ended with exit 0, reporting 999 as delivered.
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.Csv(300, quantity: i => 100 + i);
        var changed = System.IO.File.ReadAllText(file).Replace(",plan1,dim1,350,", ",plan1,dim1,999,", StringComparison.Ordinal);
        using var handler = new RequestHandler(1, () => System.IO.File.WriteAllText(file, changed));

        var run = await CliRunner.RunAsync(scope.Args("batch", file, "--json"), environment: null, handler: handler).WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(4, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().StartWith($"error: {file}: the file changed while it was sent");
        scope.Emulator.Ledger.Entries.Should().NotContain(e => e.Quantity == 999m);
        scope.Emulator.Ledger.Entries.Should().OnlyContain(e => e.Quantity < 350m, "no event from the changed line on was sent");
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("results").EnumerateArray().Should().OnlyContain(r => r.GetProperty("quantity").GetDecimal() == r.GetProperty("line").GetInt32() + 98);
    }

    [Fact]
    public async Task Batch_LineChangedWhileItIsSent_JsonSaysTheRunIsNotCompleteAndTheTableShowsNoQuantities()
    {
        // The sending stopped at the changed line, short of the 300 lines checked: "complete" said true (it meant only
        // "not cancelled"), and the table would sum quantities read from the changed file.
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.Csv(300, quantity: i => 100 + i);
        var changed = System.IO.File.ReadAllText(file).Replace(",plan1,dim1,350,", ",plan1,dim1,999,", StringComparison.Ordinal);
        using (var handler = new RequestHandler(1, () => System.IO.File.WriteAllText(file, changed)))
        {
            var json = await CliRunner.RunAsync(scope.Args("batch", file, "--json"), environment: null, handler: handler).WaitAsync(TimeSpan.FromSeconds(60));

            json.ExitCode.Should().Be(4, json.ToString());
            using var document = JsonDocument.Parse(json.Out);
            document.RootElement.GetProperty("complete").GetBoolean().Should().BeFalse("the sending stopped at the changed line");
        }

        await using var other = await EmulatorScope.StartAsync();
        var again = other.Csv(300, quantity: i => 100 + i);
        using var tableHandler = new RequestHandler(1, () => System.IO.File.WriteAllText(again, System.IO.File.ReadAllText(again).Replace(",plan1,dim1,350,", ",plan1,dim1,999,", StringComparison.Ordinal)));
        var table = await CliRunner.RunAsync(other.Args("batch", again), environment: null, handler: tableHandler).WaitAsync(TimeSpan.FromSeconds(60));

        table.ExitCode.Should().Be(4, table.ToString());
        var rows = table.Out.Split('\n').Where(l => l.Contains("Accepted", StringComparison.Ordinal) || l.Contains("Not answered", StringComparison.Ordinal)).ToList();
        rows.Should().HaveCount(2, table.Out).And.OnlyContain(r => r.Contains('?'), "no quantity is summed from the changed file");
    }

    [Fact]
    public async Task Batch_RefusedByTheServiceAndTheFileChanged_ExitsThreeAndStillSaysTheFileChanged()
    {
        // The first call is refused (403) and line 252's quantity (350) is saved as 999 as it goes out: the rest of the
        // file, read for its NotSent lines, no longer reads as checked. The run exited 4, the code of a partial
        // delivery, and a script never heard that the credential was refused.
        await using var scope = await EmulatorScope.StartAsync();
        scope.Emulator.Faults.Enqueue(EmulatorFault.Respond(403, """{"message":"Client is not authorized for this usage resource.","code":"Forbidden"}"""));
        var file = scope.Csv(300, quantity: i => 100 + i);
        var changed = System.IO.File.ReadAllText(file).Replace(",plan1,dim1,350,", ",plan1,dim1,999,", StringComparison.Ordinal);
        using var handler = new RequestHandler(1, () => System.IO.File.WriteAllText(file, changed));

        var run = await CliRunner.RunAsync(scope.Args("batch", file), environment: null, handler: handler).WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(3, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().StartWith($"error: {file}: the file changed while it was sent");
        scope.Emulator.Ledger.Entries.Should().NotContain(e => e.Quantity == 999m);
    }

    [Fact]
    public async Task Batch_LineChangedAfterItWasSent_ReportsNoLineFromTheChangeOnSaysSoAndExitsFour()
    {
        // Every event was sent as checked; line 7's quantity (105) is then saved as 999, before the report reads the file
        // again. The report paired line 7's outcome with 999, which was never sent, and the run ended with exit 0.
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.Csv(300, quantity: i => 100 + i);
        var changed = System.IO.File.ReadAllText(file).Replace(",plan1,dim1,105,", ",plan1,dim1,999,", StringComparison.Ordinal);
        using var handler = new RequestHandler(12, () => System.IO.File.WriteAllText(file, changed));

        var run = await CliRunner.RunAsync(scope.Args("batch", file, "--json"), environment: null, handler: handler).WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(4, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().StartWith($"error: {file}: the file changed after it was sent");
        scope.Emulator.Ledger.Count.Should().Be(300);
        scope.Emulator.Ledger.Entries.Should().NotContain(e => e.Quantity == 999m);
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("delivered").GetInt32().Should().Be(300);
        json.RootElement.GetProperty("results").EnumerateArray().Select(r => (r.GetProperty("line").GetInt32(), r.GetProperty("quantity").GetDecimal()))
            .Should().Equal(Enumerable.Range(0, 5).Select(i => (i + 2, 100m + i)), "the lines before the change, each with the event sent");
    }

    [Theory]
    [InlineData("deleted", "Could not find file")]
    [InlineData("replaced by a folder", "it is now a folder")]
    public async Task Batch_FileThatCanNoLongerBeReadAfterItWasSent_SaysItCouldNotBeReadWithTheReasonNotThatItChangedAndExitsFour(string what, string reason)
    {
        // The file is deleted (or replaced by a folder: both fail for root too) as the first batch goes out. The sending
        // holds the file open and ends; the report, opening it again, cannot. That was told as "the file changed".
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.Csv(100);
        using var handler = new RequestHandler(1, () =>
        {
            System.IO.File.Delete(file);
            if (what == "replaced by a folder")
            {
                System.IO.Directory.CreateDirectory(file);
            }
        });

        var run = await CliRunner.RunAsync(scope.Args("batch", file, "--json"), environment: null, handler: handler).WaitAsync(TimeSpan.FromSeconds(60));

        run.ExitCode.Should().Be(4, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().StartWith($"error: {file}: the file could no longer be read after it was sent (")
            .And.Contain(reason).And.NotContain("changed").And.NotContain("   at ");
        scope.Emulator.Ledger.Count.Should().Be(100);
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("delivered").GetInt32().Should().Be(100);
        json.RootElement.GetProperty("results").GetArrayLength().Should().Be(0, "no line could be read again for the report");
    }

    /// <summary>Runs <c>action</c> before request number <c>at</c> is sent on to the emulator.</summary>
    private sealed class RequestHandler(int at, Action action) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _requests;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _requests) == at)
            {
                action();
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Runs <c>first</c> before the first request is sent on to the emulator.</summary>
    private sealed class FirstRequestHandler(Action first) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _requests;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _requests) == 1)
            {
                first();
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Answers 503 to every request that carries <c>failing</c>; sends the others to the emulator.</summary>
    private sealed class FailingHandler(Guid failing) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _failed;

        public int Failed => _failed;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = await request.Content!.ReadAsStringAsync(cancellationToken);
            if (body.Contains(failing.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                Interlocked.Increment(ref _failed);
                return new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable) { RequestMessage = request, Content = new StringContent("""{"code":"ServiceUnavailable","message":"try later"}""", System.Text.Encoding.UTF8, "application/json") };
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>Holds the request that carries <c>held</c> until <c>releaseAfter</c> other requests have been answered.</summary>
    private sealed class FirstLastHandler(Guid held, int releaseAfter) : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _answered;

        public bool HeldWasAnsweredAfterOthers { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = await request.Content!.ReadAsStringAsync(cancellationToken);
            if (body.Contains(held.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                await _release.Task.WaitAsync(cancellationToken);
                HeldWasAnsweredAfterOthers = true;
                return await base.SendAsync(request, cancellationToken);
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (Interlocked.Increment(ref _answered) == releaseAfter)
            {
                _release.TrySetResult();
            }

            return response;
        }
    }

    /// <summary>
    /// Sends to the emulator the first <c>forward</c> requests that do not carry <c>held</c>; holds every other request
    /// (never sent) until the run is cancelled, and cancels it when the <c>cancelAtRequest</c>-th request arrives.
    /// </summary>
    private sealed class HoldingHandler(CancellationTokenSource stop, Guid held, int forward, int cancelAtRequest) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _requests;
        private int _forwarded;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = await request.Content!.ReadAsStringAsync(cancellationToken);
            var number = Interlocked.Increment(ref _requests);
            if (!body.Contains(held.ToString(), StringComparison.OrdinalIgnoreCase) && Interlocked.Increment(ref _forwarded) <= forward)
            {
                return await base.SendAsync(request, cancellationToken);
            }

            if (number == cancelAtRequest)
            {
                await stop.CancelAsync();
            }

            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }

    [SkippableFact]
    public async Task Batch_EventsFromAPipeWithNoRoomForTheCopy_ExitsTwoNamingTheCopySendsNothingAndLeavesNoCopy()
    {
        // The temporary copy of a pipe fills its folder (a tmpfs of 64 KiB here, a full /tmp in life: ENOSPC). It was a
        // raw "No space left on device" with exit 1, the code of a service that failed (which a script may retry).
        Skip.IfNot(OperatingSystem.IsLinux(), "makes a named pipe with mkfifo");
        await using var scope = await EmulatorScope.StartAsync();
        var folder = System.IO.Directory.CreateDirectory(Path.Combine(scope.Directory, "small")).FullName;
        Skip.If(await RunAsync("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", folder) != 0, "mounting a small tmpfs needs root");
        try
        {
            var content = System.IO.File.ReadAllText(scope.Csv(3_000));
            var pipe = await PipeAsync(scope, content);

            var run = await Task.Run(() => CliRunner.RunAsync(scope.Args("batch", pipe.Path), environment: null, temporaryFolder: folder)).WaitAsync(TimeSpan.FromSeconds(30));
            await pipe.Writer;

            run.ExitCode.Should().Be(2, run.ToString());
            run.ErrorLines.Should().ContainSingle().Which.Should().Contain("copied to a temporary file").And.Contain(folder).And.Contain("No space left on device").And.EndWith("Nothing was sent.");
            scope.Emulator.Requests.Should().BeEmpty();
            System.IO.Directory.GetFiles(folder).Should().BeEmpty("the copy is deleted");
        }
        finally
        {
            await RunAsync("umount", folder);
        }
    }

    [SkippableFact]
    public async Task Batch_EventsFromAPipeWithATemporaryFolderThatCannotBeWritten_ExitsTwoNamingTheCopyNotThePipe()
    {
        // The copy cannot be created (here its folder is a file): it said "/dev/stdin: cannot be read (Could not find a
        // part of the path …)", as if the pipe had failed.
        Skip.IfNot(OperatingSystem.IsLinux(), "makes a named pipe with mkfifo");
        await using var scope = await EmulatorScope.StartAsync();
        var notAFolder = scope.File("not-a-folder", string.Empty);
        var pipe = await PipeAsync(scope, System.IO.File.ReadAllText(scope.Csv(3)));

        var run = await Task.Run(() => CliRunner.RunAsync(scope.Args("batch", pipe.Path), environment: null, temporaryFolder: notAFolder)).WaitAsync(TimeSpan.FromSeconds(30));
        await pipe.Writer;

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain("copied to a temporary file").And.Contain(notAFolder).And.Contain("cannot be created").And.Contain("TMPDIR");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [SkippableFact]
    public async Task Batch_EventsFromAPipeWhoseCopyACleanerRemovesMidRun_AreStillSentAndReportedFromTheCopy()
    {
        // A cleaner of the temporary folder (systemd-tmpfiles, a cron job) removes the copy while the events are sent:
        // the rest of the run could not read it, stopped and said that the file "changed while it was sent" (exit 4),
        // blaming a pipe that had not changed. The copy is now read through the handle the check made it with.
        Skip.IfNot(OperatingSystem.IsLinux(), "makes a named pipe with mkfifo");
        await using var scope = await EmulatorScope.StartAsync();
        var folder = System.IO.Directory.CreateDirectory(Path.Combine(scope.Directory, "tmp")).FullName;
        var pipe = await PipeAsync(scope, System.IO.File.ReadAllText(scope.Csv(300)));
        using var handler = new RequestHandler(1, () =>
        {
            foreach (var copy in System.IO.Directory.GetFiles(folder))
            {
                System.IO.File.Delete(copy);
            }
        });

        var run = await Task.Run(() => CliRunner.RunAsync(scope.Args("batch", pipe.Path, "--json"), environment: null, handler: handler, temporaryFolder: folder)).WaitAsync(TimeSpan.FromSeconds(60));
        await pipe.Writer;

        run.ExitCode.Should().Be(0, run.ToString());
        scope.Emulator.Ledger.Count.Should().Be(300);
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("results").EnumerateArray().Select(r => (r.GetProperty("line").GetInt32(), r.GetProperty("quantity").GetDecimal()))
            .Should().Equal(Enumerable.Range(0, 300).Select(i => (i + 2, (decimal)(i + 1))));
    }

    [SkippableFact]
    public async Task Batch_CancelledWhileAPipeIsChecked_StopsTheCheckSendsNothingAndExits130()
    {
        // Ctrl+C while a long stream is checked: the check went on to the end (here to a bad line, exit 2; with a good
        // file, to "cancelled after 0 of N events were answered; the other N may or may not have reached the service",
        // though none was sent). It now stops at the next event, says nothing was sent and exits 130.
        Skip.IfNot(OperatingSystem.IsLinux(), "makes a named pipe with mkfifo");
        await using var scope = await EmulatorScope.StartAsync();
        var lines = System.IO.File.ReadAllText(scope.Csv(200)).Split('\n');
        var pipe = Path.Combine(scope.Directory, "events");
        (await RunAsync("mkfifo", pipe)).Should().Be(0);
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            await using var stream = new FileStream(pipe, FileMode.Open, FileAccess.Write);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(string.Join('\n', lines.Take(101)) + "\n"));
            await stream.FlushAsync();
            await stop.CancelAsync();
            try
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes(string.Join('\n', lines.Skip(101)) + "not,a,line\n"));
                await stream.FlushAsync();
            }
            catch (IOException)
            {
                // The check stopped and closed the pipe first (EPIPE).
            }
        });
        var folder = System.IO.Directory.CreateDirectory(Path.Combine(scope.Directory, "tmp")).FullName;

        var run = await Task.Run(() => CliRunner.RunAsync(scope.Args("batch", pipe), environment: null, temporaryFolder: folder, cancellationToken: stop.Token)).WaitAsync(TimeSpan.FromSeconds(30));
        await writer;

        run.ExitCode.Should().Be(130, run.ToString());
        run.ErrorLines.Should().Equal($"error: cancelled while {pipe} was checked; nothing was sent.");
        scope.Emulator.Requests.Should().BeEmpty();
        System.IO.Directory.GetFiles(folder).Should().BeEmpty();
    }

    [SkippableFact]
    public async Task Batch_DryRunFromAPipe_ChecksItWithoutATemporaryCopy()
    {
        // A dry run reads the stream once: it was copied all the same, so a stream larger than the temporary folder's room
        // failed to be checked (here the folder cannot be written at all: exit 2, "cannot be created").
        Skip.IfNot(OperatingSystem.IsLinux(), "makes a named pipe with mkfifo");
        await using var scope = await EmulatorScope.StartAsync();
        var notAFolder = scope.File("not-a-folder", string.Empty);
        var pipe = await PipeAsync(scope, System.IO.File.ReadAllText(scope.Csv(30)));

        var run = await Task.Run(() => CliRunner.RunAsync(scope.Args("batch", pipe.Path, "--dry-run"), environment: null, temporaryFolder: notAFolder)).WaitAsync(TimeSpan.FromSeconds(30));
        await pipe.Writer;

        run.ExitCode.Should().Be(0, run.ToString());
        run.Out.Should().Contain("30 events, all valid; nothing was sent (--dry-run).");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    /// <summary>A named pipe in the test's folder, and the task that writes <c>content</c> into it once it is opened (a reader that stops early is no failure).</summary>
    private static async Task<(string Path, Task Writer)> PipeAsync(EmulatorScope scope, string content)
    {
        var pipe = Path.Combine(scope.Directory, "events-" + Guid.NewGuid().ToString("N")[..8]);
        (await RunAsync("mkfifo", pipe)).Should().Be(0);
        var writer = Task.Run(async () =>
        {
            try
            {
                await using var stream = new FileStream(pipe, FileMode.Open, FileAccess.Write);
                await stream.WriteAsync(Encoding.UTF8.GetBytes(content));
            }
            catch (IOException)
            {
                // The reader closed the pipe (EPIPE).
            }
        });
        return (pipe, writer);
    }

    private static async Task<int> RunAsync(string program, params string[] args)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(program, args) { RedirectStandardError = true });
        await process!.WaitForExitAsync();
        return process.ExitCode;
    }

    [SkippableFact]
    public async Task Batch_EventsFromAPipe_AreCheckedThenSentFromACopyAndReportedLineByLine()
    {
        // A named pipe (as /dev/stdin or <(generate) is) reads once: the events are checked as they stream in and copied
        // to a temporary file, from which they are sent and reported. Without the copy the second read waits for a
        // writer that never comes. No extension: the format is told from the first line, also read once.
        Skip.IfNot(OperatingSystem.IsLinux(), "makes a named pipe with mkfifo");
        await using var scope = await EmulatorScope.StartAsync();
        var content = System.IO.File.ReadAllText(scope.Csv(60));
        var pipe = Path.Combine(scope.Directory, "events");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", pipe))
        {
            await mkfifo.WaitForExitAsync();
        }

        var writer = Task.Run(async () =>
        {
            await using var stream = new FileStream(pipe, FileMode.Open, FileAccess.Write);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(content));
        });
        var temporary = System.IO.Directory.GetFiles(Path.GetTempPath(), "metering-*.events").Length;

        // On a thread of its own: a read that waits for a writer blocks before the run's first await.
        var run = await Task.Run(() => CliRunner.RunAsync(scope.Args("batch", pipe, "--json"))).WaitAsync(TimeSpan.FromSeconds(30));
        await writer;

        run.ExitCode.Should().Be(0, run.ToString());
        scope.Emulator.Ledger.Count.Should().Be(60);
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("delivered").GetInt32().Should().Be(60);
        json.RootElement.GetProperty("results").EnumerateArray().Select(r => (r.GetProperty("line").GetInt32(), r.GetProperty("quantity").GetDecimal()))
            .Should().Equal(Enumerable.Range(0, 60).Select(i => (i + 2, (decimal)(i + 1))));
        System.IO.Directory.GetFiles(Path.GetTempPath(), "metering-*.events").Length.Should().BeLessThanOrEqualTo(temporary, "the copy is deleted");
    }

    [SkippableFact]
    public async Task Batch_FileThatCannotBeRead_ExitsTwoNamingItAndSendsNothing()
    {
        // A file that exists but whose read fails (here a process's memory file, whose first page is unmapped: the read
        // fails with an I/O error, even for root; an unreadable file of another user fails the same way, on open). That is
        // bad input, exit 2, not a failure of the service (exit 1, which a script may retry).
        Skip.IfNot(OperatingSystem.IsLinux(), "reads Linux's /proc/self/mem");
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args("batch", "/proc/self/mem"));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().StartWith("error: /proc/self/mem: cannot be read").And.Contain("Nothing was sent");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Batch_FolderForTheFile_ExitsTwoSayingItIsAFolderNotThatItIsMissing()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args("batch", scope.Directory));

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Be($"error: {scope.Directory}: is a folder, not a file of events; nothing was sent.");
        scope.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Batch_MissingFile_ExitsTwo()
    {
        var run = await CliRunner.RunAsync("batch", "/nonexistent/events.csv", "--token", "t");

        run.ExitCode.Should().Be(2);
        run.Error.Should().Contain("/nonexistent/events.csv: file not found.");
    }
}
