using System.CommandLine;
using MarketplaceMetering.Cli.CommandLine;
using MarketplaceMetering.Emulator;

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
        var command = new Command("emulator", "Run the local metering emulator in the foreground (Ctrl+C stops it). Use --token to choose the bearer token it accepts.") { port };

        MeteringCli.SetAction(command, global, context, async (parse, output, cancellationToken) =>
        {
            var options = new MeteringEmulatorOptions
            {
                Port = parse.GetValue(port),
                Token = GlobalOptions.Read(parse, global.Token, context, GlobalOptions.TokenVariable),
                TimeProvider = context.TimeProvider,
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
                    output.WriteJson(new { endpoint = emulator.Endpoint, token = emulator.Token });
                }
                else
                {
                    output.WriteLine($"Metering emulator listening on {emulator.Endpoint}");
                    output.WriteLine($"Bearer token: {emulator.Token}");
                    output.WriteLine($"Try: metering emit --endpoint {emulator.Endpoint} --token {emulator.Token} --resource-id {Guid.Empty} --plan plan1 --dimension dim1 --quantity 1");
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
