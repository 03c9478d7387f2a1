using System.Text;
using System.Text.Json;

namespace MarketplaceMetering.Cli.Tests.Commands;

/// <summary><c>metering emulator</c>: serves on loopback until cancelled, and other commands use it.</summary>
public class EmulatorCommandTests
{
    [Fact]
    public async Task Emulator_Port0_ServesTheTokenGivenUntilCancelled()
    {
        using var stop = new CancellationTokenSource();
        var output = new LineWriter("\"endpoint\"");
        var running = CliRunner.RunAsync(["emulator", "--port", "0", "--token", "emulator-token-42", "--json"], environment: null, output, cancellationToken: stop.Token);

        var started = await output.Seen.WaitAsync(TimeSpan.FromSeconds(60));
        using var json = JsonDocument.Parse(started);
        var endpoint = json.RootElement.GetProperty("endpoint").GetString()!;
        json.RootElement.GetProperty("token").GetString().Should().Be("emulator-token-42");

        var emit = await CliRunner.RunAsync("emit", "--endpoint", endpoint, "--token", "emulator-token-42", "--resource-id", EmulatorScope.Resource(0).ToString(), "--plan", "plan1", "--dimension", "dim1", "--quantity", "1");
        var refused = await CliRunner.RunAsync("usage", "--from", "2026-01-01", "--endpoint", endpoint, "--token", "another-token");
        stop.Cancel();
        var result = await running.WaitAsync(TimeSpan.FromSeconds(60));

        emit.ExitCode.Should().Be(0, emit.ToString());
        refused.ExitCode.Should().Be(3, refused.ToString());
        result.ExitCode.Should().Be(0, result.ToString());
    }

    [Fact]
    public async Task Emulator_Text_PrintsEndpointTokenAndStops()
    {
        using var stop = new CancellationTokenSource();
        var output = new LineWriter("Press Ctrl+C");
        var running = CliRunner.RunAsync(["emulator", "--port", "0"], new Dictionary<string, string> { ["METERING_TOKEN"] = "from-env" }, output, cancellationToken: stop.Token);

        await output.Seen.WaitAsync(TimeSpan.FromSeconds(60));
        stop.Cancel();
        var result = await running.WaitAsync(TimeSpan.FromSeconds(60));

        result.ExitCode.Should().Be(0, result.ToString());
        result.Out.Should().Contain("Metering emulator listening on http://127.0.0.1:").And.Contain("Bearer token: from-env").And.Contain("Metering emulator stopped.");
    }

    [Fact]
    public async Task Emulator_Text_TheCommandItSuggestsIsAccepted()
    {
        using var stop = new CancellationTokenSource();
        var output = new LineWriter("Try: metering ");
        var running = CliRunner.RunAsync(["emulator", "--port", "0", "--token", "try-token"], environment: null, output, cancellationToken: stop.Token);

        var suggestion = (await output.Seen.WaitAsync(TimeSpan.FromSeconds(60))).Trim();
        var tried = await CliRunner.RunAsync(suggestion["Try: metering ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        stop.Cancel();
        await running.WaitAsync(TimeSpan.FromSeconds(60));

        tried.ExitCode.Should().Be(0, "the line printed for a new user to try must work: " + suggestion + Environment.NewLine + tried);
        tried.Out.Should().Contain("Accepted");
    }

    [Fact]
    public async Task Emulator_Https_ServesTlsWithTheCertificateItPrints()
    {
        using var stop = new CancellationTokenSource();
        var output = new LineWriter("\"endpoint\"");
        var running = CliRunner.RunAsync(["emulator", "--port", "0", "--https", "--token", "tls-token", "--json"], environment: null, output, cancellationToken: stop.Token);

        using var json = JsonDocument.Parse(await output.Seen.WaitAsync(TimeSpan.FromSeconds(60)));
        var endpoint = new Uri(json.RootElement.GetProperty("endpoint").GetString()!);
        var thumbprint = json.RootElement.GetProperty("certificateThumbprint").GetString()!;
        var pem = await File.ReadAllTextAsync(json.RootElement.GetProperty("certificatePem").GetString()!);

        // Trust only the printed certificate, as a client of the emulator would.
        string? presented = null;
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                presented = certificate!.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256);
                return string.Equals(presented, thumbprint, StringComparison.OrdinalIgnoreCase);
            },
        };
        using var http = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(endpoint, "api/usageEvents?api-version=2018-08-31&usageStartDate=2026-01-01"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "tls-token");
        using var answer = await http.SendAsync(request);
        stop.Cancel();
        var result = await running.WaitAsync(TimeSpan.FromSeconds(60));

