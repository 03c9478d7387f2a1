using System.Text.Json;
using MarketplaceMetering.Emulator.Faults;
using MarketplaceMetering.Emulator.Wire;

namespace MarketplaceMetering.Emulator.Admin;

/// <summary>
/// The fault settings on the admin API:
/// <c>{"throttleProbability", "throttleRetryAfterSeconds", "serverErrorProbability", "dropAfterAcceptProbability", "minLatencyMilliseconds", "maxLatencyMilliseconds", "pending"}</c>.
/// </summary>
internal static class FaultSettingsJson
{
    public static byte[] Write(FaultSettingsSnapshot settings, int pending) => JsonBody.Write(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("throttleProbability", settings.ThrottleProbability);
        w.WriteNumber("throttleRetryAfterSeconds", settings.ThrottleRetryAfter.TotalSeconds);
        w.WriteNumber("serverErrorProbability", settings.ServerErrorProbability);
        w.WriteNumber("dropAfterAcceptProbability", settings.DropAfterAcceptProbability);
        w.WriteNumber("minLatencyMilliseconds", settings.MinLatency.TotalMilliseconds);
        w.WriteNumber("maxLatencyMilliseconds", settings.MaxLatency.TotalMilliseconds);
        w.WriteNumber("pending", pending);
        w.WriteEndObject();
    });

    /// <summary>
    /// Reads a change: the properties given replace the current values, the others stay. Unknown properties,
    /// values of the wrong type or out of range fail the whole change.
    /// </summary>
    public static bool TryRead(JsonElement root, FaultSettingsSnapshot current, out FaultSettingsSnapshot updated, out string? error)
    {
        updated = current;
        error = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "The fault settings must be a JSON object.";
            return false;
        }

        var result = current;
        foreach (var property in root.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Number)
            {
                error = $"\"{property.Name}\" must be a number.";
                return false;
            }

            var value = property.Value.GetDouble();
            switch (property.Name.ToUpperInvariant())
            {
                case "THROTTLEPROBABILITY":
                    result = result with { ThrottleProbability = value };
                    break;
                case "SERVERERRORPROBABILITY":
                    result = result with { ServerErrorProbability = value };
                    break;
                case "DROPAFTERACCEPTPROBABILITY":
                    result = result with { DropAfterAcceptProbability = value };
                    break;
                case "THROTTLERETRYAFTERSECONDS":
                    result = result with { ThrottleRetryAfter = Duration(value, TimeSpan.FromSeconds) };
                    break;
                case "MINLATENCYMILLISECONDS":
                    result = result with { MinLatency = Duration(value, TimeSpan.FromMilliseconds) };
                    break;
                case "MAXLATENCYMILLISECONDS":
                    result = result with { MaxLatency = Duration(value, TimeSpan.FromMilliseconds) };
                    break;
                case "PENDING":
                    // Read-only; accepted so that a GET body can be sent back as is.
                    break;
                default:
                    error = $"Unknown fault setting \"{property.Name}\".";
                    return false;
            }
        }

        var problems = new List<string>();
        foreach (var (name, probability) in new[]
        {
            ("throttleProbability", result.ThrottleProbability),
            ("serverErrorProbability", result.ServerErrorProbability),
            ("dropAfterAcceptProbability", result.DropAfterAcceptProbability),
        })
        {
            if (double.IsNaN(probability) || probability < 0 || probability > 1)
            {
                problems.Add($"{name} must be between 0 and 1.");
            }
        }

        foreach (var (name, duration) in new[]
        {
            ("throttleRetryAfterSeconds", result.ThrottleRetryAfter),
            ("minLatencyMilliseconds", result.MinLatency),
            ("maxLatencyMilliseconds", result.MaxLatency),
        })
        {
            if (duration < TimeSpan.Zero)
            {
                problems.Add($"{name} must be between 0 and one day.");
            }
        }

        if (problems.Count == 0)
        {
            problems.AddRange(result.Problems(string.Empty));
        }

        if (problems.Count > 0)
        {
            error = string.Join(" ", problems);
            return false;
        }

        updated = result;
        return true;
    }

    /// <summary>A duration in the given unit; negative (and so refused) when out of range.</summary>
    private static TimeSpan Duration(double value, Func<double, TimeSpan> unit)
    {
        if (double.IsNaN(value) || value < 0)
        {
            return TimeSpan.FromTicks(-1);
        }

        var duration = unit(Math.Min(value, TimeSpan.FromDays(2).TotalMilliseconds));
        return duration > TimeSpan.FromDays(1) ? TimeSpan.FromTicks(-1) : duration;
    }
}
