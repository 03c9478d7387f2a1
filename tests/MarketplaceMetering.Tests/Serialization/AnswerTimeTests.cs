using System.Globalization;
using System.Text.Json.Nodes;
using MarketplaceMetering.Testing;

namespace MarketplaceMetering.Tests.Serialization;

/// <summary>
/// A time in a service answer is read only in the documented shape (a full date and time, with <c>Z</c> or no offset,
/// both UTC; an explicit <c>±hh:mm</c> offset is converted). Anything else, a time with no date above all (which .NET
/// would read as today, and so could match an answer to the wrong hour), is unreadable: handled as any other malformed
/// time, by the fast reader and the tolerant reader alike. Canned answers from a WireMock.Net server on loopback.
/// </summary>
public class AnswerTimeTests
{
    /// <summary>
    /// Forms that .NET's lenient parsing reads, each built so that, misread, it names the sent event's hour: the event is
    /// at 20:00 today (by the machine's local date, which .NET supplies for a time with no date) or, for a date alone, at
    /// midnight. The last one is a control: a time nobody can read, handled so today too.
    /// </summary>
    public static TheoryData<string, int> BadTimes => new()
    {
        { "20:00:00", 20 },
        { "20:00", 20 },
        { "8:00:00 PM", 20 },
        { "{date}", 0 },
        { "{date}T20:00Z", 20 },
        { "{date} 20:00:00", 20 },
        { "{us}T20:00:00", 20 },
        { "{us} 20:00:00", 20 },
        { " {date}T20:00:00Z", 20 },
        { "{date}t20:00:00z", 20 },
        { "not a time", 20 },
    };

    [Theory]
    [MemberData(nameof(BadTimes))]
    public async Task SubmitUsageEventAsync_AcceptedEchoWithAnUnreadableEffectiveStartTime_ThrowsAsForAnyMalformedTime(string form, int hour)
    {
        var (clock, usage, text) = Arrange(form, hour);
        using var server = WireMockLoopback.Answering(Echo(usage, "Accepted", text).ToJsonString());
        using var client = Client(server, clock);

        var act = () => client.SubmitUsageEventAsync(usage);

        var e = (await act.Should().ThrowAsync<MeteringException>("'{0}' is not in the wire's shape, a full date and time, so it names no hour", text)).Which;
        e.Message.Should().Contain("effectiveStartTime");
        e.IsRetryable.Should().BeFalse();
    }

    [Theory]
    [MemberData(nameof(BadTimes))]
    public async Task SubmitBatchUsageEventAsync_ItemsWithAnUnreadableTime_AreMissingOrConflictsAsForAnyMalformedTime(string form, int hour)
    {
        var (clock, usage, text) = Arrange(form, hour);
        var other = TestEvents.At(usage.EffectiveStartTime, resource: TestEvents.ResourceNumber(1));
        var accepted = Echo(usage, "Accepted", text);
        var duplicate = Echo(other, "Duplicate", null);
        duplicate.Remove("usageEventId");
        duplicate["effectiveStartTime"] = Wire(other.EffectiveStartTime);
        duplicate["error"] = new JsonObject
        {
            ["additionalInfo"] = new JsonObject { ["acceptedMessage"] = Echo(other, "Duplicate", text) },
            ["message"] = "This usage event already exist.",
            ["code"] = "Conflict",
        };
        var answer = new JsonObject { ["count"] = 2, ["result"] = new JsonArray(accepted, duplicate) };
        using var server = WireMockLoopback.Answering(answer.ToJsonString());
        using var client = Client(server, clock);

        var batch = await client.SubmitBatchUsageEventAsync([usage, other]);

        batch.Results[0].Should().BeOfType<UsageEventResult.Error>("an item whose time names no hour matches no event: '{0}'", text)
            .Which.Code.Should().Be("MissingFromResponse");
        var conflict = batch.Results[1].Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        conflict.Original.Should().BeNull("an original whose time names no hour cannot be read: '{0}'", text);
        conflict.IsReplay.Should().BeFalse();
    }

    [Theory]
    [InlineData("{date}T20:00:00")]
    [InlineData("{date}T20:00:00Z")]
    [InlineData("{date}T20:00:00.5")]
    [InlineData("{date}T21:00:00+01:00")]
    public async Task SubmitBatchUsageEventAsync_DocumentedTimes_AreStillRead(string form)
    {
        var (clock, usage, text) = Arrange(form, 20);
        using var server = WireMockLoopback.Answering(new JsonObject { ["count"] = 1, ["result"] = new JsonArray(Echo(usage, "Accepted", text)) }.ToJsonString());
        using var client = Client(server, clock);

        var batch = await client.SubmitBatchUsageEventAsync([usage]);

        batch.Results[0].Should().BeOfType<UsageEventResult.Accepted>(text);
    }

    /// <summary>A clock at 20:30 on the machine's local date, the event at <paramref name="hour"/>:00 that day, and the form's text.</summary>
    private static (TestClock Clock, UsageEvent Usage, string Text) Arrange(string form, int hour)
    {
        var today = TimeProvider.System.GetLocalNow().Date;
        var day = new DateTimeOffset(today.Year, today.Month, today.Day, 0, 0, 0, TimeSpan.Zero);
        var clock = new TestClock(day.AddHours(20.5));
        var usage = TestEvents.At(day.AddHours(hour));
        var text = form.Replace("{date}", day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{us}", day.ToString("MM/dd/yyyy", CultureInfo.InvariantCulture), StringComparison.Ordinal);
        return (clock, usage, text);
    }

    private static JsonObject Echo(UsageEvent e, string status, string? effectiveStartTime) => new()
    {
        ["usageEventId"] = Guid.NewGuid().ToString(),
        ["status"] = status,
        ["messageTime"] = Wire(e.EffectiveStartTime.AddMinutes(1)),
        ["resourceId"] = e.ResourceId!.Value.ToString(),
        ["quantity"] = e.Quantity,
        ["dimension"] = e.Dimension,
        ["effectiveStartTime"] = effectiveStartTime ?? Wire(e.EffectiveStartTime),
        ["planId"] = e.PlanId,
    };

    private static string Wire(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static MeteringClient Client(WireMock.Server.WireMockServer server, TestClock clock)
    {
        var options = new MeteringClientOptions { Endpoint = new Uri(server.Url!), TimeProvider = clock };
        options.Retry.MaxRetries = 0;
        return new MeteringClient(new CountingCredential("token", clock), options);
    }
}
