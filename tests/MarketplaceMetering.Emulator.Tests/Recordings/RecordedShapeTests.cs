using MarketplaceMetering.Emulator.Tests.TestSupport;
using static MarketplaceMetering.Emulator.Tests.TestSupport.EventJson;

namespace MarketplaceMetering.Emulator.Tests.Recordings;

/// <summary>
/// Each answer of the emulator has the shape of the real service's answer to the same call, as recorded by
/// Microsoft's official client (Recordings/*.json, sources in Recordings/README.md): the same property names, none
/// missing or extra, no <c>null</c> where the service sends a value, GUIDs and times where it has them, times in the
/// configured style. Values differ (ids, names, quantities) and are not compared.
/// </summary>
public sealed class RecordedShapeTests
{
    /// <summary>Time styles to run each scenario with; <see langword="null"/> leaves the option at its default.</summary>
    public static TheoryData<WireTimeStyle?> Styles => new() { null, WireTimeStyle.UtcDesignator, WireTimeStyle.NoOffset };

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task PostUsageEvent_AcceptedByResourceId_HasTheRecordedShape(WireTimeStyle? style)
    {
        await using var host = await StartAsync(style);

        var answer = await host.PostEventAsync(Event(host.Now.AddMinutes(-5)));

        AssertRecordedShape(answer, "usage-event-accepted-resource-id.json", style);
    }

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task PostUsageEvent_AcceptedByResourceUri_HasTheRecordedShape(WireTimeStyle? style)
    {
        await using var host = await StartAsync(style);

        var answer = await host.PostEventAsync(Event(host.Now.AddMinutes(-5), resourceUri: AppUri));

        AssertRecordedShape(answer, "usage-event-accepted-resource-uri.json", style);
    }

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task PostUsageEvent_Duplicate_HasTheShapeOfTheRecordedConflict(WireTimeStyle? style)
    {
        await using var host = await StartAsync(style);
        (await host.PostEventAsync(Event(host.Now.AddMinutes(-5)))).Status.Should().Be(200);
        host.Time.Advance(TimeSpan.FromMinutes(2));

        var answer = await host.PostEventAsync(Event(host.Now.AddMinutes(-5)));

        AssertRecordedShape(answer, "usage-event-conflict.json", style);
    }

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task PostBatch_AcceptedByResourceIdAndByResourceUri_HasTheRecordedShape(WireTimeStyle? style)
    {
        await using var host = await StartAsync(style);

        var answer = await host.PostBatchAsync(Batch(Event(host.Now.AddMinutes(-5)), Event(host.Now.AddMinutes(-5), resourceUri: AppUri)));

        AssertRecordedShape(answer, "batch-accepted.json", style);
    }

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task PostBatch_DuplicatesByResourceIdAndByResourceUri_HaveTheRecordedShape(WireTimeStyle? style)
    {
        await using var host = await StartAsync(style);
        var batch = Batch(Event(host.Now.AddMinutes(-5)), Event(host.Now.AddMinutes(-5), resourceUri: AppUri));
        (await host.PostBatchAsync(batch)).Status.Should().Be(200);
        host.Time.Advance(TimeSpan.FromMinutes(2));

        var answer = await host.PostBatchAsync(batch);

        AssertRecordedShape(answer, "batch-duplicates.json", style);
    }

    [Theory]
    [MemberData(nameof(Styles))]
    public async Task GetUsageEvents_SaaSRows_HaveTheRecordedShape(WireTimeStyle? style)
    {
        await using var host = await StartAsync(style);
        (await host.PostEventAsync(Event(host.Now.AddHours(-12)))).Status.Should().Be(200);
        (await host.PostEventAsync(Event(host.Now.AddMinutes(-5), resourceId: ResourceB, quantity: "2.5"))).Status.Should().Be(200);

        var answer = await host.GetUsageAsync("&usageStartDate=2026-11-19");

        answer.Json.GetArrayLength().Should().Be(2);
        AssertRecordedShape(answer, "usage-events.json", style);
    }

    private static Task<TestEmulator> StartAsync(WireTimeStyle? style) =>
        TestEmulator.StartAsync(options =>
        {
            if (style is { } chosen)
            {
                options.TimeStyle = chosen;
            }
        });

    private static void AssertRecordedShape(ApiAnswer answer, string recordingName, WireTimeStyle? style)
    {
        var recording = Recording.Load(recordingName);

        var actual = JsonShape.Of(answer.Json);
        var recorded = recording.Shape(style ?? WireTimeStyle.UtcDesignator);

        answer.Status.Should().Be(recording.StatusCode);
        actual.Except(recorded).Should().BeEmpty("the real service answered none of these (Recordings/{0})", recordingName);
        recorded.Except(actual).Should().BeEmpty("the real service answered all of these (Recordings/{0})", recordingName);
        actual.Should().Equal(recorded, "the answer must have the shape of the real service's in Recordings/{0}", recordingName);

        if (recording.ResponseHeaders.Count > 0)
        {
            // The recorded client sent neither id header (nor does TestEmulator); the service answered with one GUID in both.
            recording.RequestHeaderNames.Should().NotContain(name =>
                name.Equals("x-ms-requestid", StringComparison.OrdinalIgnoreCase) || name.Equals("x-ms-correlationid", StringComparison.OrdinalIgnoreCase));
            recording.ResponseHeaders["x-ms-correlationid"].Should().Be(recording.ResponseHeaders["x-ms-requestid"]);
            Guid.TryParse(answer.Header("x-ms-requestid"), out _).Should().BeTrue();
            answer.Header("x-ms-correlationid").Should().Be(answer.Header("x-ms-requestid"));
        }
    }
}
