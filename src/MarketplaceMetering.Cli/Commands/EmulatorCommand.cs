using System.CommandLine;
using MarketplaceMetering.Cli.CommandLine;
using MarketplaceMetering.Emulator;
using MarketplaceMetering.Emulator.CommandLine;

namespace MarketplaceMetering.Cli.Commands;

/// <summary><c>metering emulator</c>: runs the local metering emulator in the foreground until Ctrl+C.</summary>
internal static class EmulatorCommand
{
    public const int DefaultPort = 5080;

    public static Command Create(GlobalOptions global, CliContext context)
    {
        var port = new Option<int>("--port") { Description = $"TCP port on 127.0.0.1, 0 for a free one (default {DefaultPort}).", DefaultValueFactory = _ => DefaultPort };
        port.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 0 or > 65535)
            {
                result.AddError("--port must be a number from 0 to 65535.");
            }
        });
        var https = new Option<bool>("--https") { Description = "Serve https with a self-signed certificate made for the run; its SHA-256 thumbprint and a PEM file are printed, for clients to trust." };
        var seed = new Option<int?>("--seed") { Description = "Seed for the emulator's random faults and result order, so a run repeats." };
        var timeStyle = new Option<string?>("--time-style") { Description = "How answers write times: z (2026-11-20T08:00:00Z, the default) or no-offset (2026-11-20T08:00:00, as some recorded answers do)." };
        timeStyle.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } value && TimeStyleOption.Parse(value) is null)
            {
                result.AddError(TimeStyleOption.Invalid(value));
            }
        });
        var command = new Command("emulator", "Run the local metering emulator in the foreground (Ctrl+C stops it). Use --token to choose the bearer token it accepts.") { port, https, seed, timeStyle };

        MeteringCli.SetAction(command, global, context, async (parse, output, cancellationToken) =>
        {
            var options = new MeteringEmulatorOptions
            {
                Port = parse.GetValue(port),
                Token = GlobalOptions.Read(parse, global.Token, context, GlobalOptions.TokenVariable),
                TimeProvider = context.TimeProvider,
                UseHttps = parse.GetValue(https),
                Seed = parse.GetValue(seed),
                TimeStyle = TimeStyleOption.Parse(parse.GetValue(timeStyle) ?? "z")!.Value,
            };

            MeteringEmulator emulator;
            try
            {
                emulator = await MeteringEmulator.StartAsync(options, cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new CliException($"cannot listen on port {options.Port}: {e.Message}", ExitCodes.ServiceFailure);
            }

            await using (emulator.ConfigureAwait(false))
            {
                if (output.Json)
                {
                    output.WriteJson(new { endpoint = emulator.Endpoint, token = emulator.Token, certificateThumbprint = emulator.CertificateThumbprint, certificatePem = emulator.CertificatePemPath });
                }
                else
                {
                    output.WriteLine($"Metering emulator listening on {emulator.Endpoint}");
                    output.WriteLine($"Bearer token: {emulator.Token}");
                    if (emulator.CertificatePemPath is { } pem)
                    {
                        // The certificate is made for this run and trusted by nobody: clients must trust it themselves.
                        output.WriteLine($"Certificate (self-signed, SHA-256 {emulator.CertificateThumbprint}): {pem}");
                    }
                    else
                    {
                        // A new resource id each run: the emulator's open catalogue takes any id but Guid.Empty (which
                        // the client refuses anyway), and the same id tried again in the same hour would be a Duplicate.
                        output.WriteLine($"Try: metering emit --endpoint {emulator.Endpoint} --token {emulator.Token} --resource-id {Guid.NewGuid()} --plan plan1 --dimension dim1 --quantity 1");
                    }

                    output.WriteLine("Press Ctrl+C to stop.");
                }

                await context.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                // Ctrl+C (the command's token) is the normal way to stop.
                var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using (cancellationToken.Register(() => stopped.TrySetResult()))
                {
                    await stopped.Task.ConfigureAwait(false);
                }
            }

            if (!output.Json)
            {
                output.WriteLine("Metering emulator stopped.");
            }

            return ExitCodes.Success;
        });

        return command;
    }
}
