using System.Text;
using MarketplaceMetering.Serialization;
using Microsoft.Extensions.Logging.Abstractions;

namespace MarketplaceMetering.Tests.Serialization;

/// <summary>Parsing of canned bodies: the documented shapes, the recorded quirks and hostile answers.</summary>
public class ResponseMapperTests
{
    private const string Op = "POST /api/usageEvent";
    private static readonly DateTimeOffset Time = new(2026, 11, 20, 9, 30, 0, TimeSpan.Zero);
    private static readonly UsageEvent Sent = TestEvents.At(Time, quantity: 5m);

    private static RawResponse Raw(int status, string body) =>
        new(status, null, Encoding.UTF8.GetBytes(body), "req-1", "corr-1", null);

    [Fact]
    public void MapSingle_200Accepted_ReturnsAcceptedWithIdTimeAndIds()
    {
        var result = ResponseMapper.MapSingle(Sent, Raw(200, """
            {"usageEventId":"11111111-2222-3333-4444-555555555555","status":"Accepted","messageTime":"2026-11-20T09:31:02.1234Z",
             "resourceId":"6f1a2b3c-0000-4000-8000-000000000001","quantity":5.0,"dimension":"dim1","effectiveStartTime":"2026-11-20T09:30:00Z","planId":"plan1"}
            """), Op);

        var accepted = result.Should().BeOfType<UsageEventResult.Accepted>().Subject;
        accepted.UsageEventId.Should().Be(Guid.Parse("11111111-2222-3333-4444-555555555555"));
        accepted.MessageTime.Should().Be(new DateTimeOffset(2026, 11, 20, 9, 31, 2, TimeSpan.Zero).AddTicks(1234000));
        accepted.ResourceUsageId.Should().Be(TestEvents.Resource);
        accepted.Status.Should().Be(UsageEventStatus.Accepted);
        accepted.Event.Should().BeSameAs(Sent);
        accepted.RequestId.Should().Be("req-1");
        accepted.CorrelationId.Should().Be("corr-1");
        accepted.IsDelivered.Should().BeTrue();
    }

    [Theory]
    [InlineData("2026-11-20T09:31:02")]
    [InlineData("2026-11-20T09:31:02Z")]
    [InlineData("2026-11-20T11:31:02+02:00")]
    public void MapSingle_200AcceptedWithMessageTimeInAnyForm_EqualsTheModelFactorysResultInUtc(string messageTime)
    {
        var id = Guid.Parse("11111111-2222-3333-4444-555555555555");
        var body = """{"usageEventId":"11111111-2222-3333-4444-555555555555","status":"Accepted","messageTime":"TIME","resourceId":"6f1a2b3c-0000-4000-8000-000000000001","quantity":5.0,"dimension":"dim1","effectiveStartTime":"2026-11-20T09:30:00Z","planId":"plan1"}""";

        var fromTheWire = ResponseMapper.MapSingle(Sent, Raw(200, body.Replace("TIME", messageTime, StringComparison.Ordinal)), Op);
        var faked = MeteringModelFactory.Accepted(Sent, id, new DateTimeOffset(2026, 11, 20, 11, 31, 2, TimeSpan.FromHours(2)), TestEvents.Resource, "req-1", "corr-1");

        var accepted = fromTheWire.Should().BeOfType<UsageEventResult.Accepted>().Subject;
        accepted.MessageTime.Should().Be(new DateTimeOffset(2026, 11, 20, 9, 31, 2, TimeSpan.Zero));
        accepted.MessageTime.Offset.Should().Be(TimeSpan.Zero);
        fromTheWire.Should().Be(faked);
        fromTheWire.GetHashCode().Should().Be(faked.GetHashCode());
        fromTheWire.ToString().Should().Be(faked.ToString()).And.Contain("MessageTime = 11/20/2026 09:31:02 +00:00");
        (fromTheWire with { }).Should().Be(faked);
    }

