using System.Net;
using System.Net.Sockets;
using Azure;
using Azure.Identity;
using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;
using Microsoft.Identity.Client;

namespace MarketplaceMetering.Tests.Authentication;

/// <summary>
/// A failure to obtain a token is not a refusal (review of the core, item 1): a transient one (the network, an
/// identity endpoint answering 5xx, a managed-identity endpoint still starting) is retried under the same policy and
/// deadline as a transient HTTP failure; only a definite refusal is an authorization failure; and a bulk run stops
/// sending only when the service refuses the caller.
/// </summary>
public class TokenFailureTests
{
    public static TheoryData<string> TransientFailures => ["HttpRequestException", "CredentialUnavailableWithTransientInner", "AuthenticationFailedWithMsal503", "TimeoutException"];

    [Theory]
    [MemberData(nameof(TransientFailures))]
    public async Task SubmitUsageEventAsync_CredentialFailsOnceTransiently_RetriesAndIsAccepted(string failure)
    {
        ScriptedCredential? credential = null;
        await using var h = await Harness.StartAsync(credential: e => credential = new ScriptedCredential(TimeProvider.System, e.Token).ThenThrow(() => Transient(failure)));

        var result = await h.Client.SubmitUsageEventAsync(h.HourAgo());

        result.Should().BeOfType<UsageEventResult.Accepted>();
        credential!.Calls.Should().Be(2, "the failed fetch is retried like a transient HTTP failure");
        h.Emulator.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task SubmitUsageEventAsync_CredentialKeepsFailingTransiently_ThrowsRetryableMeteringExceptionNotAuthorization()
    {
        var credential = new ScriptedCredential(TimeProvider.System);
        for (var i = 0; i < 10; i++)
        {
            credential.ThenThrow(() => new HttpRequestException("Connection refused (login.microsoftonline.com:443)"));
        }

        await using var h = await Harness.StartAsync(client: o => o.Retry.MaxRetries = 2, credential: _ => credential);

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo());

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.Should().NotBeOfType<MeteringAuthorizationException>();
        e.IsRetryable.Should().BeTrue();
        e.StatusCode.Should().BeNull();
        e.Message.Should().Contain("token").And.Contain("3 attempts");
        credential.Calls.Should().Be(3, "one attempt and two retries, each asking for a token");
        h.Emulator.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task SubmitUsageEventAsync_CredentialFailsTransientlyNearDeadline_DoesNotRetryPastIt()
    {
        await using var h = await Harness.StartAsync();
        var credential = new ScriptedCredential(h.Clock, h.Emulator.Token).ThenThrow(() => new HttpRequestException("Entra is unreachable"));
        var options = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = h.Clock };
        options.Retry.Delay = TimeSpan.FromMinutes(1);
        options.Retry.MaxDelay = TimeSpan.FromMinutes(2);
        using var client = new MeteringClient(credential, options);
        var almostExpired = TestEvents.At(h.Clock.GetUtcNow() - TimeSpan.FromHours(24) + TimeSpan.FromMinutes(2.5));

        var act = () => client.SubmitUsageEventAsync(almostExpired);

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.IsRetryable.Should().BeTrue();
        e.Message.Should().Contain("deadline");
        credential.Calls.Should().Be(1);
    }

    [Fact]
    public async Task SubmitUsageEventAsync_CredentialRefusesDefinitely_ThrowsAuthorizationExceptionWithoutRetrying()
    {
        var credential = new ScriptedCredential(TimeProvider.System)
            .ThenThrow(() => new AuthenticationFailedException("ClientSecretCredential authentication failed", new MsalServiceException("invalid_client", "AADSTS7000215: Invalid client secret provided.", 401)));
        await using var h = await Harness.StartAsync(credential: _ => credential);

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo());

