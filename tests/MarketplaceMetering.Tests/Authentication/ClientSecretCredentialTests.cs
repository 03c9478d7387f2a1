using MarketplaceMetering.Emulator;
using WireMock.ResponseBuilders;

namespace MarketplaceMetering.Tests.Authentication;

/// <summary>
/// The MSAL client-secret credential end to end: MSAL talks to a stand-in Entra ID token endpoint on a loopback
/// WireMock server (its HTTP client rewrites login.microsoftonline.com to that server), and the token it gets is what the
/// metering call carries.
/// </summary>
public class ClientSecretCredentialTests
{
    private const string Tenant = LoginServer.Tenant;
    private const string Client = LoginServer.Client;
    private const string Secret = "s3cr3t~VALUE.that-must-never-show";
    private const string IssuedToken = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiIyMGU5NDBiMy1tZXRlcmluZyJ9.aXNzdWVk";

    [Fact]
    public async Task FromClientSecret_GetsTokenForMarketplaceScopeAndClientUsesIt()
    {
        using var login = LoginServer.Start(LoginServer.Token(IssuedToken));
        var credential = MeteringCredential.FromClientSecret(Tenant, Client, Secret, new RedirectingMsalFactory(login));
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { Token = IssuedToken });
        using var client = new MeteringClient(credential, new MeteringClientOptions { Endpoint = emulator.Endpoint });

        var first = await client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System, resource: TestEvents.ResourceNumber(1)));
        var second = await client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System, resource: TestEvents.ResourceNumber(2)));

        first.Should().BeOfType<UsageEventResult.Accepted>();
        second.Should().BeOfType<UsageEventResult.Accepted>();
        var (path, form) = login.TokenRequests().Should().ContainSingle("the client caches the token").Subject;
        path.Should().Be($"/{Tenant}/oauth2/v2.0/token");
        form["grant_type"].Should().Be("client_credentials");
        form["client_id"].Should().Be(Client);
        form["client_secret"].Should().Be(Secret);
        form["scope"].Split(' ').Should().Contain("20e940b3-4c77-4b0b-9a53-9e16a1b010a7/.default");
        credential.ToString().Should().NotContain(Secret);
    }

    [Fact]
    public async Task FromClientSecret_EntraRejectsSecret_ThrowsAuthorizationExceptionWithoutSecret()
    {
        using var login = LoginServer.Start(Response.Create().WithStatusCode(401).WithBodyAsJson(new Dictionary<string, object>
        {
            ["error"] = "invalid_client",
            ["error_description"] = "AADSTS7000215: Invalid client secret provided.",
            ["error_codes"] = new[] { 7000215 },
        }));
        var credential = MeteringCredential.FromClientSecret(Tenant, Client, Secret, new RedirectingMsalFactory(login));
        await using var emulator = await MeteringEmulator.StartAsync();
        using var client = new MeteringClient(credential, new MeteringClientOptions { Endpoint = emulator.Endpoint });

        var act = () => client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        var e = (await act.Should().ThrowAsync<MeteringAuthorizationException>()).Which;
        e.Message.Should().Contain("AADSTS7000215");
        e.ToString().Should().NotContain(Secret);
        emulator.Requests.Should().BeEmpty("no call is sent without a token");
    }
}
