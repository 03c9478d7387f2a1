using System.Text;
using System.Text.Json;
using Azure.Core;

namespace MarketplaceMetering.Benchmarks;

/// <summary>
/// The events every benchmark sends and the answers the canned server gives them, built once: a single event, a
/// 25-event batch, and 10,000 events for distinct resources (the bulk planner fills batch k with events 25k..25k+24).
/// </summary>
public sealed class Workload
{
    public const string Plan = "gold";
    public const string Dimension = "emails";
    public const int BulkCount = 10_000;

    private const string ResourcePrefix = "6f1a2b3c-0000-4000-8000-";

    private Workload(DateTimeOffset hour)
    {
        Hour = hour;
        Single = UsageEvent.ForResourceId(Resource(0), Plan, Dimension, 1250.5m, hour);
        Batch = Enumerable.Range(0, 25).Select(i => UsageEvent.ForResourceId(Resource(100_000 + i), Plan, Dimension, 10 + i, hour)).ToList();
        Bulk = Enumerable.Range(0, BulkCount).Select(i => UsageEvent.ForResourceId(Resource(i), Plan, Dimension, 1 + (i % 97), hour)).ToList();

        SingleAnswer = Encoding.UTF8.GetBytes(Accepted(Single, topLevel: true));
        BatchAnswer = BatchBody(Batch);
        DuplicateBatchAnswer = DuplicateBatchBody(Batch);
        UnknownStatusBatchAnswer = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(BatchAnswer).Replace("\"Accepted\"", "\"AcceptedPendingReview\"", StringComparison.Ordinal));
        BulkAnswers = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var k = 0; k < BulkCount / 25; k++)
        {
            var events = Bulk.Skip(25 * k).Take(25).ToList();
            BulkAnswers[events[0].ResourceId!.Value.ToString("D")] = BatchBody(events);
        }
    }

    public DateTimeOffset Hour { get; }

    public UsageEvent Single { get; }

    public IReadOnlyList<UsageEvent> Batch { get; }

    public IReadOnlyList<UsageEvent> Bulk { get; }

    public byte[] SingleAnswer { get; }

    public byte[] BatchAnswer { get; }

    public byte[] DuplicateBatchAnswer { get; }

    public byte[] UnknownStatusBatchAnswer { get; }

    /// <summary>The answer to each bulk batch, by the resource id of its first event.</summary>
    public Dictionary<string, byte[]> BulkAnswers { get; }

    /// <summary>A bearer token as long as a real Microsoft Entra token (1,500–2,500 characters).</summary>
    public static string Token { get; } = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + new string('a', 1400) + "." + new string('s', 342);

    public static TokenCredential Credential { get; } = new StaticCredential(Token);

    public static Workload Create()
    {
        var now = TimeProvider.System.GetUtcNow().AddHours(-1);
        return new Workload(new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero));
    }

    public static Guid Resource(int i) => new($"{ResourcePrefix}{i:D12}");

    /// <summary>i for <see cref="Resource"/>(i), or -1 for any other id.</summary>
    public static int ResourceIndex(Guid resource)
    {
        var text = resource.ToString("D");
        return text.StartsWith(ResourcePrefix, StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(ResourcePrefix.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i)
            && Resource(i) == resource ? i : -1;
    }

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);

    private static string Accepted(UsageEvent e, bool topLevel) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["usageEventId"] = Guid.NewGuid(),
        ["status"] = "Accepted",
        ["messageTime"] = Time(e.EffectiveStartTime.AddMinutes(61)),
        ["resourceId"] = e.ResourceId,
        ["quantity"] = e.Quantity,
        ["dimension"] = e.Dimension,
        ["effectiveStartTime"] = Time(e.EffectiveStartTime),
        ["planId"] = e.PlanId,
    });

    private static byte[] BatchBody(IEnumerable<UsageEvent> events) =>
        Encoding.UTF8.GetBytes("{\"result\":[" + string.Join(",", events.Select(e => Accepted(e, topLevel: false))) + "],\"count\":" + events.Count() + "}");

    private static byte[] DuplicateBatchBody(IEnumerable<UsageEvent> events) =>
        Encoding.UTF8.GetBytes("{\"result\":[" + string.Join(",", events.Select(e => JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["status"] = "Duplicate",
            ["messageTime"] = Time(e.EffectiveStartTime.AddMinutes(90)),
            ["resourceId"] = e.ResourceId,
            ["quantity"] = e.Quantity,
            ["dimension"] = e.Dimension,
            ["effectiveStartTime"] = Time(e.EffectiveStartTime),
            ["planId"] = e.PlanId,
            ["error"] = new Dictionary<string, object?>
            {
                ["additionalInfo"] = new Dictionary<string, object?> { ["acceptedMessage"] = JsonDocument.Parse(Accepted(e, topLevel: false)).RootElement },
                ["message"] = "This usage event already exist.",
                ["code"] = "Conflict",
            },
        }))) + "],\"count\":25}");

    /// <summary>
    /// Reads the results of the stream overload of <c>SubmitUsageEventsAsync</c> over <see cref="Bulk"/>, fed by a
    /// stream that allocates nothing per event (so the figure is the client's alone); returns how many were delivered.
    /// </summary>
    public async Task<int> StreamBulkAsync(MeteringClient client)
    {
        var delivered = 0;
        await foreach (var result in client.SubmitUsageEventsAsync(new BulkSubmission.ListSource(Bulk)).ConfigureAwait(false))
        {
            if (result.IsDelivered)
            {
                delivered++;
            }
        }

        return delivered;
    }

    private sealed class StaticCredential(string token) : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new(token, DateTimeOffset.UtcNow.AddHours(1));

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new(GetToken(requestContext, cancellationToken));
    }
}
