using System.Text;
using System.Text.Json.Nodes;
using MarketplaceMetering.Serialization;
using Microsoft.Extensions.Logging.Abstractions;

namespace MarketplaceMetering.Tests.Serialization;

/// <summary>
/// The fast reader answers only for the common shapes and gives up on anything else; wherever it answers, it must answer
/// exactly what the DTO and tolerant paths answer. Checked on the documented answers and on thousands of seeded
/// mutations of them (property names in another case, values of other types, missing and extra members, escaped text,
/// offset-less and odd times, shuffled items, lying quantities).
/// </summary>
public class FastReaderTests
{
    private const string Op = "POST /api/batchUsageEvent";
    private static readonly DateTimeOffset Hour = new(2026, 11, 20, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void TryReadBatch_DocumentedAnswers_AnswersAndAgreesWithTheSlowPath()
    {
        var sent = Events();

        foreach (var (name, answer) in Answers(sent))
        {
            var fast = FastReader.TryReadBatch(sent, Raw(answer.ToJsonString()));

            fast.Should().NotBeNull(name + " is a common shape the fast reader must read");
            fast.Should().Equal(Slow(sent, answer.ToJsonString()), name);
        }
    }

    [Fact]
    public void TryReadSingle_DocumentedAcceptedAnswer_AnswersAndAgreesWithTheSlowPath()
    {
        var sent = Events()[0];
        var answer = Item(sent, "Accepted").ToJsonString();

        var fast = FastReader.TryReadSingle(sent, Raw(answer));

        fast.Should().BeOfType<UsageEventResult.Accepted>();
        fast.Should().Be(ResponseMapper.MapSingle(sent, Raw(answer), Op, useFastReader: false));
    }

    [Fact]
    public void FastAndSlowPaths_5000MutatedAnswers_AgreeWheneverTheFastReaderAnswers()
    {
        var random = new Random(Seed(20261202));
        var sent = Events();
        var answered = 0;
        var declined = 0;
        for (var n = 0; n < 5000; n++)
        {
            var (name, answer) = Answers(sent)[random.Next(4)];
            var text = Mutate(answer, random);

            UsageEventResult[]? fast;
            try
            {
                fast = FastReader.TryReadBatch(sent, Raw(text));
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"The fast reader threw on mutation {n} of {name}: {text}", e);
            }

            if (fast is null)
            {
                declined++;
                continue;
            }

            answered++;
            IReadOnlyList<UsageEventResult> slow;
            try
            {
                slow = Slow(sent, text);
            }
            catch (MeteringException e)
            {
                throw new InvalidOperationException($"The fast reader answered where the slow path refuses the whole answer, mutation {n} of {name}: {text}", e);
            }

            fast.Should().Equal(slow, "mutation {0} of {1}: {2}", n, name, text);
        }

        answered.Should().BeGreaterThan(500, "mutations that keep the documented shape are still read fast");
        declined.Should().BeGreaterThan(500, "odd mutations are left to the slow path");
    }

    [Fact]
    public void TryRead_BrokenBytes_NeitherPathThrowsARawExceptionAndTheyAgree()
    {
        var random = new Random(Seed(7));
        var sent = Events();
        var valid = Encoding.UTF8.GetBytes(Answers(sent)[3].Answer.ToJsonString());
        for (var n = 0; n < 3000; n++)
        {
            var broken = (byte[])valid.Clone();
            switch (n % 3)
            {
                case 0:
                    broken = broken[..random.Next(broken.Length)];
                    break;
                case 1:
                    broken[random.Next(broken.Length)] = (byte)random.Next(256);
                    break;
                default:
                    broken = [.. broken, .. Encoding.UTF8.GetBytes(" trailing")];
                    break;
            }

            var raw = new RawResponse(200, null, broken, "r", "c", null);
            var fast = FastReader.TryReadBatch(sent, raw);
            var single = FastReader.TryReadSingle(sent[0], raw);

            // The slow path may refuse the whole answer, but only with a MeteringException.
            IReadOnlyList<UsageEventResult>? slow = null;
            try
            {
                slow = ResponseMapper.MapBatch(sent, raw, Op, NullLogger.Instance, useFastReader: false).Results;
            }
            catch (MeteringException)
            {
            }

            if (fast is not null)
            {
                slow.Should().NotBeNull("broken variant {0} was read fast, so the slow path must read it too", n);
                fast.Should().Equal(slow, "broken variant {0}: {1}", n, Encoding.UTF8.GetString(broken));
            }

            single.Should().BeNull("a batch answer is not a single event's answer");
        }
    }

