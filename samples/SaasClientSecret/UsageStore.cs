using System.Collections.Concurrent;
using MarketplaceMetering;

namespace SaasClientSecret;

/// <summary>
/// Usage summed per subscription, plan, dimension and UTC hour, as a SaaS backend records it while serving requests.
/// In memory for the sample: a real backend keeps unsent usage durably (a database), so that a restart loses nothing.
/// </summary>
public sealed class UsageStore
{
    private readonly ConcurrentDictionary<(Guid Subscription, string Plan, string Dimension, DateTimeOffset Hour), decimal> _usage = new();

    public void Record(Guid subscription, string plan, string dimension, decimal quantity, DateTimeOffset at) =>
        _usage.AddOrUpdate((subscription, plan, dimension, HourOf(at)), quantity, (_, sum) => sum + quantity);

    /// <summary>One event per subscription, plan and dimension with usage in <paramref name="hour"/>, for the service's one-event-per-hour rule.</summary>
    public IReadOnlyList<UsageEvent> EventsFor(DateTimeOffset hour) =>
        _usage.Where(u => u.Key.Hour == hour && u.Value > 0)
            .OrderBy(u => u.Key.Subscription).ThenBy(u => u.Key.Dimension, StringComparer.Ordinal)
            .Select(u => UsageEvent.ForResourceId(u.Key.Subscription, u.Key.Plan, u.Key.Dimension, u.Value, hour))
            .ToList();

    /// <summary>Forgets an hour once it is delivered.</summary>
    public void Forget(DateTimeOffset hour)
    {
        foreach (var key in _usage.Keys.Where(k => k.Hour == hour).ToList())
        {
            _usage.TryRemove(key, out _);
        }
    }

    public void SimulateLastHour(SampleSettings settings, DateTimeOffset now)
    {
        var random = new Random(2026);
        var lastHour = HourOf(now).AddHours(-1);
        foreach (var subscription in settings.Subscriptions)
        {
            foreach (var dimension in settings.Dimensions)
            {
                for (var i = 0; i < 20; i++)
                {
                    Record(subscription.Id, subscription.PlanId, dimension, random.Next(1, 50), lastHour.AddMinutes(random.Next(0, 60)));
                }
            }
        }
    }

    public static DateTimeOffset HourOf(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }
}
