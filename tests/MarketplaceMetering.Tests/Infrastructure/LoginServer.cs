using Microsoft.Identity.Client;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MarketplaceMetering.Tests;

/// <summary>Sends MSAL's https://login.microsoftonline.com calls to a loopback server instead.</summary>
internal sealed class RedirectingMsalFactory(Uri target) : IMsalHttpClientFactory
{
    private readonly HttpClient _client = new(new Redirect(target));

    /// <summary>Sends MSAL's calls to a stand-in Entra ID started by <see cref="LoginServer.Start"/>.</summary>
    public RedirectingMsalFactory(WireMockServer login)
        : this(new Uri(login.Url!))
    {
    }

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

/// <summary>
/// A stand-in for Entra ID's token endpoint on a WireMock.Net server: MSAL's instance discovery and the tenant's
/// client-credentials token endpoint, with canned answers. What MSAL sent is read from WireMock's request log
/// (<see cref="TokenRequests"/>).
/// </summary>
internal static class LoginServer
{
    public const string Tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    public const string Client = "0b7a2d4e-1111-4222-8333-944455556666";

    private const string TokenPath = "/*/oauth2/v2.0/token";

    public static readonly Dictionary<string, object> Discovery = new()
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
    };

    /// <summary>
    /// Starts a WireMock server on loopback that answers MSAL's instance discovery and gives the token requests
    /// <paramref name="answers"/> in turn, the last one from then on.
    /// </summary>
    public static WireMockServer Start(params IResponseBuilder[] answers)
    {
        var server = WireMockLoopback.Start();
        server.Given(Request.Create().WithPath("/common/discovery/instance").UsingGet())
            .RespondWith(Response.Create().WithBodyAsJson(Discovery));
        for (var i = 0; i < answers.Length; i++)
        {
            var mapping = server.Given(Request.Create().WithPath(new WildcardMatcher(TokenPath)).UsingPost()).InScenario("token answers");
            if (i > 0)
            {
                mapping = mapping.WhenStateIs(AnswerState(i));
            }

            if (i < answers.Length - 1)
            {
                mapping = mapping.WillSetStateTo(AnswerState(i + 1));
            }

            mapping.RespondWith(answers[i]);
        }

        return server;
    }

    /// <summary>Entra ID's answer to a client-credentials request: a bearer token.</summary>
    public static IResponseBuilder Token(string token, int expiresIn = 3599) =>
        Response.Create().WithBodyAsJson(new Dictionary<string, object> { ["token_type"] = "Bearer", ["expires_in"] = expiresIn, ["access_token"] = token });

    /// <summary>Entra ID's answer to a request it refuses or cannot serve: an OAuth error.</summary>
    public static IResponseBuilder Error(int status, string error, string description) =>
        Response.Create().WithStatusCode(status).WithBodyAsJson(new Dictionary<string, object> { ["error"] = error, ["error_description"] = description });

    /// <summary>The token requests the server received, in order: the path and the form fields of each.</summary>
    public static IReadOnlyList<(string Path, Dictionary<string, string> Form)> TokenRequests(this WireMockServer server) =>
        server.LogEntries
            .Select(e => e.RequestMessage!)
            .Where(r => r.Method == "POST" && r.Path.EndsWith("/oauth2/v2.0/token", StringComparison.Ordinal))
            .Select(r => (r.Path, r.BodyData?.BodyAsFormUrlEncoded?.ToDictionary(f => f.Key, f => string.Join(",", f.Value)) ?? []))
            .ToList();

    private static string AnswerState(int index) => "answer " + index;
}