    [Fact]
    public void MapSingle_409WithAcceptedMessage_ReturnsDuplicateCarryingOriginal()
    {
        var result = ResponseMapper.MapSingle(Sent, Raw(409, """
            {"additionalInfo":{"acceptedMessage":{"usageEventId":"aaaaaaaa-0000-0000-0000-000000000001","status":"Duplicate","messageTime":"2026-11-20T09:35:00Z",
              "resourceId":"6f1a2b3c-0000-4000-8000-000000000001","quantity":5.0,"dimension":"dim1","effectiveStartTime":"2026-11-20T09:10:00Z","planId":"plan1"}},
             "message":"This usage event already exist.","code":"Conflict"}
            """), Op);

        var duplicate = result.Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        duplicate.Original!.UsageEventId.Should().Be(Guid.Parse("aaaaaaaa-0000-0000-0000-000000000001"));
        duplicate.Original.Quantity.Should().Be(5m);
        duplicate.Original.MessageTime.Should().Be(new DateTimeOffset(2026, 11, 20, 9, 35, 0, TimeSpan.Zero));
        duplicate.IsReplay.Should().BeTrue("same resource, plan, dimension, hour and quantity");
        duplicate.IsDelivered.Should().BeTrue();
    }

    [Fact]
    public void MapSingle_409WithDifferentQuantity_IsAConflictNotDelivered()
    {
        var result = ResponseMapper.MapSingle(Sent, Raw(409, """
            {"additionalInfo":{"acceptedMessage":{"usageEventId":"aaaaaaaa-0000-0000-0000-000000000001","status":"Duplicate",
              "resourceId":"6f1a2b3c-0000-4000-8000-000000000001","quantity":7.0,"dimension":"dim1","effectiveStartTime":"2026-11-20T09:10:00Z","planId":"plan1"}},
             "code":"Conflict"}
            """), Op);

        var duplicate = result.Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        duplicate.IsReplay.Should().BeFalse();
        duplicate.IsConflict.Should().BeTrue();
        duplicate.IsDelivered.Should().BeFalse();
        duplicate.Original!.Quantity.Should().Be(7m);
    }

    [Fact]
    public void MapSingle_409WithoutAcceptedMessage_IsDuplicateWithNoOriginal()
    {
        var duplicate = ResponseMapper.MapSingle(Sent, Raw(409, """{"message":"This usage event already exist.","code":"Conflict"}"""), Op)
            .Should().BeOfType<UsageEventResult.Duplicate>().Subject;

        duplicate.Original.Should().BeNull();
        duplicate.IsReplay.Should().BeFalse();
    }

    [Fact]
    public void MapSingle_409OriginalWithLongDoubleQuantity_IsStillAReplay()
    {
        var sent = TestEvents.At(Time, quantity: 9.123456789012346m);

        var duplicate = ResponseMapper.MapSingle(sent, Raw(409, """
            {"additionalInfo":{"acceptedMessage":{"usageEventId":"aaaaaaaa-0000-0000-0000-000000000001","resourceId":"6f1a2b3c-0000-4000-8000-000000000001",
              "quantity":9.1234567890123461,"dimension":"dim1","effectiveStartTime":"2026-11-20T09:30:00","planId":"plan1"}},"code":"Conflict"}
            """), Op).Should().BeOfType<UsageEventResult.Duplicate>().Subject;

        duplicate.Original!.Quantity.Should().Be(9.123456789012346m);
        duplicate.IsReplay.Should().BeTrue();
    }

