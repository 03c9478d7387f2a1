using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MarketplaceMetering.Emulator.Tests.TestSupport;

namespace MarketplaceMetering.Emulator.Tests.CommandLine;

public sealed class ProgramTests
{
    [Fact]
    public async Task RunAsync_Help_PrintsUsageAndReturns0()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await Program.RunAsync(["--help"], output, error, null, CancellationToken.None);

        exitCode.Should().Be(0);
        output.ToString().Should().Contain("--port").And.Contain("--token").And.Contain("--any-address").And.Contain("--seed")
            .And.Contain("--https").And.Contain("--time-style <z|no-offset>");
        error.ToString().Should().BeEmpty();
    }

    [Fact]
    public async Task RunAsync_BadArgument_PrintsTheErrorAndReturns2()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await Program.RunAsync(["--port", "banana"], output, error, null, CancellationToken.None);

        exitCode.Should().Be(2);
        error.ToString().Should().Contain("error: --port must be").And.Contain("--help");
        output.ToString().Should().BeEmpty();
    }

    [Fact]
    public async Task RunAsync_PortInUse_PrintsTheErrorAndReturns1()
    {
        await using var busy = await MeteringEmulator.StartAsync();
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exitCode = await Program.RunAsync(["--port", busy.Endpoint.Port.ToString()], output, error, null, CancellationToken.None);

        exitCode.Should().Be(1);
        error.ToString().Should().Contain("cannot listen on port");
    }

    [Fact]
    public async Task RunAsync_ValidArguments_PrintsEndpointAndTokenAndServesUntilStopped()
    {
        using var stop = new CancellationTokenSource();
        var output = new LineWriter();
        using var error = new StringWriter();

        var run = Program.RunAsync(["--port", "0", "--token", "in-process"], output, error, null, stop.Token);
        var endpointLine = await output.WaitForLineAsync(l => l.StartsWith("Metering emulator listening on ", StringComparison.Ordinal));
        var endpoint = new Uri(endpointLine["Metering emulator listening on ".Length..]);
        using var http = new HttpClient { BaseAddress = endpoint };
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer in-process");
        using var response = await http.GetAsync(TestEmulator.UsagePath + "&usageStartDate=2026-01-01");
        await stop.CancelAsync();
        var exitCode = await run.WaitAsync(TimeSpan.FromSeconds(10));

        ((int)response.StatusCode).Should().Be(200);
        endpoint.Host.Should().Be("127.0.0.1");
        output.Lines.Should().Contain("Bearer token: in-process").And.Contain("Metering emulator stopped.");
        exitCode.Should().Be(0);
    }

    [Fact]
    public async Task RunAsync_Https_PrintsTheCertificateThumbprintAndPemFileAndServesHttpsWithIt()
    {
        using var stop = new CancellationTokenSource();
        var output = new LineWriter();
        using var error = new StringWriter();

        var run = Program.RunAsync(["--port", "0", "--token", "in-process", "--https"], output, error, null, stop.Token);
        var endpointLine = await output.WaitForLineAsync(l => l.StartsWith("Metering emulator listening on ", StringComparison.Ordinal));
        var thumbprintLine = await output.WaitForLineAsync(l => l.StartsWith("TLS certificate SHA-256 thumbprint: ", StringComparison.Ordinal));
        var pemLine = await output.WaitForLineAsync(l => l.StartsWith("TLS certificate PEM: ", StringComparison.Ordinal));
        var endpoint = new Uri(endpointLine["Metering emulator listening on ".Length..]);
        var thumbprint = thumbprintLine["TLS certificate SHA-256 thumbprint: ".Length..];
        var pemPath = pemLine["TLS certificate PEM: ".Length..];
        using var fromFile = X509CertificateLoader.LoadCertificateFromFile(pemPath);
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate?.GetCertHashString(HashAlgorithmName.SHA256) == thumbprint;
        using var http = new HttpClient(handler) { BaseAddress = endpoint };
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer in-process");
        using var response = await http.GetAsync(TestEmulator.UsagePath + "&usageStartDate=2026-01-01");
        await stop.CancelAsync();
        var exitCode = await run.WaitAsync(TimeSpan.FromSeconds(10));

        endpoint.Scheme.Should().Be("https");
        ((int)response.StatusCode).Should().Be(200);
        fromFile.GetCertHashString(HashAlgorithmName.SHA256).Should().Be(thumbprint, "the printed file holds the printed certificate");
        File.Exists(pemPath).Should().BeFalse("the file goes when the emulator stops");
        exitCode.Should().Be(0);
    }

    [Fact]
    public async Task Main_LaunchedAsAProcess_PrintsItsEndpointAcceptsAnEventAndStopsOnSignal()
    {
        var port = FreePort();
        var dll = typeof(MeteringEmulator).Assembly.Location;
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { dll, "--port", port.ToString(), "--token", "abc" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        try
        {
            var lines = new LineWriter();
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lines.WriteLine(e.Data);
                }
            };
            process.BeginOutputReadLine();

            var endpointLine = await lines.WaitForLineAsync(l => l.StartsWith("Metering emulator listening on ", StringComparison.Ordinal));
            var endpoint = new Uri(endpointLine["Metering emulator listening on ".Length..]);
            endpoint.Should().Be(new Uri($"http://127.0.0.1:{port}/"));
            (await lines.WaitForLineAsync(l => l.StartsWith("Bearer token:", StringComparison.Ordinal))).Should().Be("Bearer token: abc");

            using var http = new HttpClient { BaseAddress = endpoint };
            http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer abc");
            var now = DateTimeOffset.UtcNow;
            using var content = new StringContent(EventJson.Event(now.AddMinutes(-1)), Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(TestEmulator.EventPath, content);
            ((int)response.StatusCode).Should().Be(200);
            (await response.Content.ReadAsStringAsync()).Should().Contain("\"status\":\"Accepted\"");

            if (!OperatingSystem.IsWindows())
            {
                using var kill = Process.Start("kill", ["-TERM", process.Id.ToString()]);
                await kill.WaitForExitAsync();
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
                process.ExitCode.Should().Be(0, "SIGTERM stops the emulator cleanly");
            }
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A writer that keeps lines and lets a test wait for one.</summary>
    private sealed class LineWriter : StringWriter
    {
        private readonly List<string> _lines = [];
        private readonly StringBuilder _partial = new();
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return _lines.ToArray();
                }
            }
        }

        public override void Write(char value)
        {
            TaskCompletionSource changed;
            lock (_lines)
            {
                if (value == '\n')
                {
                    _lines.Add(_partial.ToString().TrimEnd('\r'));
                    _partial.Clear();
                }
                else
                {
                    _partial.Append(value);
                }

                changed = _changed;
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            changed.TrySetResult();
        }

        public override void Write(string? value)
        {
            foreach (var c in value ?? string.Empty)
            {
                Write(c);
            }
        }

        public override void WriteLine(string? value)
        {
            Write(value);
            Write('\n');
        }

        public override Task WriteLineAsync(string? value)
        {
            WriteLine(value);
            return Task.CompletedTask;
        }

        public async Task<string> WaitForLineAsync(Func<string, bool> match)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (true)
            {
                Task changed;
                lock (_lines)
                {
                    if (_lines.FirstOrDefault(match) is { } line)
                    {
                        return line;
                    }

                    changed = _changed.Task;
                }

                await changed.WaitAsync(timeout.Token);
            }
        }
    }
}