    /// <summary>
    /// A name given twice (or twice in two cases) is read by the slow path as its last value, case-insensitively: the
    /// fast reader must not answer from a value the slow path overwrites.
    /// </summary>
    [Theory]
    [InlineData("result named again in another case, as null", "top", ",\"Result\":null")]
    [InlineData("result named again in another case, empty", "top", ",\"RESULT\":[]")]
    [InlineData("a Duplicate's error given again as null", "item", ",\"error\":null")]
    [InlineData("a Duplicate's error given again without its original", "item", ",\"error\":{\"code\":\"Conflict\"}")]
    [InlineData("a Duplicate's additionalInfo given again as null", "info", ",\"additionalInfo\":null")]
    public void TryReadBatch_NameGivenTwice_FastReaderDeclinesOrAgreesWithTheSlowPath(string name, string where, string again)
    {
        var sent = Events();
        var answer = Answers(sent)[1].Answer.ToJsonString();
        answer = where switch
        {
            "top" => answer.Insert(answer.Length - 1, again),
            "item" => answer.Replace("\"code\":\"Conflict\"}", "\"code\":\"Conflict\"}" + again, StringComparison.Ordinal),
            _ => answer.Replace("\"message\":\"This usage event already exist.\"", "\"message\":\"This usage event already exist.\"" + again, StringComparison.Ordinal),
        };
        answer.Should().Contain(again, "the answer was built as the test means");

        var fast = FastReader.TryReadBatch(sent, Raw(answer));

        if (fast is not null)
        {
            IReadOnlyList<UsageEventResult>? slow = null;
            var act = () => slow = Slow(sent, answer);
            act.Should().NotThrow(name + ": the fast reader answered, so the slow path must read the answer too");
            fast.Should().Equal(slow, name);
        }
    }

    [Fact]
    public void TryReadSingle_EchoOfAnotherEvent_DeclinesSoTheSlowPathCanRefuseIt()
    {
        var sent = Events()[0];
        var answer = Item(Events()[1], "Accepted").ToJsonString();

        FastReader.TryReadSingle(sent, Raw(answer)).Should().BeNull();
        FluentActions.Invoking(() => ResponseMapper.MapSingle(sent, Raw(answer), Op)).Should().Throw<MeteringException>();
    }

    /// <summary>
    /// Times outside the wire's shape (a full date and time to the second, with Z, no offset or ±hh:mm) are unreadable on
    /// both paths: the fast reader gives up on them (System.Text.Json reads some, such as a time without seconds) and the
    /// slow path finds no time, so the item matches no event (effectiveStartTime) or cannot be read (messageTime).
    /// </summary>
    [Theory]
    [InlineData("effectiveStartTime", "09:05:00")]
    [InlineData("effectiveStartTime", "2026-11-20")]
    [InlineData("effectiveStartTime", "2026-11-20T09:05Z")]
    [InlineData("effectiveStartTime", "2026-11-20T09:05")]
    [InlineData("effectiveStartTime", "2026-11-20 09:05:00")]
    [InlineData("effectiveStartTime", "2026-11-20T09:05:00+01")]
    [InlineData("effectiveStartTime", "2026-11-20T09:05:00z")]
    [InlineData("effectiveStartTime", "2026-11-20T09:05:60Z")]
    [InlineData("effectiveStartTime", "2026-W47-5T09:05:00")]
    [InlineData("messageTime", "10:01:02")]
    [InlineData("messageTime", "2026-11-20T10:01Z")]
    public void TryReadBatch_TimeOutsideTheWireShape_NeitherPathReadsIt(string field, string time)
    {
        var sent = Events();
        var answer = Answers(sent)[0].Answer;
        answer["result"]![0]![field] = time;

        var fast = FastReader.TryReadBatch(sent, Raw(answer.ToJsonString()));
        var slow = Slow(sent, answer.ToJsonString());

        fast.Should().BeNull("the fast reader gives up on '{0}'", time);
        slow[0].Should().Match<UsageEventResult>(
            r => field == "messageTime" ? r is UsageEventResult.Unknown : r is UsageEventResult.Error && ((UsageEventResult.Error)r).Code == "MissingFromResponse",
            "'{0}' is no time the service writes", time);
        slow.Skip(1).Should().AllBeOfType<UsageEventResult.Accepted>();
    }

