using System.Runtime.InteropServices;
using MarketplaceMetering.Emulator.CommandLine;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Emulator;

/// <summary>
/// The emulator as a program: <c>dotnet run --project src/MarketplaceMetering.Emulator -- --port 5080</c>.
/// Everything it does goes through <see cref="MeteringEmulator.StartAsync"/>, like a test would.
/// </summary>
internal static class Program
{
    /// <summary>Exit code for bad arguments.</summary>
    public const int UsageExitCode = 2;

    /// <summary>Exit code when the emulator cannot start (the port is in use, …).</summary>
    public const int StartFailedExitCode = 1;

    private static async Task<int> Main(string[] args)
    {
        using var stop = new CancellationTokenSource();
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var loggerFactory = LoggerFactory.Create(logging => logging
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss ";
            })
            .AddFilter("Microsoft", LogLevel.Warning)
            .SetMinimumLevel(LogLevel.Information));

        return await RunAsync(args, Console.Out, Console.Error, loggerFactory, stop.Token).ConfigureAwait(false);
    }

    /// <summary>Parses the arguments, runs the emulator until <paramref name="stop"/> fires, and returns the exit code.</summary>
    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, ILoggerFactory? loggerFactory, CancellationToken stop)
    {
        var parsed = EmulatorCommandLine.Parse(args);
        if (parsed.ShowHelp)
        {
            await output.WriteLineAsync(EmulatorCommandLine.Usage).ConfigureAwait(false);
            return 0;
        }

        if (parsed.Arguments is not { } arguments)
        {
            await error.WriteLineAsync($"error: {parsed.Error}").ConfigureAwait(false);
            await error.WriteLineAsync("Run with --help to see the options.").ConfigureAwait(false);
            return UsageExitCode;
        }

        var options = arguments.ToOptions();
        options.LoggerFactory = loggerFactory;
        MeteringEmulator emulator;
        try
        {
            emulator = await MeteringEmulator.StartAsync(options, stop).ConfigureAwait(false);
        }
        catch (IOException exception)
        {
            await error.WriteLineAsync($"error: cannot listen on port {arguments.Port}: {exception.Message}").ConfigureAwait(false);
            return StartFailedExitCode;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }

        await using (emulator.ConfigureAwait(false))
        {
            await output.WriteLineAsync($"Metering emulator listening on {emulator.Endpoint}").ConfigureAwait(false);
            if (arguments.AnyAddress)
            {
                await output.WriteLineAsync("Listening on every network address: other machines use this machine's name or IP address.").ConfigureAwait(false);
            }

            if (emulator.CertificateThumbprint is { } thumbprint)
            {
                await output.WriteLineAsync($"TLS certificate SHA-256 thumbprint: {thumbprint}").ConfigureAwait(false);
                await output.WriteLineAsync($"TLS certificate PEM: {emulator.CertificatePemPath}").ConfigureAwait(false);
                await output.WriteLineAsync(
                    "The certificate is self-signed and new at every start: trust that thumbprint, or that file (curl --cacert FILE, SSL_CERT_FILE=FILE).")
                    .ConfigureAwait(false);
            }

            await output.WriteLineAsync($"Bearer token: {emulator.Token}").ConfigureAwait(false);
            await output.WriteLineAsync(
                $"Point a metering client at {emulator.Endpoint} with that token (try {emulator.Endpoint}api/usageEvents?api-version=2018-08-31&usageStartDate=2000-01-01); press Ctrl+C to stop.")
                .ConfigureAwait(false);
            await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);

            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (stop.Register(() => stopped.TrySetResult()))
            {
                await stopped.Task.ConfigureAwait(false);
            }
        }

        await output.WriteLineAsync("Metering emulator stopped.").ConfigureAwait(false);
        return 0;
    }
}
