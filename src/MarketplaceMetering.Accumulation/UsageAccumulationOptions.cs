using System.Globalization;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering;

/// <summary>Settings of the <see cref="UsageRecorder"/> and the <see cref="UsageFlusher"/>.</summary>
public sealed class UsageAccumulationOptions
{
    /// <summary>Gets or sets how long after an hour ends its usage is sent, so that late records of that hour still count.</summary>
    /// <value>The default is 5 minutes. Between 0 and 12 hours.</value>
    public TimeSpan Grace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets the longest time usage given to <see cref="UsageRecorder.Record(UsageResource, string, string, decimal, DateTimeOffset?)"/> stays only in memory: a crash loses at most this much.</summary>
    /// <value>The default is 1 second. Between 10 milliseconds and 1 hour.</value>
    public TimeSpan DurabilityInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets how often the hosted flusher looks for closed hours to send.</summary>
    /// <value>The default is 1 minute. Between 100 milliseconds and 1 hour.</value>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Gets or sets how long a claim on rows being sent lasts. An instance that dies while sending leaves its rows
    /// claimed until then; another instance (or this one, restarted) then sends them again, and the service's
    /// Duplicate answer confirms what was already delivered. Must be longer than a bulk send with its retries: one send
    /// through the client takes at most <c>(Retry.MaxRetries + 1) × NetworkTimeout + Retry.MaxRetries × Retry.MaxDelay</c>
    /// (490 seconds with the client's defaults), and the lease must be more than twice that. A claim is many sends, so
    /// against a slow service the <see cref="UsageFlusher"/> stops sending a claim a tenth of this (at most a minute)
    /// before it ends, records what was answered and puts the rest back to open for the next flush, rather than let
    /// another instance take and resend rows it is still sending. Registered with
    /// <c>AddMarketplaceMeteringAccumulation</c> next to <c>AddMarketplaceMeteringClient</c>, this is checked when the host
    /// starts; a client built and registered by the app, or given to the <see cref="UsageFlusher"/> constructor, is not
    /// checked (its options cannot be read back; the host logs a warning, event 117, unless the app configures
    /// <see cref="MeteringClientOptions"/> in the service collection, which is then read instead).
    /// </summary>
    /// <value>The default is 20 minutes. Between 1 second and 1 hour.</value>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(20);

    /// <summary>Gets or sets how long before its deadline unsent usage raises a warning (log and metric).</summary>
    /// <value>The default is 2 hours. Between 0 and 23 hours.</value>
    public TimeSpan DeadlineWarningMargin { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Gets or sets the most rows one claim takes (a flush makes as many claims as it needs).</summary>
    /// <value>The default is 1,000. Between 1 and 100,000.</value>
    public int MaxRowsPerClaim { get; set; } = 1000;

    /// <summary>Gets or sets a name for this instance, stored with its claims for operators.</summary>
    /// <value>The default is the machine name and process id.</value>
    public string InstanceName { get; set; } = string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}:{Environment.ProcessId}");

    /// <summary>Gets or sets the clock.</summary>
    /// <value>The default is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Gets or sets where logs go.</summary>
    /// <value>The default is none.</value>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Throws one <see cref="ArgumentException"/> that lists every bad setting.</summary>
    internal void Validate(string paramName)
    {
        var problems = Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid accumulation options: " + string.Join(" ", problems), paramName);
        }
    }

    /// <summary>The longest <see cref="LeaseDuration"/> allowed.</summary>
    internal static readonly TimeSpan MaxLeaseDuration = TimeSpan.FromHours(1);

    /// <summary>What is wrong, one sentence per setting, each starting with the setting's name.</summary>
    internal List<string> Problems()
    {
        var problems = new List<string>();
        Check(problems, nameof(Grace), Grace, TimeSpan.Zero, TimeSpan.FromHours(12));
        Check(problems, nameof(DurabilityInterval), DurabilityInterval, TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1));
        Check(problems, nameof(FlushInterval), FlushInterval, TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1));
        Check(problems, nameof(LeaseDuration), LeaseDuration, TimeSpan.FromSeconds(1), MaxLeaseDuration);
        Check(problems, nameof(DeadlineWarningMargin), DeadlineWarningMargin, TimeSpan.Zero, TimeSpan.FromHours(23));
        if (MaxRowsPerClaim is < 1 or > 100_000)
        {
            problems.Add(string.Format(CultureInfo.InvariantCulture, "{0} must be between 1 and 100000; it is {1}.", nameof(MaxRowsPerClaim), MaxRowsPerClaim));
        }

        if (string.IsNullOrWhiteSpace(InstanceName))
        {
            problems.Add(nameof(InstanceName) + " must not be empty.");
        }

        if (TimeProvider is null)
        {
            problems.Add(nameof(TimeProvider) + " must not be null.");
        }

        return problems;
    }

    private static void Check(List<string> problems, string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            problems.Add(string.Format(CultureInfo.InvariantCulture, "{0} must be between {1:g} and {2:g}; it is {3:g}.", name, min, max, value));
        }
    }
}
