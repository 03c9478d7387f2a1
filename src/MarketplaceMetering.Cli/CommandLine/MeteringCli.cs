using System.CommandLine;
using MarketplaceMetering.Cli.Commands;
using MarketplaceMetering.Cli.Output;

namespace MarketplaceMetering.Cli.CommandLine;

/// <summary>The <c>metering</c> command line: parsing, help and completion by System.CommandLine; exit codes in <see cref="ExitCodes"/>.</summary>
internal static class MeteringCli
{
    /// <summary>Runs the tool with <paramref name="args"/> and returns its exit code.</summary>
    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
    {
        // A failed write to standard output is told apart from a file or a service that failed (see SetAction).
        context = context with { Out = new OutputWriter(context.Out) };
        var root = Build(context);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var hidden = UnknownOptionValues(args, parse.UnmatchedTokens);
            foreach (var error in parse.Errors)
            {
                var message = error.Message;
                foreach (var (token, shown) in hidden)
                {
                    message = message.Replace("'" + token + "'", "'" + shown + "'", StringComparison.Ordinal);
                }

                await context.Error.WriteLineAsync("error: " + Messages.OneLine(message)).ConfigureAwait(false);
            }

            var command = parse.CommandResult.Command;
            var name = command == root ? "metering" : "metering " + command.Name;
            await context.Error.WriteLineAsync($"Run '{name} --help' for the options.").ConfigureAwait(false);
            return ExitCodes.BadInput;
        }

        var configuration = new InvocationConfiguration
        {
            Output = context.Out,
            Error = context.Error,
            EnableDefaultExceptionHandler = false,
            // Ctrl+C cancels the command's token; a batch then reports what was sent before it stops.
            ProcessTerminationTimeout = context.HandleSignals ? TimeSpan.FromSeconds(30) : null,
        };
        return await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The values given to options the parser does not know (<c>--client-secrt VALUE</c>, <c>--tokn=VALUE</c>): a
    /// misspelled --client-secret, --token or --certificate-password carries a secret, so an error names the option and
    /// shows its value as <c>***</c>.
    /// </summary>
    private static List<(string Token, string Shown)> UnknownOptionValues(string[] args, IReadOnlyList<string> unmatched)
    {
        var hidden = new List<(string Token, string Shown)>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];

            // A secret with a space, unquoted (--client-secret $SECRET): its first word is the option's value, and the
            // rest are "unrecognized arguments" an error would quote. Hide the words that follow a secret's value.
            var secretValue = SecretOptions.Contains(arg, StringComparer.Ordinal) ? i + 1
                : SecretOptions.Any(o => arg.StartsWith(o + "=", StringComparison.Ordinal) || arg.StartsWith(o + ":", StringComparison.Ordinal)) ? i
                : -1;
            for (var j = secretValue + 1; secretValue >= 0 && j < args.Length && !args[j].StartsWith('-') && unmatched.Contains(args[j], StringComparer.Ordinal); j++)
            {
                hidden.Add((args[j], "***"));
            }

            if (!arg.StartsWith('-') || !unmatched.Contains(arg, StringComparer.Ordinal))
            {
                continue;
            }

            var separator = arg.IndexOfAny(['=', ':']);
            if (separator > 0)
            {
                hidden.Add((arg, arg[..(separator + 1)] + "***"));
                hidden.Add((arg[(separator + 1)..], "***"));
            }
            else if (i + 1 < args.Length && unmatched.Contains(args[i + 1], StringComparer.Ordinal))
            {
                hidden.Add((args[i + 1], "***"));
            }
        }

        return hidden;
    }

    /// <summary>The options whose values are secrets.</summary>
    private static readonly string[] SecretOptions = ["--token", "--client-secret", "--certificate-password"];

    public static RootCommand Build(CliContext context)
    {
        var global = new GlobalOptions();
        var root = new RootCommand("Report usage to the Azure Marketplace metering service, list what it recorded, reconcile the two, and run a local emulator.");
        foreach (var option in global.All)
        {
            root.Options.Add(option);
        }

        root.Subcommands.Add(EmitCommand.Create(global, context));
        root.Subcommands.Add(BatchCommand.Create(global, context));
        root.Subcommands.Add(UsageCommand.Create(global, context));
        root.Subcommands.Add(ReconcileCommand.Create(global, context));
        root.Subcommands.Add(EmulatorCommand.Create(global, context));
        return root;
    }

    /// <summary>Sets <paramref name="command"/>'s action: runs <paramref name="run"/>, and turns every failure into one line on standard error and its exit code.</summary>
    public static void SetAction(Command command, GlobalOptions global, CliContext context, Func<ParseResult, CliOutput, CancellationToken, Task<int>> run)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = new CliOutput(context, parse.GetValue(global.Json));
            try
            {
                return await run(parse, output, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await context.Error.WriteLineAsync("error: cancelled.").ConfigureAwait(false);
                return ExitCodes.Cancelled;
            }
            catch (Exception e)
            {
                var (code, message) = e switch
                {
                    CliException cli => (cli.ExitCode, cli.Message),
                    OutputException failed => (ExitCodes.OutputFailed, failed.Message + (output.Outcome is { } done ? "; " + done : string.Empty)),
                    MeteringAuthorizationException authorization => (ExitCodes.Unauthorized, authorization.Message),
                    MeteringException metering => (ExitCodes.ServiceFailure, metering.Message),
                    ArgumentException argument => (ExitCodes.BadInput, Messages.WithoutParameter(argument)),
                    IOException io => (ExitCodes.ServiceFailure, io.Message),
                    _ => (ExitCodes.ServiceFailure, e.GetType().Name + ": " + e.Message),
                };
                await context.Error.WriteLineAsync("error: " + Messages.OneLine(message)).ConfigureAwait(false);
                if (parse.GetValue(global.Verbose))
                {
                    await context.Error.WriteLineAsync(e.ToString()).ConfigureAwait(false);
                }

                return code;
            }
        });
    }
}
