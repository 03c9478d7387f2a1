using System.Globalization;

namespace MarketplaceMetering.Emulator.CommandLine;

/// <summary>
/// Parses the program's arguments:
/// <c>[--port N] [--token VALUE] [--any-address] [--https] [--time-style z|no-offset] [--seed N] [--help]</c>.
/// </summary>
internal static class EmulatorCommandLine
{
    public const string Usage = """
        Usage: MarketplaceMetering.Emulator [options]

        Runs a local stand-in for the Azure Marketplace metering API until stopped (Ctrl+C).

        Options:
          --port <N>       TCP port to listen on, 0 for a free one (default: 5080).
          --token <VALUE>  The bearer token to accept (default: a random one, printed at start).
          --any-address    Listen on every network address, not only 127.0.0.1.
          --https          Serve https (TLS 1.2 or later) with a certificate made up at start for
                           127.0.0.1 and localhost; its SHA-256 thumbprint and a PEM file are printed.
          --time-style <z|no-offset>
                           How answers write times: 2026-11-20T10:00:00Z (z, the default, as the
                           real service answers) or 2026-11-20T10:00:00 (no-offset). Both are UTC.
          --seed <N>       Seed for fault draws and batch result order, for reproducible runs.
          -h, --help       Show this help.
        """;

    /// <summary>The outcome of parsing: arguments to run with, a request for help, or an error to print.</summary>
    internal sealed record Result(EmulatorArguments? Arguments, bool ShowHelp, string? Error);

    public static Result Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var port = EmulatorArguments.DefaultPort;
        string? token = null;
        var anyAddress = false;
        var https = false;
        var timeStyle = WireTimeStyle.UtcDesignator;
        int? seed = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inlineValue = null;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                inlineValue = arg[(equals + 1)..];
                arg = arg[..equals];
            }

            if (arg is "-h" or "-?" or "--help")
            {
                return new Result(null, ShowHelp: true, null);
            }

            if (arg is not ("--port" or "--token" or "--any-address" or "--https" or "--time-style" or "--seed"))
            {
                return Fail($"unknown argument '{args[i]}'.");
            }

            if (!seen.Add(arg))
            {
                return Fail($"{arg} is given more than once.");
            }

            if (arg is "--any-address" or "--https")
            {
                if (inlineValue is not null)
                {
                    return Fail($"{arg} takes no value.");
                }

                anyAddress |= arg == "--any-address";
                https |= arg == "--https";
                continue;
            }

            var value = inlineValue;
            if (value is null)
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    return Fail($"{arg} needs a value.");
                }

                value = args[++i];
            }

            switch (arg)
            {
                case "--port":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > 65535)
                    {
                        return Fail($"--port must be a number from 0 to 65535 (was '{value}').");
                    }

                    break;

                case "--token":
                    if (value.Length == 0 || value.Any(c => c is <= ' ' or >= (char)0x7F))
                    {
                        return Fail("--token must be printable ASCII without spaces.");
                    }

                    token = value;
                    break;

                case "--time-style":
                    if (TimeStyleOption.Parse(value) is not { } style)
                    {
                        return Fail(TimeStyleOption.Invalid(value));
                    }

                    timeStyle = style;
                    break;

                default:
                    if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsedSeed))
                    {
                        return Fail($"--seed must be a whole number (was '{value}').");
                    }

                    seed = parsedSeed;
                    break;
            }
        }

        return new Result(new EmulatorArguments(port, token, anyAddress, seed, https, timeStyle), ShowHelp: false, null);
    }

    private static Result Fail(string error) => new(null, ShowHelp: false, error);
}
