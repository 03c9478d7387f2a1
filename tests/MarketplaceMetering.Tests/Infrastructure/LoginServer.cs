using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Identity.Client;

namespace MarketplaceMetering.Tests;

/// <summary>Sends MSAL's https://login.microsoftonline.com calls to a loopback server instead.</summary>
internal sealed class RedirectingMsalFactory(Uri target) : IMsalHttpClientFactory
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

/// <summary>A loopback stand-in for Entra ID's token endpoint that counts requests and keeps their forms.</summary>
internal static class LoginServer
{
    public const string Tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    public const string Client = "0b7a2d4e-1111-4222-8333-944455556666";

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

    public static Task<LoopbackServer> StartAsync(Func<int, IResult> answer, ConcurrentQueue<Dictionary<string, string>>? forms = null) =>
        LoopbackServer.StartAsync(app =>
        {
            var count = 0;
            app.MapGet("/common/discovery/instance", () => Results.Json(Discovery));
            app.MapPost("/{tenant}/oauth2/v2.0/token", async (HttpContext context) =>
            {
                var form = await context.Request.ReadFormAsync();
                forms?.Enqueue(form.ToDictionary(f => f.Key, f => f.Value.ToString()));
                return answer(Interlocked.Increment(ref count));
            });
        });

    public static IResult Token(string token, int expiresIn = 3599) =>
        Results.Json(new Dictionary<string, object> { ["token_type"] = "Bearer", ["expires_in"] = expiresIn, ["access_token"] = token });
}
