using MarketplaceMetering;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SaasClientSecret;

/// <summary>
/// Once an hour has closed (plus a few minutes for late records), sends its usage in one bulk call and feeds back what
/// the summary says is worth sending again. The service accepts usage up to 24 hours old, so an hour that fails now is
/// retried on the next cycles; conflicts and expired hours are logged for a person to look at.
/// </summary>
public sealed class HourlyUsageWorker(
    MeteringClient client,
    UsageStore usage,
    SampleSettings settings,
    TimeProvider clock,
    IHostApplicationLifetime lifetime,
    ILogger<HourlyUsageWorker> logger) : BackgroundService
{
    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(5);
    private readonly List<UsageEvent> _retry = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastSent = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            var closedHour = UsageStore.HourOf(clock.GetUtcNow()).AddHours(-1);
            if (closedHour > lastSent)
            {
                await SendAsync(closedHour, stoppingToken);
                lastSent = closedHour;
            }

            if (settings.RunOnce)
            {
                Environment.ExitCode = _retry.Count == 0 ? 0 : 1;
                lifetime.StopApplication();
                return;
            }

            var nextCycle = UsageStore.HourOf(clock.GetUtcNow()).AddHours(1) + Grace;
            await Task.Delay(nextCycle - clock.GetUtcNow(), clock, stoppingToken);
        }
    }

    private async Task SendAsync(DateTimeOffset hour, CancellationToken cancellationToken)
    {
        var events = usage.EventsFor(hour).Concat(_retry).ToList();
        _retry.Clear();
        if (events.Count == 0)
        {
            Console.WriteLine($"Hour {hour:yyyy-MM-ddTHH}:00Z: no usage to report.");
            return;
        }

        var bulk = await client.SubmitUsageEventsAsync(events, cancellationToken);
        Console.WriteLine($"Hour {hour:yyyy-MM-ddTHH}:00Z: {bulk.Summary}");
        usage.Forget(hour);

        // Errors and unknown outcomes are safe to send again: what was recorded comes back as a replay.
        _retry.AddRange(bulk.Summary.Retryable);
        foreach (var result in bulk.Summary.NeedsAttention.Where(r => r is UsageEventResult.Duplicate { IsConflict: true } or UsageEventResult.Expired))
        {
            logger.LogWarning("Not billed: {Status} for {Resource} {Dimension} {Hour:o}: {Result}", result.Status, result.Event.ResourceId, result.Event.Dimension, result.Event.EffectiveStartTime, result);
        }
    }
}