        var e = (await act.Should().ThrowAsync<MeteringAuthorizationException>()).Which;
        e.IsRetryable.Should().BeFalse();
        e.Message.Should().Contain("AADSTS7000215");
        credential.Calls.Should().Be(1);
        h.Emulator.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData("abc\r\nx-ms-evil: injected")]
    [InlineData("abc\nx-ms-evil: injected")]
    [InlineData("abc\u0000def")]
    [InlineData("tökén")]
    public async Task SubmitUsageEventAsync_CredentialReturnsTokenThatCannotBeAHeader_NothingIsSentAndTheNextGoodTokenWorks(string bad)
    {
        var clock = new TestClock();
        ScriptedCredential? credential = null;
        await using var h = await Harness.StartAsync(clock: clock, credential: e => credential = new ScriptedCredential(clock, e.Token).ThenToken(bad));

        var act = () => h.Client.SubmitUsageEventAsync(h.HourAgo());

        var e = (await act.Should().ThrowAsync<MeteringAuthorizationException>()).Which;
        e.Message.Should().Contain("cannot be sent in an Authorization header").And.NotContain("abc").And.NotContain("injected");
        h.Emulator.Requests.Should().BeEmpty("a token that would break or extend the header line is never sent");
        credential!.Calls.Should().Be(1, "a malformed token is not a transient failure");

        h.Clock.Advance(TimeSpan.FromSeconds(31));
        var result = await h.Client.SubmitUsageEventAsync(h.HourAgo());

        result.Should().BeOfType<UsageEventResult.Accepted>("the malformed token was never cached; the credential is asked again");
        h.Emulator.Requests.Should().ContainSingle().Which.Headers.Should().NotContainKey("x-ms-evil");
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_CredentialReturnsTokenWithLineBreak_EveryEventIsAnErrorAndNothingIsSent()
    {
        await using var h = await Harness.StartAsync(credential: _ => new ScriptedCredential(TimeProvider.System, "abc\r\nx-ms-evil: injected"));

        var bulk = await h.Client.SubmitUsageEventsAsync(TestEvents.Distinct(h.Clock, 60));

        bulk.Results.Should().AllBeOfType<UsageEventResult.Error>().And.OnlyContain(r => ((UsageEventResult.Error)r).Code == "TokenRefused");
        bulk.Results.Cast<UsageEventResult.Error>().Should().OnlyContain(e => e.StatusCode == null, "no call was made");
        bulk.Summary.Delivered.Should().Be(0);
        h.Emulator.Requests.Should().BeEmpty();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task SubmitUsageEventAsync_CredentialHangs_FetchAbandonedAtTheNetworkTimeoutAndTheRetryGetsAToken(bool honoursCancellation)
    {
        var clock = new TestClock();
        ScriptedCredential? credential = null;
        await using var h = await Harness.StartAsync(
            clock: clock,
            client: o => o.NetworkTimeout = TimeSpan.FromSeconds(10),
            credential: e => credential = new ScriptedCredential(clock, e.Token).Then(async cancellationToken =>
            {
                // A fetch that never ends: one that a cancel would end, or one that ignores it (a blocked call inside the credential).
                await new TaskCompletionSource().Task.WaitAsync(honoursCancellation ? cancellationToken : CancellationToken.None);
                throw new InvalidOperationException("unreachable");
            }));

        var call = h.Client.SubmitUsageEventAsync(h.HourAgo());
        await Eventually.HoldsAsync(() => credential!.Calls == 1, "the first fetch started");
        await clock.WaitForTimerAsync(d => d == TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromSeconds(10));

        (await call.WaitAsync(TimeSpan.FromSeconds(20))).Should().BeOfType<UsageEventResult.Accepted>();
        credential!.Calls.Should().Be(2, "the hung fetch was abandoned, and the retry asked again");
        h.Emulator.Requests.Should().ContainSingle();
    }

    [Fact]
    public async Task SubmitUsageEventAsync_CredentialBlocksItsCallerSynchronously_CallReturnsAtOnceAndTheFetchIsAbandonedAtTheNetworkTimeout()
    {
        // A credential whose GetTokenAsync blocks before it returns a task (sync-over-async inside it, a lock, a
        // synchronous file or process read) must not hold the caller's thread, nor escape the fetch timeout.
        var clock = new TestClock();
        using var blocked = new ManualResetEventSlim();
        ScriptedCredential? credential = null;
        await using var h = await Harness.StartAsync(
            clock: clock,
            client: o => o.NetworkTimeout = TimeSpan.FromSeconds(10),
            credential: e => credential = new ScriptedCredential(clock, e.Token).Then(_ =>
            {
                blocked.Wait(CancellationToken.None); // deaf to the fetch's cancellation, as a blocked call is
                throw new InvalidOperationException("released at the end of the test");
            }));

        try
        {
            var started = Task.Factory.StartNew(() => h.Client.SubmitUsageEventAsync(h.HourAgo()), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await Eventually.HoldsAsync(() => credential!.Calls == 1, "the first fetch started");
            await Eventually.HoldsAsync(() => started.IsCompleted, "the call returned its task while the credential was still blocked");
            var call = await started;
            call.IsCompleted.Should().BeFalse("no token has arrived yet");

            await clock.WaitForTimerAsync(d => d == TimeSpan.FromSeconds(10));
            clock.Advance(TimeSpan.FromSeconds(10));

            (await call.WaitAsync(TimeSpan.FromSeconds(20))).Should().BeOfType<UsageEventResult.Accepted>();
            credential!.Calls.Should().Be(2, "the blocked fetch was abandoned, and the retry asked again");
            h.Emulator.Requests.Should().ContainSingle();
        }
        finally
        {
            blocked.Set();
        }
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_CredentialFailsOnceTransiently_Delivers1000Of1000()
    {
        ScriptedCredential? credential = null;
        await using var h = await Harness.StartAsync(credential: e => credential = new ScriptedCredential(TimeProvider.System, e.Token).ThenThrow(() => new HttpRequestException("Name or service not known")));
        var events = TestEvents.Distinct(h.Clock, 1000);

        var bulk = await h.Client.SubmitUsageEventsAsync(events);

        bulk.Summary.Delivered.Should().Be(1000, bulk.Summary.ToString());
        bulk.Summary.NeedsAttention.Should().BeEmpty();
        h.Emulator.Ledger.Count.Should().Be(1000);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_TokenUnavailableForOneBatch_OtherBatchesAreStillSent()
    {
        ScriptedCredential? credential = null;
        await using var h = await Harness.StartAsync(
            client: o =>
            {
                o.Retry.MaxRetries = 0;
                o.MaxConcurrency = 1;
            },
            credential: e => credential = new ScriptedCredential(TimeProvider.System, e.Token).ThenThrow(() => new HttpRequestException("Connection reset")));
        var events = TestEvents.Distinct(h.Clock, 100);

        var bulk = await h.Client.SubmitUsageEventsAsync(events);

        bulk.Results.Take(25).Should().AllBeOfType<UsageEventResult.Error>("the first batch got no token and no retry was allowed");
        bulk.Results.Skip(25).Should().OnlyContain(r => r.IsDelivered, "a token failure is not the service refusing the caller: the run goes on");
        bulk.Summary.Retryable.Should().HaveCount(25);
        h.Emulator.Ledger.Count.Should().Be(75);
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_ServiceRefuses403_StopsSendingTheRest()
    {
        await using var h = await Harness.StartAsync(client: o => o.MaxConcurrency = 1);
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(403, """{"message":"Client is not authorized for this usage resource.","code":"Forbidden"}"""));

        var bulk = await h.Client.SubmitUsageEventsAsync(TestEvents.Distinct(h.Clock, 100));

        bulk.Results.Should().AllBeOfType<UsageEventResult.Error>();
        bulk.Results.Take(25).Cast<UsageEventResult.Error>().Should().OnlyContain(e => e.StatusCode == 403 && e.Code == "Forbidden");
        h.Emulator.Requests.Should().ContainSingle("after the service's 403 nothing more is sent");
    }

    [Fact]
    public async Task SubmitUsageEventsAsync_ServiceRefuses401TwiceWithAFreshToken_ErrorsCarry401AndTheRestAreNotSent()
    {
        await using var h = await Harness.StartAsync(client: o => o.MaxConcurrency = 1);
        const string Refused = """{"error":{"code":"InvalidAuthenticationToken","message":"The access token is invalid."}}""";
        h.Emulator.Faults.Enqueue(EmulatorFault.Respond(401, Refused), EmulatorFault.Respond(401, Refused));

        var bulk = await h.Client.SubmitUsageEventsAsync(TestEvents.Distinct(h.Clock, 60));

        var errors = bulk.Results.Should().AllBeOfType<UsageEventResult.Error>().Subject.ToList();
        errors.Take(25).Should().OnlyContain(e => e.StatusCode == 401, "the batch was refused with 401 again after a fresh token");
        errors.Skip(25).Should().OnlyContain(e => e.Code == "NotSent" && e.StatusCode == null);
        h.Emulator.Requests.Should().HaveCount(2, "the refused batch and its resend with a fresh token; nothing after");
    }

    [Fact]
    public async Task FromClientSecret_EntraAnswers503FourTimes_ClientRetriesTheTokenAndIsAccepted()
    {
        await using var emulator = await MeteringEmulator.StartAsync();
        using var login = LoginServer.Start(
            [.. Enumerable.Range(0, 4).Select(_ => LoginServer.Error(503, "temporarily_unavailable", "AADSTS50196: The server is busy.")), LoginServer.Token(emulator.Token)]);
        var credential = MeteringCredential.FromClientSecret(LoginServer.Tenant, LoginServer.Client, "s3cr3t-value-for-this-test", new RedirectingMsalFactory(login));
        var options = new MeteringClientOptions { Endpoint = emulator.Endpoint };
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        using var client = new MeteringClient(credential, options);

        var result = await client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        result.Should().BeOfType<UsageEventResult.Accepted>();
        login.TokenRequests().Should().HaveCountGreaterThanOrEqualTo(5, "MSAL gave up on 503 and the client's retries asked again");
    }

    [Fact]
    public async Task FromClientSecret_EntraUnreachable_IsRetryableNotAnAuthorizationFailure()
    {
        Uri closed;
        using (var login = WireMockLoopback.Start())
        {
            closed = new Uri(login.Url!);
            login.Stop(); // nothing listens there any more: connections are refused
        }

        await using var emulator = await MeteringEmulator.StartAsync();
        var credential = MeteringCredential.FromClientSecret(LoginServer.Tenant, LoginServer.Client, "s3cr3t-value-unreachable", new RedirectingMsalFactory(closed));
        var options = new MeteringClientOptions { Endpoint = emulator.Endpoint };
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        options.Retry.MaxRetries = 1;
        using var client = new MeteringClient(credential, options);

        var act = () => client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        var e = (await act.Should().ThrowAsync<MeteringException>()).Which;
        e.Should().NotBeOfType<MeteringAuthorizationException>("an unreachable identity endpoint is not a refusal");
        e.IsRetryable.Should().BeTrue();
        emulator.Requests.Should().BeEmpty();
    }

    public static TheoryData<string, Exception, bool> Classified => new()
    {
        { "identity endpoint 503", new RequestFailedException(503, "Service Unavailable"), true },
        { "identity endpoint 429", new RequestFailedException(429, "Too Many Requests"), true },
        { "identity endpoint 408", new RequestFailedException(408, "Request Timeout"), true },
        { "no response at all", new RequestFailedException(0, "No response"), true },
        { "identity endpoint 400", new RequestFailedException(400, "Bad Request"), false },
        { "identity endpoint 401", new RequestFailedException(401, "Unauthorized"), false },
        { "identity endpoint 403", new RequestFailedException(403, "Forbidden"), false },
        { "503 wrapped by Azure.Identity", new AuthenticationFailedException("ManagedIdentityCredential authentication failed", new RequestFailedException(503, "busy")), true },
        { "network failures in an AggregateException", new AggregateException(new HttpRequestException("reset"), new SocketException()), true },
        { "a network failure and a refusal together", new AggregateException(new HttpRequestException("reset"), new MsalServiceException("invalid_client", "AADSTS7000215", 401)), false },
        { "MSAL says retryable", new MsalClientException("request_timeout", "timed out") { IsRetryable = true }, true },
        { "MSAL client error", new MsalClientException("invalid_request", "bad request"), false },
        { "something unknown", new InvalidOperationException("odd"), false },
    };

    [Theory]
    [MemberData(nameof(Classified))]
    public void IsTransient_IdentityFailures_MayPassOnlyWhenNothingInThemIsARefusal(string what, Exception failure, bool transient)
    {
        TokenFailure.IsTransient(failure).Should().Be(transient, what);
    }

    private static Exception Transient(string kind) => kind switch
    {
        "HttpRequestException" => new HttpRequestException("No such host is known. (login.microsoftonline.com:443)"),
        "CredentialUnavailableWithTransientInner" => new CredentialUnavailableException(
            "ManagedIdentityCredential authentication unavailable. No response received from the managed identity endpoint.",
            new HttpRequestException("Connection refused (169.254.169.254:80)")),
        "AuthenticationFailedWithMsal503" => new AuthenticationFailedException(
            "ClientSecretCredential authentication failed",
            new MsalServiceException("temporarily_unavailable", "AADSTS50196: The server is busy.", (int)HttpStatusCode.ServiceUnavailable)),
        "TimeoutException" => new TimeoutException("The identity endpoint did not answer in time."),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