    [Theory]
    [InlineData("""{"code":"BadArgument","message":"One or more errors have occurred.","target":"usageEventRequest","details":[{"code":"BadArgument","message":"The usageEvent.effectiveStartTime has expired or is in future.","target":"effectiveStartTime"}]}""")]
    [InlineData("""{"code":"BadArgument","message":"expired","target":"effectiveStartTime"}""")]
    [InlineData("""{"code":"BadArgument","message":"expired","details":[{"target":"usageEvent.EffectiveStartTime"}]}""")]
    public void MapSingle_400AboutEffectiveStartTime_ReturnsExpired(string body)
    {
        var expired = ResponseMapper.MapSingle(Sent, Raw(400, body), Op).Should().BeOfType<UsageEventResult.Expired>().Subject;

        expired.Status.Should().Be(UsageEventStatus.Expired);
        expired.Code.Should().Be("BadArgument");
        expired.IsDelivered.Should().BeFalse();
    }

    [Theory]
    [InlineData("ResourceNotFound", typeof(UsageEventResult.ResourceNotFound))]
    [InlineData("ResourceNotAuthorized", typeof(UsageEventResult.ResourceNotAuthorized))]
    [InlineData("ResourceNotActive", typeof(UsageEventResult.ResourceNotActive))]
    [InlineData("InvalidDimension", typeof(UsageEventResult.InvalidDimension))]
    [InlineData("InvalidQuantity", typeof(UsageEventResult.InvalidQuantity))]
    [InlineData("Error", typeof(UsageEventResult.Error))]
    public void MapSingle_400WithNamedCode_ReturnsThatStatus(string code, Type expected)
    {
        var result = ResponseMapper.MapSingle(Sent, Raw(400, $$"""{"code":"{{code}}","message":"m","target":"t"}"""), Op);

        result.Should().BeOfType(expected);
        ((UsageEventResult.Failure)result).Code.Should().Be(code);
    }

    [Fact]
    public void MapSingle_400BadArgumentWithSpecificDetail_ReturnsTheDetailsStatus()
    {
        var result = ResponseMapper.MapSingle(Sent, Raw(400, """
            {"code":"BadArgument","message":"One or more errors have occurred.","target":"usageEventRequest",
             "details":[{"code":"InvalidDimension","message":"dim1 is not on plan1","target":"dimension"}]}
            """), Op);

        var failure = result.Should().BeOfType<UsageEventResult.InvalidDimension>().Subject;
        failure.Code.Should().Be("BadArgument");
        failure.Message.Should().Be("dim1 is not on plan1");
        failure.Target.Should().Be("dimension");
        failure.Details.Should().ContainSingle().Which.Should().Be(new MeteringErrorDetail("InvalidDimension", "dim1 is not on plan1", "dimension"));
    }

    [Fact]
    public void MapSingle_Documented400MissingResourceId_BadArgumentNamesTheDetailsFieldAndMessage()
    {
        var result = ResponseMapper.MapSingle(Sent, Raw(400, """
            {"message":"One or more errors have occurred.","target":"usageEventRequest",
             "details":[{"message":"The resourceId is required.","target":"ResourceId","code":"BadArgument"}],"code":"BadArgument"}
            """), Op);

        var bad = result.Should().BeOfType<UsageEventResult.BadArgument>().Subject;
        bad.Code.Should().Be("BadArgument");
        bad.Message.Should().Be("The resourceId is required.");
        bad.Target.Should().Be("ResourceId");
        bad.Details.Should().Equal(new MeteringErrorDetail("BadArgument", "The resourceId is required.", "ResourceId"));
    }

    [Fact]
    public void MapSingle_400EnvelopeWithOwnMessageAndTwoDetails_KeepsTheTopMessageThenEachDetail()
    {
        var result = ResponseMapper.MapSingle(Sent, Raw(400, """
            {"code":"BadArgument","message":"The event was refused.","target":"usageEventRequest",
             "details":[{"code":"BadArgument","message":"The planId is required.","target":"PlanId"},{"code":"BadArgument","message":"The dimension is required.","target":"Dimension"}]}
            """), Op);

        var bad = result.Should().BeOfType<UsageEventResult.BadArgument>().Subject;
        bad.Message.Should().Be("The event was refused. The planId is required. The dimension is required.");
        bad.Target.Should().Be("PlanId");
        bad.Details.Should().HaveCount(2);
    }

