using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace MarketplaceMetering;

/// <summary>
/// Reads the accumulation settings key by key (as the core's MeteringConfiguration does, for the same reasons): every
/// bad or unknown key is reported by its configuration path in the one start-up validation message, and no reflection
/// is needed (the package is AOT-compatible).
/// </summary>
internal sealed class AccumulationConfiguration(IConfiguration? section)
{
    private static readonly string[] Keys =
        ["Ledger", "ConnectionString", "Schema", "Grace", "DurabilityInterval", "FlushInterval", "LeaseDuration", "DeadlineWarningMargin", "MaxRowsPerClaim", "InstanceName"];

    private readonly List<string> _problems = [];

    public string Path { get; } = (section as IConfigurationSection)?.Path ?? string.Empty;

    /// <summary>The problems found while reading, each naming its key's path.</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_problems)
            {
                return [.. _problems];
            }
        }
    }

    public string Key(string name) => Path.Length == 0 ? name : Path + ":" + name;

    public void Read(UsageAccumulationOptions options)
    {
        if (section is null)
        {
            return;
        }

        var problems = new List<string>();
        foreach (var child in section.GetChildren())
        {
            if (!Keys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                problems.Add(Key(child.Key) + " is not a setting of the accumulation layer; the settings are " + string.Join(", ", Keys) + ".");
            }
        }

        Duration("Grace", problems, v => options.Grace = v);
        Duration("DurabilityInterval", problems, v => options.DurabilityInterval = v);
        Duration("FlushInterval", problems, v => options.FlushInterval = v);
        Duration("LeaseDuration", problems, v => options.LeaseDuration = v);
        Duration("DeadlineWarningMargin", problems, v => options.DeadlineWarningMargin = v);
        if (section["MaxRowsPerClaim"] is { Length: > 0 } rows)
        {
            if (int.TryParse(rows, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                options.MaxRowsPerClaim = value;
            }
            else
            {
                problems.Add(Key("MaxRowsPerClaim") + " is '" + rows + "', not a whole number.");
            }
        }

        options.InstanceName = section["InstanceName"] ?? options.InstanceName;
        Report(problems);
    }

    public void Read(UsageLedgerOptions options)
    {
        if (section is null)
        {
            return;
        }

        var problems = new List<string>();
        if (section["Ledger"] is { Length: > 0 } kind)
        {
            if (!kind.Contains(',') && !int.TryParse(kind, out _) && Enum.TryParse<UsageLedgerKind>(kind, ignoreCase: true, out var parsed))
            {
                options.Ledger = parsed;
            }
            else
            {
                problems.Add(Key("Ledger") + " is '" + kind + "'; it must be Sqlite or PostgreSql.");
            }
        }

        options.ConnectionString = section["ConnectionString"] ?? options.ConnectionString;
        options.Schema = section["Schema"] ?? options.Schema;
        Report(problems);
    }

    private void Duration(string name, List<string> problems, Action<TimeSpan> set)
    {
        if (section![name] is not { Length: > 0 } text)
        {
            return;
        }

        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value))
        {
            set(value);
        }
        else
        {
            problems.Add(Key(name) + " is '" + text + "', not a duration such as 00:05:00.");
        }
    }

    private void Report(List<string> problems)
    {
        lock (_problems)
        {
            foreach (var problem in problems)
            {
                if (!_problems.Contains(problem))
                {
                    _problems.Add(problem);
                }
            }
        }
    }
}