    /// <summary>The fixed seed, or FUZZ_SEED's, to explore other mutations locally.</summary>
    private static int Seed(int fixedSeed) =>
        int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out var seed) ? seed : fixedSeed;

    [Theory]
    [InlineData("2026-11-20T10:01:02\\u005A")]
    [InlineData("2026-11-20T10:01:02.123456789Z")]
    [InlineData("2026-11-20T10:01:02.12345678")]
    [InlineData("0000-01-01T00:00:00Z")]
    [InlineData("9999-12-31T23:59:59+14:00")]
    [InlineData("9999-12-31T23:59:59-14:00")]
    [InlineData("0001-01-01T00:00:00+14:00")]
    [InlineData("0001-01-01T00:00:00-14:00")]
    [InlineData("2026-11-20T10:01:02+14:59")]
    [InlineData("2026-11-20T10:01:02-14:01")]
    [InlineData("2026-02-30T10:01:02Z")]
    [InlineData("2026-11-20T10:01:02\\u002B01:00")]
    public void FastAndSlowPaths_HostileMessageTime_NeitherThrowsAndTheyAgree(string time)
    {
        var sent = Events();
        var text = Batch(sent.Select(e => Item(e, "Accepted"))).ToJsonString()
            .Replace("2026-11-20T10:01:02.1234567Z", time, StringComparison.Ordinal);

        var fast = FastReader.TryReadBatch(sent, Raw(text));
        var singleText = Item(sent[0], "Accepted").ToJsonString().Replace("2026-11-20T10:01:02.1234567Z", time, StringComparison.Ordinal);
        var single = FastReader.TryReadSingle(sent[0], Raw(singleText));
        IReadOnlyList<UsageEventResult>? slow = null;
        try
        {
            slow = Slow(sent, text);
        }
        catch (MeteringException)
        {
        }

        if (fast is not null)
        {
            fast.Should().Equal(slow, time);
        }

        if (single is not null)
        {
            single.Should().Be(ResponseMapper.MapSingle(sent[0], Raw(singleText), Op, useFastReader: false), time);
        }
    }

    private static IReadOnlyList<UsageEventResult> Slow(IReadOnlyList<UsageEvent> sent, string answer) =>
        ResponseMapper.MapBatch(sent, Raw(answer), Op, NullLogger.Instance, useFastReader: false).Results;

    private static RawResponse Raw(string body) => new(200, null, Encoding.UTF8.GetBytes(body), "req-1", "corr-1", null);

    private static List<UsageEvent> Events() =>
    [
        TestEvents.At(Hour.AddMinutes(5), 5m, TestEvents.ResourceNumber(1)),
        TestEvents.At(Hour.AddMinutes(10), 9.123456789012346m, TestEvents.ResourceNumber(2), dimension: "Dim2"),
        UsageEvent.ForResourceUri("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Solutions/applications/app1", "plan1", "dim1", 0.25m, Hour.AddMinutes(59)),
    ];

    private static List<(string Name, JsonObject Answer)> Answers(IReadOnlyList<UsageEvent> sent) =>
    [
        ("accepted", Batch(sent.Select(e => Item(e, "Accepted")))),
        ("duplicates", Batch(sent.Select(e => Duplicate(e)))),
        ("unknown statuses", Batch(sent.Select(e => Item(e, "AcceptedPendingReview", withId: false)))),
        ("mixed, reversed", Batch(sent.Select((e, i) => i switch { 0 => Duplicate(e), 1 => Item(e, "Accepted"), _ => Item(e, "SomethingNew", withId: false) }).Reverse())),
    ];

    private static JsonObject Batch(IEnumerable<JsonObject> items)
    {
        var array = new JsonArray();
        foreach (var item in items)
        {
            array.Add(item);
        }

        return new JsonObject { ["result"] = array, ["count"] = array.Count };
    }

    private static JsonObject Item(UsageEvent e, string status, bool withId = true)
    {
        var item = new JsonObject();
        if (withId)
        {
            item["usageEventId"] = Guid.NewGuid().ToString();
        }

        item["status"] = status;
        item["messageTime"] = "2026-11-20T10:01:02.1234567Z";
        if (e.ResourceUri is { } uri)
        {
            item["resourceId"] = "aaaabbbb-0000-4000-8000-000000000099";
            item["resourceUri"] = uri;
        }
        else
        {
            item["resourceId"] = e.ResourceId!.Value.ToString();
        }

        item["quantity"] = JsonValue.Create(WireFormat.ServiceDouble(e.Quantity));
        item["dimension"] = e.Dimension;
        item["effectiveStartTime"] = e.EffectiveStartTime.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss");
        item["planId"] = e.PlanId;
        return item;
    }

    private static JsonObject Duplicate(UsageEvent e)
    {
        var item = Item(e, "Duplicate", withId: false);
        var original = Item(e, "Duplicate");
        original["effectiveStartTime"] = e.EffectiveStartTime.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss") + "Z";
        item["error"] = new JsonObject
        {
            ["additionalInfo"] = new JsonObject { ["acceptedMessage"] = original },
            ["message"] = "This usage event already exist.",
            ["code"] = "Conflict",
        };
        return item;
    }

    /// <summary>One to three random changes to the answer's text or structure.</summary>
    private static string Mutate(JsonObject answer, Random random)
    {
        var copy = JsonNode.Parse(answer.ToJsonString())!.AsObject();
        var items = copy["result"]!.AsArray();
        for (var m = random.Next(1, 4); m > 0; m--)
        {
            var item = items[random.Next(items.Count)]!.AsObject();
            var target = random.Next(3) == 0 && item["error"] is JsonObject error && error["additionalInfo"] is JsonObject info && info["acceptedMessage"] is JsonObject original ? original : item;
            var keys = target.Select(p => p.Key).ToList();
            var key = keys[random.Next(keys.Count)];
            switch (random.Next(12))
            {
                case 0: // a name in another case
                    var value = target[key]?.DeepClone();
                    target.Remove(key);
                    target[char.ToUpperInvariant(key[0]) + key[1..]] = value;
                    break;
                case 1:
                    target.Remove(key);
                    break;
                case 2:
                    target[key] = 12345;
                    break;
                case 3:
                    target[key] = "text";
                    break;
                case 4:
                    target[key] = null;
                    break;
                case 5:
                    target["extra" + random.Next(100)] = new JsonObject { ["nested"] = new JsonArray(1, "two", null) };
                    break;
                case 6:
                    target["quantity"] = JsonValue.Create(random.Next(3) == 0 ? 1e12 + 900 : random.NextDouble() * 100);
                    break;
                case 7:
                    target["effectiveStartTime"] = random.Next(4) switch
                    {
                        0 => "2026-11-20T09:30:00+01:00",
                        1 => "2026-11-20T08:59:59Z",
                        2 => "20 November 2026 09:30",
                        _ => "2026-11-20T09:30:00.5",
                    };
                    break;
                case 8:
                    target["status"] = random.Next(5) switch { 0 => "accepted", 1 => "Expired", 2 => "DUPLICATE", 3 => " ", _ => "Brand\\u004eew" };
                    break;
                case 9:
                    items.Add(Item(TestEvents.At(Hour, 1m, TestEvents.ResourceNumber(50 + random.Next(5))), "Accepted"));
                    break;
                case 10:
                    target["dimension"] = random.Next(2) == 0 ? "DIM1" : "dim\u00e9";
                    break;
                default:
                    target["planId"] = random.Next(2) == 0 ? "PLAN1" : "plan2";
                    break;
            }
        }

        return copy.ToJsonString();
    }
}