    [Fact]
    public void MapSingle_Documented400AboutEffectiveStartTime_ExpiredNamesTheFieldAndTheDetailsMessage()
    {
        var expired = ResponseMapper.MapSingle(Sent, Raw(400, """
            {"code":"BadArgument","message":"One or more errors have occurred.","target":"usageEventRequest",
             "details":[{"code":"BadArgument","message":"The usageEvent.effectiveStartTime has expired or is in future.","target":"effectiveStartTime"}]}
            """), Op).Should().BeOfType<UsageEventResult.Expired>().Subject;

        expired.Message.Should().Be("The usageEvent.effectiveStartTime has expired or is in future.");
        expired.Target.Should().Be("effectiveStartTime");
    }

    [Fact]
    public void MapBatch_Documented400_ThrowsNamingEachDetailsFieldAndMessage()
    {
        var act = () => ResponseMapper.MapBatch([Sent], Raw(400, """
            {"code":"BadArgument","message":"One or more errors have occurred.","target":"usageEventRequest",
             "details":[{"code":"BadArgument","message":"A batch holds 1 to 25 usage events; this one holds 26.","target":"request"}]}
            """), "POST /api/batchUsageEvent", NullLogger.Instance);

        var e = act.Should().Throw<MeteringException>().Which;
        e.StatusCode.Should().Be(400);
        e.ErrorCode.Should().Be("BadArgument");
        e.Message.Should().Contain("One or more errors have occurred.")
            .And.Contain("'request': 'A batch holds 1 to 25 usage events; this one holds 26.'");
    }

    [Fact]
    public void MapSingle_400WithThousandsOfDetails_MessageQuotesOnlyTheFirstFew()
    {
        var details = string.Join(",", Enumerable.Range(0, 5000).Select(i => $$"""{"code":"BadArgument","message":"Detail number {{i}} is wrong.","target":"field{{i}}"}"""));
        var body = $$"""{"code":"BadArgument","message":"One or more errors have occurred.","target":"usageEventRequest","details":[{{details}}]}""";

        var bad = ResponseMapper.MapSingle(Sent, Raw(400, body), Op).Should().BeOfType<UsageEventResult.BadArgument>().Subject;

        bad.Message.Length.Should().BeLessThan(400, "the message is bounded like the exception's, at five details");
        bad.Message.Should().Be("Detail number 0 is wrong. Detail number 1 is wrong. Detail number 2 is wrong. Detail number 3 is wrong. Detail number 4 is wrong.");
        bad.Target.Should().Be("field0");
        bad.Details.Should().HaveCount(5000, "the details themselves are all kept, as data");
    }

    [Theory]
    [InlineData(""" "details":"oops" """)]
    [InlineData(""" "details":[1,"x",[],true] """)]
    [InlineData(""" "details":{"message":"m"} """)]
    [InlineData(""" "details":[{"message":null,"target":null},{"message":"  ","target":" "},{"message":"","target":"dimension"}] """)]
    public void MapSingle_400WithDetailsNotObjectsOrEmpty_ReturnsTheTopLevelError(string details)
    {
        var body = $$"""{"code":"BadArgument","message":"One or more errors have occurred.","target":"usageEventRequest",{{details}}}""";

        var bad = ResponseMapper.MapSingle(Sent, Raw(400, body), Op).Should().BeAssignableTo<UsageEventResult.Failure>().Subject;

        bad.Message.Should().NotBeNullOrWhiteSpace();
    }

    [Theory]
    [InlineData(""" "target":null, """, """ "target":null """)]
    [InlineData("", """ "target":"" """)]
    [InlineData(""" "target":"", """, """ "target":"" """)]
    [InlineData(""" "target":" ", """, """ "target":" " """)]
    public void MapSingle_400WithNoTopTargetAndADetailWithNoTarget_MessageIsTheDetails(string topTarget, string detailTarget)
    {
        var body = $$"""{"code":"BadArgument","message":"One or more errors have occurred.",{{topTarget}}"details":[{"code":"BadArgument","message":"The planId is required.",{{detailTarget}}}]}""";

        var bad = ResponseMapper.MapSingle(Sent, Raw(400, body), Op).Should().BeOfType<UsageEventResult.BadArgument>().Subject;

        bad.Message.Should().Be("The planId is required.", "a detail that names no field does not repeat a top level that names none either");
    }

