using System.Globalization;
using System.Text.Json;
using MarketplaceMetering.Emulator;

namespace MarketplaceMetering.Cli.Tests.Commands;

/// <summary><c>metering emit</c> over real HTTP against the emulator: the typed result, exit codes, one-line errors.</summary>
public class EmitCommandTests
{
    private static string Hour => EmulatorScope.LastHour.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string[] Event(string quantity = "2.5", string? time = null) =>
        ["emit", "--resource-id", EmulatorScope.Resource(0).ToString(), "--plan", "plan1", "--dimension", "dim1", "--quantity", quantity, "--time", time ?? Hour];

    [Fact]
    public async Task Emit_ValidEvent_ExitsZeroAndPrintsTheAcceptedEventTheEmulatorRecorded()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args(Event()));

        run.ExitCode.Should().Be(0, run.ToString());
        var entry = scope.Emulator.Ledger.Entries.Should().ContainSingle().Subject;
        entry.Quantity.Should().Be(2.5m);
        entry.EffectiveStartTime.Should().Be(EmulatorScope.LastHour);
        run.Out.Should().Contain("Accepted").And.Contain(entry.UsageEventId.ToString("D"));
        run.Error.Should().BeEmpty();
    }

    [Fact]
    public async Task Emit_Json_PrintsTheResultAsOneJsonObject()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args([.. Event(), "--json"]));

        run.ExitCode.Should().Be(0, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("status").GetString().Should().Be("Accepted");
        json.RootElement.GetProperty("delivered").GetBoolean().Should().BeTrue();
        json.RootElement.GetProperty("usageEventId").GetGuid().Should().Be(scope.Emulator.Ledger.Entries.Single().UsageEventId);
        json.RootElement.GetProperty("quantity").GetDecimal().Should().Be(2.5m);
    }

    [Fact]
    public async Task Emit_SameHourWithAnotherQuantity_ExitsWithPartialDeliveryAndNamesTheConflict()
    {
        await using var scope = await EmulatorScope.StartAsync();
        (await CliRunner.RunAsync(scope.Args(Event("1")))).ExitCode.Should().Be(0);

        var run = await CliRunner.RunAsync(scope.Args([.. Event("2"), "--json"]));

        run.ExitCode.Should().Be(4, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("status").GetString().Should().Be("Duplicate");
        json.RootElement.GetProperty("code").GetString().Should().Be("Conflict");
        json.RootElement.GetProperty("message").GetString().Should().Contain("quantity 1");
    }

    [Fact]
    public async Task Emit_PlanTheServiceRefuses_PrintsTheDetailsMessageNotTheGenericOne()
    {
        // The emulator answers the documented 400: "One or more errors have occurred." at the top, the field in details.
        await using var scope = await EmulatorScope.StartAsync(o =>
            o.Resources.Add(new MarketplaceMetering.Emulator.EmulatedResource { ResourceId = EmulatorScope.Resource(0), PlanId = "plan2", Dimensions = ["dim1"] }));

        var run = await CliRunner.RunAsync(scope.Args([.. Event(), "--json"]));

        run.ExitCode.Should().Be(4, run.ToString());
        using var json = JsonDocument.Parse(run.Out);
        json.RootElement.GetProperty("status").GetString().Should().Be("BadArgument");
        json.RootElement.GetProperty("code").GetString().Should().Be("BadArgument");
        json.RootElement.GetProperty("message").GetString().Should().Be("The usageEvent.planId does not match the resource's plan.");
        scope.Emulator.Ledger.Count.Should().Be(0);
    }

    [Fact]
    public async Task Emit_SameEventAgain_IsAReplayAndExitsZero()
    {
        await using var scope = await EmulatorScope.StartAsync();
        await CliRunner.RunAsync(scope.Args(Event()));

        var run = await CliRunner.RunAsync(scope.Args(Event()));

        run.ExitCode.Should().Be(0, run.ToString());
        run.Out.Should().Contain("Duplicate").And.Contain("replay");
    }

    [Fact]
    public async Task Emit_TokenTheServiceRefuses_ExitsThreeWithOneLineThatHidesTheToken()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync([.. Event(), "--endpoint", scope.Emulator.Endpoint.ToString(), "--token", "wrong-secret-token-xyz"]);

        run.ExitCode.Should().Be(3, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().StartWith("error: ").And.Contain("403");
        (run.Out + run.Error).Should().NotContain("wrong-secret-token-xyz");
        run.Error.Should().NotContain("   at ");
        scope.Emulator.Ledger.Count.Should().Be(0);
    }

    [Theory]
    [InlineData("emit", "--token", "Bearer " + EmulatorScope.Token, "character 7 of 26 is a space; a token is one word of printable ASCII (give the token without 'Bearer ')")]
    [InlineData("batch", "--token", "Bearer " + EmulatorScope.Token, "character 7 of 26 is a space; a token is one word of printable ASCII (give the token without 'Bearer ')")]
    [InlineData("emit", "METERING_TOKEN", EmulatorScope.Token + "\r", "character 20 of 20 is a line break; a token is one word of printable ASCII")]
    [InlineData("usage", "METERING_TOKEN", EmulatorScope.Token + "\u00e9", "character 20 of 20 is a character outside ASCII; a token is one word of printable ASCII")]
    public async Task Token_NotABearerToken_ExitsTwoBeforeSendingWithoutQuotingIt(string command, string from, string token, string expected)
    {
        // A pasted "Bearer …" or a token file saved on Windows: the client refused it per call, so emit exited 3 (a refused
        // credential) and batch 4 (every event an Error, "some events not delivered"), for a typing mistake.
        await using var scope = await EmulatorScope.StartAsync();
        string[] args = command switch
        {
            "emit" => Event(),
            "batch" => ["batch", scope.Csv(30)],
            _ => ["usage", "--from", "2026-11-19"],
        };
        var environment = new Dictionary<string, string> { ["METERING_ENDPOINT"] = scope.Emulator.Endpoint.ToString() };
        if (from == "METERING_TOKEN")
        {
            environment[from] = token;
        }
        else
        {
            args = [.. args, from, token];
        }

        var run = await CliRunner.RunAsync(args, environment);

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Be($"error: --token (or METERING_TOKEN) is not a bearer token: {expected}. Nothing was sent.");
        run.Out.Should().NotContain(EmulatorScope.Token);
        scope.Emulator.Requests.Should().BeEmpty();
    }

    public static TheoryData<string, string, string> GoodTokens
    {
        get
        {
            // A JWT of about 2,000 characters (three base64url segments: '-', '_', digits, letters; dots between them)
            // and an opaque token holding every character base64 and RFC 6750's b64token allow besides.
            static string Segment(int length, int seed) => string.Concat(Enumerable.Range(0, length).Select(i => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[((i * 31) + seed) % 64]));
            var jwt = Segment(36, 1) + "." + Segment(1_620, 2) + "." + Segment(342, 3);
            const string Opaque = "AbC+/9xy=~z.-_Q0+/Zz~~==";
            return new()
            {
                { "emit", "--token", jwt },
                { "batch", "METERING_TOKEN", jwt },
                { "usage", "--token", Opaque },
                { "batch", "--token", Opaque },
            };
        }
    }

    [Theory]
    [MemberData(nameof(GoodTokens))]
    public async Task Token_JwtOrOpaqueWithBase64Punctuation_IsSentAsItIs(string command, string from, string token)
    {
        // The bad-token check refuses spaces, line breaks, controls and non-ASCII: '.', '-', '_', '+', '/', '=' and '~'
        // all appear in real tokens and must pass.
        await using var scope = await EmulatorScope.StartAsync(o => o.Token = token);
        string[] args = command switch
        {
            "emit" => Event(),
            "batch" => ["batch", scope.Csv(30)],
            _ => ["usage", "--from", EmulatorScope.Now.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)],
        };
        var environment = new Dictionary<string, string> { ["METERING_ENDPOINT"] = scope.Emulator.Endpoint.ToString() };
        if (from == "METERING_TOKEN")
        {
            environment[from] = token;
        }
        else
        {
            args = [.. args, from, token];
        }

        var run = await CliRunner.RunAsync(args, environment);

        run.ExitCode.Should().Be(0, run.ToString());
        scope.Emulator.Requests.Should().NotBeEmpty().And.OnlyContain(r => r.Headers["Authorization"] == "Bearer " + token);
        (run.Out + run.Error).Should().NotContain(token);
    }

    [Fact]
    public async Task Emit_Verbose_AddsTheStackTraceToTheError()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync([.. Event(), "--endpoint", scope.Emulator.Endpoint.ToString(), "--token", "wrong", "--verbose"]);

        run.ExitCode.Should().Be(3);
        run.Error.Should().Contain("MeteringAuthorizationException").And.Contain("   at ");
    }

    [Fact]
    public async Task Emit_EndpointAndTokenFromTheEnvironment_AreUsed()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var environment = new Dictionary<string, string>
        {
            ["METERING_ENDPOINT"] = scope.Emulator.Endpoint.ToString(),
            ["METERING_TOKEN"] = EmulatorScope.Token,
        };

        var run = await CliRunner.RunAsync(Event(), environment);

        run.ExitCode.Should().Be(0, run.ToString());
        scope.Emulator.Ledger.Count.Should().Be(1);
    }

    [Fact]
    public async Task Emit_CancelledWhileWaitingForTheAnswer_ExitsCancelledSayingTheEventMayHaveReachedTheService()
    {
        // Ctrl+C after the request left: the service may have recorded it, so "cancelled." alone would read as "not sent".
        await using var scope = await EmulatorScope.StartAsync();
        scope.Emulator.Faults.Enqueue(EmulatorFault.Latency(TimeSpan.FromSeconds(30)));
        using var cancel = new CancellationTokenSource();
        var run = CliRunner.RunAsync(scope.Args(Event()), environment: null, cancellationToken: cancel.Token);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (scope.Emulator.Faults.Pending > 0 && waited.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(10); // until the emulator holds the request (it took the latency fault)
        }

        scope.Emulator.Faults.Pending.Should().Be(0, "the request reached the emulator");
        cancel.Cancel();

        var result = await run;

        result.ExitCode.Should().Be(130, result.ToString());
        result.ErrorLines.Should().ContainSingle().Which.Should().Contain("the event may or may not have reached it").And.Contain("Sending it again is safe");
    }

    public static TheoryData<string, string[], string> BadArguments => new()
    {
        { "time without a zone", Event(time: "2026-11-20T10:00:00"), "--time '2026-11-20T10:00:00' has no time zone" },
        { "time that is no time", Event(time: "yesterday"), "--time 'yesterday' is not a time" },
        // Without a date .NET reads today (on the machine's clock), and in a culture's order March or April: a guessed hour.
        { "time without a date", Event(time: EmulatorScope.LastHour.ToString("HH':00:00Z'", CultureInfo.InvariantCulture)), "is not a time with a date (yyyy-MM-dd)" },
        { "date in a culture's order", Event(time: EmulatorScope.LastHour.ToString("MM'/'dd'/'yyyy HH':00:00Z'", CultureInfo.InvariantCulture)), "is not a time with a date (yyyy-MM-dd)" },
        { "comma decimal", Event("1,5"), "--quantity '1,5' is not a number" },
        { "zero quantity", Event("0"), "quantity" },
        { "not a GUID", ["emit", "--resource-id", "abc", "--plan", "p", "--dimension", "d", "--quantity", "1"], "--resource-id 'abc' is not a GUID" },
        { "two resources", [.. Event(), "--resource-uri", "/subscriptions/x"], "exactly one of --resource-id and --resource-uri" },
        { "missing option", ["emit", "--plan", "p"], "Option '--dimension' is required" },
        { "unknown option", [.. Event(), "--colour"], "--colour" },
        { "escape in the dimension", ["emit", "--resource-id", EmulatorScope.Resource(0).ToString(), "--plan", "plan1", "--dimension", "dim\u001b[2J", "--quantity", "1"], "--dimension holds a control character (U+001B) at character 4; nothing was sent." },
        { "line break in the plan", ["emit", "--resource-id", EmulatorScope.Resource(0).ToString(), "--plan", "plan1\n", "--dimension", "dim1", "--quantity", "1"], "--plan holds a control character (U+000A) at character 6; nothing was sent." },
        { "negative retries", [.. Event(), "--max-retries", "-5"], "--max-retries must be a number from 0 to 100; it is -5." },
        { "too many retries", [.. Event(), "--max-retries", "2147483647"], "--max-retries must be a number from 0 to 100; it is 2147483647." },
        { "expired", Event(time: EmulatorScope.LastHour.AddDays(-2).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)), "24 hours" },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public async Task Emit_BadArgument_ExitsTwoNamingItAndSendsNothing(string what, string[] args, string expected)
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync(scope.Args(args));

        run.ExitCode.Should().Be(2, what + "\n" + run);
        run.Error.Should().Contain(expected, what);
        run.ErrorLines[0].Should().StartWith("error: ");
        run.Error.Should().NotContain("   at ");
        scope.Emulator.Requests.Should().BeEmpty(what);
    }

    [Theory]
    [InlineData("de-DE")]
    [InlineData("tr-TR")]
    public async Task Emit_ZeroQuantityUnderAnotherCulture_SaysWhatIsWrongOnceWithADot(string culture)
    {
        // The runtime appends "(Parameter 'quantity')" and "Actual value was 0,0." (in the current culture) to an
        // ArgumentOutOfRangeException's message: neither belongs in a one-line error of a tool that insists on dots.
        var before = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = CultureInfo.GetCultureInfo(culture);
        try
        {
            var run = await CliRunner.RunAsync([.. Event("0.0"), "--token", "t"]);

            run.ExitCode.Should().Be(2, run.ToString());
            run.ErrorLines.Should().Equal("error: The quantity must be greater than zero; it was 0.0.");
        }
        finally
        {
            (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture) = before;
        }
    }

    [Fact]
    public async Task Emit_NoCredential_ExitsTwoListingTheWaysToGiveOne()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync([.. Event(), "--endpoint", scope.Emulator.Endpoint.ToString()]);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("No credential").And.Contain("--token").And.Contain("--managed-identity");
    }

    [Fact]
    public async Task Emit_ClientSecretWithoutTenant_ExitsTwoNamingTheMissingSetting()
    {
        var run = await CliRunner.RunAsync([.. Event(), "--client-id", "app", "--client-secret", "s3cr3t-value"]);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("--tenant-id").And.NotContain("s3cr3t-value");
    }

    [Theory]
    [InlineData("--client-secrt", "s3cr3t-value")]
    [InlineData("--tokn", "s3cr3t-token")]
    [InlineData("--certificate-pasword", "s3cr3t-password")]
    public async Task Emit_MisspelledSecretOption_ExitsTwoNamingTheOptionWithoutEchoingItsValue(string option, string secret)
    {
        var run = await CliRunner.RunAsync([.. Event(), option, secret]);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain(option).And.NotContain(secret);
        run.ErrorLines.Should().OnlyContain(l => l.StartsWith("error: ", StringComparison.Ordinal) || l.StartsWith("Run ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--client-secret", "s3cr3t first", "half")]
    [InlineData("--token", "tok", "s3cr3t-rest")]
    [InlineData("--certificate-password", "pass", "word s3cr3t")]
    public async Task Emit_SecretWithASpaceUnquoted_ExitsTwoWithoutEchoingTheRestOfIt(string option, string first, string rest)
    {
        // --client-secret $SECRET, unquoted, with a space in the secret: the rest of it is an "unrecognized argument".
        string[] words = [.. first.Split(' '), .. rest.Split(' ')];
        var run = await CliRunner.RunAsync([.. Event(), option, .. words]);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("***");
        foreach (var word in words)
        {
            run.Error.Should().NotContain(word);
        }
    }

    [Theory]
    [InlineData("--client-secret=")]
    [InlineData("--token=")]
    [InlineData("--certificate-password:")]
    public async Task Emit_SecretWithASpaceUnquotedAfterEqualsOrColon_ExitsTwoWithoutEchoingTheRestOfIt(string optionAndSeparator)
    {
        // --client-secret=$SECRET, unquoted, with a space in the secret: the option and the first word are one argument,
        // and the rest of the secret is an "unrecognized argument".
        var run = await CliRunner.RunAsync([.. Event(), optionAndSeparator + "s3cr3t-first", "s3cr3t-rest"]);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("***").And.NotContain("s3cr3t-rest").And.NotContain("s3cr3t-first");
    }

    [Fact]
    public async Task Emit_MisspelledSecretOptionWithEquals_ExitsTwoWithoutEchoingItsValue()
    {
        var run = await CliRunner.RunAsync([.. Event(), "--client-secrt=s3cr3t-value"]);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("--client-secrt").And.NotContain("s3cr3t-value");
    }

    [Theory]
    [InlineData(false, null, true)]
    [InlineData(false, "1", false)]
    [InlineData(true, null, false)]
    public async Task Emit_ColourTerminal_ColoursTheStatusUnlessNoColorOrRedirected(bool redirected, string? noColor, bool coloured)
    {
        await using var scope = await EmulatorScope.StartAsync();
        var environment = noColor is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["NO_COLOR"] = noColor };

        var run = await CliRunner.RunAsync(scope.Args(Event()), environment, redirected: redirected, colorTerminal: true);

        run.ExitCode.Should().Be(0, run.ToString());
        run.Out.Should().Contain("Accepted");
        run.Out.Contains('\u001b', StringComparison.Ordinal).Should().Be(coloured);
    }

    [Fact]
    public async Task Emit_CertificateFileMissing_ExitsTwoNamingIt()
    {
        var run = await CliRunner.RunAsync([.. Event(), "--tenant-id", "t", "--client-id", "c", "--certificate", "/nonexistent/app.pfx"]);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Trim().Should().Be("error: --certificate: file '/nonexistent/app.pfx' does not exist.");
    }

    [SkippableFact]
    public async Task Emit_CertificateFileThatCannotBeRead_ExitsTwoNamingIt()
    {
        // A file that exists but whose read fails: a PEM name linked to a process's memory file, whose first page is
        // unmapped (an I/O error, even for root; an unreadable file of another user fails the same way, on open).
        Skip.IfNot(OperatingSystem.IsLinux(), "reads Linux's /proc/self/mem");
        var folder = Directory.CreateTempSubdirectory("mm-cert-").FullName;
        var path = Path.Combine(folder, "app.pem");
        File.CreateSymbolicLink(path, "/proc/self/mem");
        try
        {
            var run = await CliRunner.RunAsync([.. Event(), "--tenant-id", "t", "--client-id", "c", "--certificate", path]);

            run.ExitCode.Should().Be(2, run.ToString());
            run.Error.Trim().Should().StartWith($"error: --certificate: '{path}' cannot be read (");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Emit_CertificateFileNotACertificate_ExitsTwo()
    {
        await using var scope = await EmulatorScope.StartAsync();
        var file = scope.File("app.pfx", "not a certificate");

        var run = await CliRunner.RunAsync([.. Event(), "--tenant-id", "t", "--client-id", "c", "--certificate", file, "--certificate-password", "pw-secret-77"]);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("could not be read as a certificate").And.NotContain("pw-secret-77");
    }

    [Fact]
    public async Task Emit_PlainHttpToAnotherHost_IsRefusedBeforeSending()
    {
        var run = await CliRunner.RunAsync([.. Event(), "--endpoint", "http://example.com/", "--token", "t"]);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("https");
    }

    [Theory]
    [InlineData("http://example.com/", "--endpoint (or METERING_ENDPOINT) must use https (TLS 1.2 or later)")]
    [InlineData("http://127.0.0.1:5099/?code=abc", "--endpoint (or METERING_ENDPOINT) must be the service root, without a query or fragment")]
    [InlineData("http://user:pa55word@127.0.0.1:5099/", "--endpoint (or METERING_ENDPOINT) must not carry user information")]
    public async Task Emit_EndpointTheClientRefuses_ErrorNamesTheOptionNotTheClientsSetting(string endpoint, string expected)
    {
        // It said "The metering client options are not valid:  - Endpoint must …", a property the user never saw.
        var run = await CliRunner.RunAsync([.. Event(), "--endpoint", endpoint, "--token", "t"]);

        run.ExitCode.Should().Be(2, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().StartWith("error: " + expected).And.NotContain("options are not valid").And.NotContain("pa55word").And.NotContain("code=abc");
    }
}
