using System.Collections.Concurrent;
using Azure.Core;
using MarketplaceMetering.Emulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Identity.Client;

namespace MarketplaceMetering.Tests.Authentication;

/// <summary>
/// The MSAL client-secret credential end to end: MSAL talks to a stand-in Entra ID token endpoint on loopback (its
/// HTTP client rewrites login.microsoftonline.com to the loopback server), and the token it gets is what the
/// metering call carries.
/// </summary>
public class ClientSecretCredentialTests
{
    private const string Tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    private const string Client = "0b7a2d4e-1111-4222-8333-944455556666";
    private const string Secret = "s3cr3t~VALUE.that-must-never-show";
    private const string IssuedToken = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiIyMGU5NDBiMy1tZXRlcmluZyJ9.aXNzdWVk";

    [Fact]
    public async Task FromClientSecret_GetsTokenForMarketplaceScopeAndClientUsesIt()
    {
        var tokenRequests = new ConcurrentQueue<(string Path, Dictionary<string, string> Form)>();
        await using var login = await LoginServer(tokenRequests);
        var credential = MeteringCredential.FromClientSecret(Tenant, Client, Secret, new RedirectingFactory(login.Address));
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { Token = IssuedToken });
        using var client = new MeteringClient(credential, new MeteringClientOptions { Endpoint = emulator.Endpoint });

        var first = await client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System, resource: TestEvents.ResourceNumber(1)));
        var second = await client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System, resource: TestEvents.ResourceNumber(2)));

        first.Should().BeOfType<UsageEventResult.Accepted>();
        second.Should().BeOfType<UsageEventResult.Accepted>();
        var (path, form) = tokenRequests.Should().ContainSingle("the client caches the token").Subject;
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
        await using var login = await LoopbackServer.StartAsync(app => app.MapPost("/{tenant}/oauth2/v2.0/token", () => Results.Json(
            new Dictionary<string, object>
            {
                ["error"] = "invalid_client",
                ["error_description"] = "AADSTS7000215: Invalid client secret provided.",
                ["error_codes"] = new[] { 7000215 },
            },
            statusCode: 401)));
        var credential = MeteringCredential.FromClientSecret(Tenant, Client, Secret, new RedirectingFactory(login.Address));
        await using var emulator = await MeteringEmulator.StartAsync();
        using var client = new MeteringClient(credential, new MeteringClientOptions { Endpoint = emulator.Endpoint });

        var act = () => client.SubmitUsageEventAsync(TestEvents.HourAgo(TimeProvider.System));

        var e = (await act.Should().ThrowAsync<MeteringAuthorizationException>()).Which;
        e.Message.Should().Contain("AADSTS7000215");
        e.ToString().Should().NotContain(Secret);
        emulator.Requests.Should().BeEmpty("no call is sent without a token");
    }

    private static Task<LoopbackServer> LoginServer(ConcurrentQueue<(string, Dictionary<string, string>)> tokenRequests) =>
        LoopbackServer.StartAsync(app =>
        {
            app.MapGet("/common/discovery/instance", () => Results.Json(new Dictionary<string, object>
            {
                ["tenant_discovery_endpoint"] = $"https://login.microsoftonline.com/{Tenant}/v2.0/.well-known/openid-configuration",
                ["api-version"] = "1.1",
                ["metadata"] = new[]
                {
                    new Dictionary<string, object>
                    {
                        ["preferred_network"] = "login.microsoftonline.com",
                        ["preferred_cache"] = "login.windows.net",
                        ["aliases"] = new[] { "login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net" },
                    },
                },
            }));
            app.MapPost("/{tenant}/oauth2/v2.0/token", async (HttpContext context) =>
            {
                var form = await context.Request.ReadFormAsync();
                tokenRequests.Enqueue((context.Request.Path.Value!, form.ToDictionary(f => f.Key, f => f.Value.ToString())));
                return Results.Json(new Dictionary<string, object>
                {
                    ["token_type"] = "Bearer",
                    ["expires_in"] = 3599,
                    ["ext_expires_in"] = 3599,
                    ["access_token"] = IssuedToken,
                });
            });
        });

    /// <summary>Sends MSAL's https://login.microsoftonline.com calls to the loopback server instead.</summary>
    private sealed class RedirectingFactory(Uri target) : IMsalHttpClientFactory
    {
        private readonly HttpClient _client = new(new Redirect(target));

        public HttpClient GetHttpClient() => _client;

        private sealed class Redirect(Uri target) : DelegatingHandler(new HttpClientHandler())
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                request.RequestUri = new UriBuilder(request.RequestUri!) { Scheme = target.Scheme, Host = target.Host, Port = target.Port }.Uri;
                return base.SendAsync(request, cancellationToken);
            }
        }
    }
}