    [Fact]
    public void MapSingle_400DetailEchoingTheToken_MessageAndTargetAreRedacted()
    {
        const string Token = "eyJhbGciOiJSUzI1NiJ9.secret-token-body-0123456789";
        var redactor = new SecretRedactor();
        redactor.AddToken(Token);
        var body = $$"""{"code":"BadArgument","message":"One or more errors have occurred.","target":"usageEventRequest","details":[{"code":"BadArgument","message":"Bearer {{Token}} is not valid.","target":"{{Token}}"}]}""";

        var bad = ResponseMapper.MapSingle(Sent, new RawResponse(400, null, Encoding.UTF8.GetBytes(body), "req-1", "corr-1", null, redactor), Op)
            .Should().BeAssignableTo<UsageEventResult.Failure>().Subject;

        bad.Message.Should().NotContain("secret-token-body");
        bad.Target.Should().NotContain("secret-token-body");
        bad.Details.Should().OnlyContain(d => !d.Message!.Contains("secret-token-body") && !d.Target!.Contains("secret-token-body"));
    }

    [Fact]
    public void MapSingle_400Unclear_ReturnsBadArgumentKeepingEverything()
    {
        var result = ResponseMapper.MapSingle(Sent, Raw(400, """
            {"code":"SubscriptionNotSubscribed","message":"The subscription is not in Subscribed status.","target":"resourceId",
             "details":[{"code":"Whatever","message":"d1","target":"resourceId"}, null]}
            """), Op);

        var bad = result.Should().BeOfType<UsageEventResult.BadArgument>().Subject;
        bad.Code.Should().Be("SubscriptionNotSubscribed");
        bad.Message.Should().Be("The subscription is not in Subscribed status.");
        bad.Target.Should().Be("resourceId");
        bad.Details.Should().Equal(new MeteringErrorDetail("Whatever", "d1", "resourceId"));
    }

    [Fact]
    public void MapSingle_200UnknownStatus_ReturnsUnknownWithRawStatus()
    {
        var unknown = ResponseMapper.MapSingle(Sent, Raw(200, """
            {"status":"AcceptedPendingReview","error":{"code":"Review","message":"later"},
             "resourceId":"6f1a2b3c-0000-4000-8000-000000000001","quantity":5.0,"dimension":"dim1","effectiveStartTime":"2026-11-20T09:30:00Z","planId":"plan1"}
            """), Op)
            .Should().BeOfType<UsageEventResult.Unknown>().Subject;

        unknown.RawStatus.Should().Be("AcceptedPendingReview");
        unknown.Status.Should().Be(UsageEventStatus.Unknown);
        unknown.Code.Should().Be("Review");
        unknown.Message.Should().Be("later");
        unknown.IsDelivered.Should().BeFalse();
    }

    [Theory]
    [InlineData(200, "<html><body>Sign in</body></html>")]
    [InlineData(200, "")]
    [InlineData(200, "null")]
    [InlineData(200, "[1,2,3]")]
    [InlineData(200, """{"status":"Accepted","usageEventId":"not-a-guid","messageTime":"2026-11-20T09:31:02Z"}""")]
    [InlineData(200, """{"status":"Accepted","usageEventId":"11111111-2222-3333-4444-555555555555"}""")]
    [InlineData(200, """{"status":5}""")]
    [InlineData(200, """{"status":"Accepted", "quantity": {"nested": true}}""")]
    [InlineData(400, "{\"code\":")]
    public void MapSingle_BodyNotTheDocumentedJson_ThrowsMeteringExceptionWithStatusAndIds(int status, string body)
    {
        var act = () => ResponseMapper.MapSingle(Sent, Raw(status, body), Op);

        var e = act.Should().Throw<MeteringException>().Which;
        e.Should().NotBeOfType<MeteringAuthorizationException>();
        e.StatusCode.Should().Be(status);
        e.RequestId.Should().Be("req-1");
        e.CorrelationId.Should().Be("corr-1");
        e.Message.Should().Contain(status.ToString()).And.Contain("req-1");
    }