        endpoint.Scheme.Should().Be("https");
        pem.Should().Contain("BEGIN CERTIFICATE");
        presented.Should().BeEquivalentTo(thumbprint);
        ((int)answer.StatusCode).Should().Be(200);
        result.ExitCode.Should().Be(0, result.ToString());
    }

    [Fact]
    public async Task Emulator_TimeStyleNoOffset_AnswersWriteTimesWithoutAnOffset()
    {
        using var stop = new CancellationTokenSource();
        var output = new LineWriter("\"endpoint\"");
        var running = CliRunner.RunAsync(["emulator", "--port", "0", "--time-style", "no-offset", "--seed", "7", "--token", "style-token", "--json"], environment: null, output, cancellationToken: stop.Token);

        using var json = JsonDocument.Parse(await output.Seen.WaitAsync(TimeSpan.FromSeconds(60)));
        var endpoint = json.RootElement.GetProperty("endpoint").GetString()!;
        (json.RootElement.TryGetProperty("certificatePem", out var pem) && pem.ValueKind != JsonValueKind.Null).Should().BeFalse("plain http has no certificate");
        var emit = await CliRunner.RunAsync("emit", "--endpoint", endpoint, "--token", "style-token", "--resource-id", EmulatorScope.Resource(1).ToString(), "--plan", "plan1", "--dimension", "dim1", "--quantity", "1");
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(endpoint), "api/usageEvents?api-version=2018-08-31&usageStartDate=2026-01-01"));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "style-token");
        using var answer = await http.SendAsync(request);
        var body = await answer.Content.ReadAsStringAsync();
        stop.Cancel();
        await running.WaitAsync(TimeSpan.FromSeconds(60));

        emit.ExitCode.Should().Be(0, emit.ToString());
        using var rows = JsonDocument.Parse(body);
        rows.RootElement.EnumerateArray().Should().ContainSingle().Which.GetProperty("usageDate").GetString().Should().MatchRegex(@"^\d{4}-\d{2}-\d{2}T00:00:00$");
    }

    [Fact]
    public async Task Emulator_UnknownTimeStyle_ExitsTwoNamingTheOption()
    {
        var run = await CliRunner.RunAsync("emulator", "--port", "0", "--time-style", "local");

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("--time-style must be z or no-offset (was 'local')");
    }

    [Fact]
    public async Task Emulator_PortInUse_ExitsOneWithOneLine()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await CliRunner.RunAsync("emulator", "--port", scope.Emulator.Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));

        run.ExitCode.Should().Be(1, run.ToString());
        run.ErrorLines.Should().ContainSingle().Which.Should().Contain("cannot listen on port");
    }

    [Fact]
    public async Task Emulator_PortOutOfRange_ExitsTwo()
    {
        var run = await CliRunner.RunAsync("emulator", "--port", "70000");

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Should().Contain("--port must be a number from 0 to 65535");
    }

    /// <summary>A thread-safe writer that completes <see cref="Seen"/> with the first line containing a marker.</summary>
    private sealed class LineWriter(string marker) : StringWriter
    {
        private readonly TaskCompletionSource<string> _seen = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly StringBuilder _line = new();

        public Task<string> Seen => _seen.Task;

        public override void Write(char value)
        {
            lock (_line)
            {
                base.Write(value);
                if (value == '\n')
                {
                    var line = _line.ToString();
                    _line.Clear();
                    if (line.Contains(marker, StringComparison.Ordinal))
                    {
                        _seen.TrySetResult(line);
                    }
                }
                else
                {
                    _line.Append(value);
                }
            }
        }

        public override void Write(string? value)
        {
            foreach (var c in value ?? string.Empty)
            {
                Write(c);
            }
        }

        public override void Write(char[] buffer, int index, int count)
        {
            for (var i = index; i < index + count; i++)
            {
                Write(buffer[i]);
            }
        }

        public override string ToString()
        {
            lock (_line)
            {
                return base.ToString();
            }
        }
    }
}
