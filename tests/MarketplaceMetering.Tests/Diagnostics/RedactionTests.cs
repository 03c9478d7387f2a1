using MarketplaceMetering.Emulator;
using MarketplaceMetering.Tests.Authentication;
using Microsoft.Extensions.Logging.Testing;

namespace MarketplaceMetering.Tests.Diagnostics;

/// <summary>
/// The exact token and secret strings the client holds are masked in every message, excerpt, result and log it
/// produces, whatever they look like (review of the core, item 7): an opaque token has neither a JWT's shape nor a
/// "Bearer" prefix when a server echoes it, and an identity endpoint may echo the form body with the client secret.
/// </summary>
public class RedactionTests
{
    private const string OpaqueToken = "opaque0123456789abcdefXYZ";
    private const string Secret = "pl41n-s3cret-without-any-shape";

    [Fact]
    public async Task Outputs_ServerEchoesAnOpaqueToken_TokenMaskedEverywhere()
    {
        var logs = new FakeLogCollector();
        using var factory = FakeLogging.CreateFactory(logs);
        await using var h = await Harness.StartAsync(
            emulator: o => o.Token = OpaqueToken,
            client: o =>
            {
                o.LoggerFactory = factory;
                o.Retry.MaxRetries = 1;
            },
            credential: _ => new ScriptedCredential(TimeProvider.System, OpaqueToken));
        var outputs = new List<string>();

        async Task CaptureAsync(Func<Task<object>> call)
        {
            try
            {
                outputs.Add((await call())?.ToString() ?? string.Empty);
            }
            catch (MeteringException e)
            {
                outputs.Add(e.ToString());
            }
        }

        var n = 0;
        UsageEvent Next() => h.HourAgo(resource: TestEvents.ResourceNumber(n++));
        var echoes = new[]
        {
            EmulatorFault.Respond(500, "upstream rejected " + OpaqueToken),
            EmulatorFault.Respond(500, """{"code":"Boom","message":"token OPAQUE was bad"}""".Replace("OPAQUE", OpaqueToken, StringComparison.Ordinal)),
            EmulatorFault.Respond(403, """{"code":"Forbidden","message":"token OPAQUE is not authorized"}""".Replace("OPAQUE", OpaqueToken, StringComparison.Ordinal)),
            EmulatorFault.Respond(400, """{"code":"BadArgument","message":"OPAQUE","target":"OPAQUE","details":[{"code":"OPAQUE","message":"OPAQUE","target":"planId"}]}""".Replace("OPAQUE", OpaqueToken, StringComparison.Ordinal)),
            EmulatorFault.Respond(200, "{not json " + OpaqueToken),
            EmulatorFault.Respond(302, string.Empty, new Dictionary<string, string> { ["Location"] = "https://elsewhere.example/?t=" + OpaqueToken }),
        };
        foreach (var echo in echoes)
        {
            h.Emulator.Faults.Enqueue(echo);
            if (echo is EmulatorFault.RespondFault { StatusCode: 500 })
            {
                h.Emulator.Faults.Enqueue(echo);
            }

            await CaptureAsync(async () => await h.Client.SubmitUsageEventAsync(Next()));
        }

        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(200, $$$"""{"count":1,"result":[{"status":"{{{OpaqueToken}}}","resourceId":"{{{TestEvents.ResourceNumber(90)}}}","dimension":"dim1","planId":"plan1","effectiveStartTime":"{{{h.Clock.GetUtcNow().AddHours(-1):o}}}","error":{"code":"{{{OpaqueToken}}}","message":"{{{OpaqueToken}}}"}}]}"""));
        await CaptureAsync(async () => await h.Client.SubmitBatchUsageEventAsync([h.HourAgo(resource: TestEvents.ResourceNumber(90))]));
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(409, $$$$"""{"code":"Conflict","message":"{{{{OpaqueToken}}}}","additionalInfo":{"acceptedMessage":{"usageEventId":"{{{{Guid.NewGuid()}}}}","resourceId":"{{{{TestEvents.ResourceNumber(91)}}}}","quantity":1,"dimension":"dim1","planId":"{{{{OpaqueToken}}}}","effectiveStartTime":"{{{{h.Clock.GetUtcNow().AddHours(-1):o}}}}"}}}"""));
        await CaptureAsync(async () => await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(91))));

        outputs.Should().HaveCount(echoes.Length + 2);
        outputs.Should().OnlyContain(o => !o.Contains(OpaqueToken, StringComparison.Ordinal));
        logs.GetSnapshot().Select(r => r.Render()).Should().NotBeEmpty().And.OnlyContain(l => !l.Contains(OpaqueToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Outputs_IdentityEndpointEchoesTheFormBody_SecretMaskedEverywhere()
    {
        var logs = new FakeLogCollector();
        using var factory = FakeLogging.CreateFactory(logs);
        await using var emulator = await MeteringEmulator.StartAsync();
        using var login = LoginServer.Start(LoginServer.Error(
            400,
            "invalid_request",
            "AADSTS900144: The request body must contain the following parameter. Body was: client_id=x&client_secret=" + Secret + "&grant_type=client_credentials"));
        var credential = MeteringCredential.FromClientSecret(LoginServer.Tenant, LoginServer.Client, Secret, new RedirectingMsalFactory(login));
        using var client = new MeteringClient(credential, new MeteringClientOptions { Endpoint = emulator.Endpoint, LoggerFactory = factory });

        var act = () => client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        login.TokenRequests().Should().NotBeEmpty("the endpoint was asked, and echoed the secret");
        e.Message.Should().Contain("AADSTS900144");
        e.ToString().Should().NotContain(Secret);
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            inner.ToString().Should().NotContain(Secret);
        }

        logs.GetSnapshot().Select(r => r.Render()).Should().OnlyContain(l => !l.Contains(Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Outputs_CredentialFailureEchoesTheToken_TokenMaskedInMessageAndInner()
    {
        await using var h = await Harness.StartAsync(emulator: o => o.Token = OpaqueToken, credential: e => new ScriptedCredential(TimeProvider.System, OpaqueToken)
            .ThenToken(OpaqueToken)
            .ThenThrow(() => new InvalidOperationException("refresh of " + OpaqueToken + " refused")));
        await h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(1)));
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(401, "{}"));

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo(resource: TestEvents.ResourceNumber(2)));

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.ToString().Should().NotContain(OpaqueToken);
    }
}