    [Fact]
    public void MapSingle_DeeplyNestedJson_ThrowsMeteringException()
    {
        var body = "{\"error\":" + string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 201);

        var act = () => ResponseMapper.MapSingle(Sent, Raw(200, body), Op);

        act.Should().Throw<MeteringException>();
    }

    [Theory]
    [InlineData(403)]
    [InlineData(401)]
    public void MapSingle_Forbidden_ThrowsAuthorizationExceptionNamingLikelyCauses(int status)
    {
        var act = () => ResponseMapper.MapSingle(Sent, Raw(status, """{"message":"Client is not authorized for this usage resource.","code":"Forbidden"}"""), Op);

        var e = act.Should().Throw<MeteringAuthorizationException>().Which;
        e.StatusCode.Should().Be(status);
        e.ErrorCode.Should().Be("Forbidden");
        e.IsRetryable.Should().BeFalse();
        e.RequestId.Should().Be("req-1");
        e.Message.Should().Contain("Client is not authorized for this usage resource.")
            .And.Contain("tenant").And.Contain("app registration")
            .And.Contain("20e940b3-4c77-4b0b-9a53-9e16a1b010a7")
            .And.Contain("another publisher app");
    }

    [Theory]
    [InlineData(404, false)]
    [InlineData(500, true)]
    [InlineData(429, true)]
    [InlineData(302, false)]
    public void MapSingle_UnexpectedStatus_ThrowsMeteringExceptionWithExcerpt(int status, bool retryable)
    {
        var act = () => ResponseMapper.MapSingle(Sent, Raw(status, "<html>" + new string('z', 3000) + "</html>"), Op);

        var e = act.Should().Throw<MeteringException>().Which;
        e.StatusCode.Should().Be(status);
        e.IsRetryable.Should().Be(retryable);
        e.Message.Should().Contain("<html>zzz").And.Contain("req-1");
        e.Message.Length.Should().BeLessThan(700, "only a short excerpt of the body is quoted");
    }

    [Fact]
    public void MapBatch_ItemsInAnyOrder_AreMatchedByKeyNotPosition()
    {
        var a = TestEvents.At(Time, quantity: 1m, resource: TestEvents.ResourceNumber(0));
        var b = TestEvents.At(Time, quantity: 2m, resource: TestEvents.ResourceNumber(1));
        var c = TestEvents.At(Time.AddHours(-1), quantity: 3m, resource: TestEvents.ResourceNumber(0));

        var result = ResponseMapper.MapBatch([a, b, c], Raw(200, $$"""
            {"count":3,"result":[
              {"status":"InvalidDimension","resourceId":"{{TestEvents.ResourceNumber(1)}}","quantity":2,"dimension":"dim1","effectiveStartTime":"2026-11-20T09:30:00","planId":"plan1",
               "error":{"code":"InvalidDimension","message":"no dim1","target":"dimension"} },
              {"usageEventId":"cccccccc-0000-0000-0000-000000000003","status":"Accepted","messageTime":"2026-11-20T09:40:00","resourceId":"{{TestEvents.ResourceNumber(0)}}","quantity":3,"dimension":"dim1","effectiveStartTime":"2026-11-20T08:30:00","planId":"plan1"},
              {"usageEventId":"aaaaaaaa-0000-0000-0000-000000000001","status":"Accepted","messageTime":"2026-11-20T09:40:00","resourceId":"{{TestEvents.ResourceNumber(0)}}","quantity":1,"dimension":"dim1","effectiveStartTime":"2026-11-20T09:30:00","planId":"plan1"}
            ]}
            """), "POST /api/batchUsageEvent", NullLogger.Instance);

        result.Results.Should().HaveCount(3);
        result.Results[0].Should().BeOfType<UsageEventResult.Accepted>().Which.UsageEventId.Should().Be(Guid.Parse("aaaaaaaa-0000-0000-0000-000000000001"));
        result.Results[1].Should().BeOfType<UsageEventResult.InvalidDimension>().Which.Message.Should().Be("no dim1");
        result.Results[2].Should().BeOfType<UsageEventResult.Accepted>().Which.UsageEventId.Should().Be(Guid.Parse("cccccccc-0000-0000-0000-000000000003"));
        result.Results.Select(r => r.Event).Should().Equal(a, b, c);
        result.IsAllDelivered.Should().BeFalse();
    }

    [Fact]
    public void MapBatch_DuplicateItem_TakesOriginalFromErrorAdditionalInfo()
    {
        var result = ResponseMapper.MapBatch([Sent], Raw(200, $$"""
            {"count":1,"result":[{"status":"Duplicate","messageTime":"2026-11-20T09:40:00","resourceId":"{{TestEvents.Resource}}","quantity":5.0,"dimension":"dim1","effectiveStartTime":"2026-11-20T09:30:00","planId":"plan1",
              "error":{"code":"Conflict","message":"This usage event already exist.","additionalInfo":{"acceptedMessage":{"usageEventId":"dddddddd-0000-0000-0000-000000000004","status":"Duplicate","messageTime":"2021-12-13T20:00:00",
                "resourceId":"{{TestEvents.Resource}}","quantity":5.0,"dimension":"dim1","effectiveStartTime":"2026-11-20T09:05:00","planId":"plan1"} } } }]}
            """), "POST /api/batchUsageEvent", NullLogger.Instance);

        var duplicate = result.Results.Should().ContainSingle().Which.Should().BeOfType<UsageEventResult.Duplicate>().Subject;
        duplicate.Original!.UsageEventId.Should().Be(Guid.Parse("dddddddd-0000-0000-0000-000000000004"));
        duplicate.Original.EffectiveStartTime.Should().Be(new DateTimeOffset(2026, 11, 20, 9, 5, 0, TimeSpan.Zero));
        duplicate.Original.MessageTime.Should().Be(new DateTimeOffset(2021, 12, 13, 20, 0, 0, TimeSpan.Zero), "a time without an offset is UTC");
        duplicate.IsReplay.Should().BeTrue();
    }

    [Fact]
    public void MapBatch_UriEvent_IsMatchedByUriAlthoughResourceIdDiffers()
    {
        const string uri = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Solutions/applications/app1";
        var sent = UsageEvent.ForResourceUri(uri, "plan1", "dim1", 1m, Time);

        var result = ResponseMapper.MapBatch([sent], Raw(200, $$"""
            {"count":1,"result":[{"usageEventId":"eeeeeeee-0000-0000-0000-000000000005","status":"Accepted","messageTime":"2026-11-20T09:40:00",
              "resourceId":"99999999-9999-9999-9999-999999999999","resourceUri":"{{uri.ToUpperInvariant()}}","quantity":1,"dimension":"dim1","effectiveStartTime":"2026-11-20T09:30:00","planId":"plan1"}]}
            """), "POST /api/batchUsageEvent", NullLogger.Instance);

        var accepted = result.Results.Single().Should().BeOfType<UsageEventResult.Accepted>().Subject;
        accepted.ResourceUsageId.Should().Be(Guid.Parse("99999999-9999-9999-9999-999999999999"));
    }

    [Fact]
    public void MapBatch_UnknownStatusAndUnreadableItem_DegradeOnlyThoseEvents()
    {
        var a = TestEvents.At(Time, resource: TestEvents.ResourceNumber(0));
        var b = TestEvents.At(Time, resource: TestEvents.ResourceNumber(1));
        var c = TestEvents.At(Time, resource: TestEvents.ResourceNumber(2));

        var result = ResponseMapper.MapBatch([a, b, c], Raw(200, $$"""
            {"count":3,"result":[
              {"status":"Throttled","resourceId":"{{TestEvents.ResourceNumber(0)}}","dimension":"dim1","effectiveStartTime":"2026-11-20T09:30:00","planId":"plan1"},
              {"status":"Accepted","usageEventId":"nope","resourceId":"{{TestEvents.ResourceNumber(1)}}","dimension":"dim1","effectiveStartTime":"2026-11-20T09:30:00","planId":"plan1"},
              {"status":"Accepted","usageEventId":"aaaaaaaa-0000-0000-0000-000000000001","messageTime":"2026-11-20T09:40:00","resourceId":"{{TestEvents.ResourceNumber(2)}}","dimension":"dim1","effectiveStartTime":"2026-11-20T09:30:00","planId":"plan1"},
              null
            ]}
            """), "POST /api/batchUsageEvent", NullLogger.Instance);

        result.Results[0].Should().BeOfType<UsageEventResult.Unknown>().Which.RawStatus.Should().Be("Throttled");
        var unreadable = result.Results[1].Should().BeOfType<UsageEventResult.Unknown>().Subject;
        unreadable.RawStatus.Should().Be("Accepted");
        unreadable.Message.Should().Contain("usageEventId");
        result.Results[2].Should().BeOfType<UsageEventResult.Accepted>();
    }

    [Fact]
    public void MapBatch_ItemMissingForAnEvent_ReportsErrorForThatEventOnly()
    {
        var a = TestEvents.At(Time, resource: TestEvents.ResourceNumber(0));
        var b = TestEvents.At(Time, resource: TestEvents.ResourceNumber(1));

        var result = ResponseMapper.MapBatch([a, b], Raw(200, $$"""
            {"count":1,"result":[{"usageEventId":"aaaaaaaa-0000-0000-0000-000000000001","status":"Accepted","messageTime":"2026-11-20T09:40:00","resourceId":"{{TestEvents.ResourceNumber(1)}}","dimension":"dim1","effectiveStartTime":"2026-11-20T09:30:00","planId":"plan1"}]}
            """), "POST /api/batchUsageEvent", NullLogger.Instance);

        result.Results[0].Should().BeOfType<UsageEventResult.Error>().Which.Code.Should().Be("MissingFromResponse");
        result.Results[1].Should().BeOfType<UsageEventResult.Accepted>();
    }

    [Theory]
    [InlineData("""{"count":1}""")]
    [InlineData("""{"count":1,"result":null}""")]
    [InlineData("""{"count":1,"result":{"a":1}}""")]
    [InlineData("""[]""")]
    [InlineData("""garbage""")]
    public void MapBatch_BodyNotTheDocumentedJson_ThrowsMeteringException(string body)
    {
        var act = () => ResponseMapper.MapBatch([Sent], Raw(200, body), "POST /api/batchUsageEvent", NullLogger.Instance);

        act.Should().Throw<MeteringException>().Which.StatusCode.Should().Be(200);
    }

    [Fact]
    public void MapBatch_400ForTheWholeBatch_ThrowsMeteringExceptionWithServiceCode()
    {
        var act = () => ResponseMapper.MapBatch([Sent], Raw(400, """{"code":"BadArgument","message":"The batch must contain between 1 and 25 usage events."}"""), "POST /api/batchUsageEvent", NullLogger.Instance);

        var e = act.Should().Throw<MeteringException>().Which;
        e.StatusCode.Should().Be(400);
        e.ErrorCode.Should().Be("BadArgument");
        e.Message.Should().Contain("between 1 and 25");
    }
}
