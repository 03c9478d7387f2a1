using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace MarketplaceMetering.Tests;

/// <summary>WireMock.Net servers on loopback, for tests that need exact canned answers from a host other than the emulator.</summary>
internal static class WireMockLoopback
{
    /// <summary>A WireMock server on 127.0.0.1, on a free port, with no mappings yet.</summary>
    public static WireMockServer Start() => WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"] });

    /// <summary>Another host: answers every request, whatever its method and path, 200 with <paramref name="json"/>.</summary>
    public static WireMockServer Answering(string json = "{}")
    {
        var server = Start();
        server.Given(Request.Create().WithPath("/*").UsingAnyMethod())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(json));
        return server;
    }

    /// <summary>A client of <paramref name="server"/> on a test clock that sends each call once (no retries), so a test sees the answer it canned.</summary>
    public static MeteringClient ClientWithoutRetries(this WireMockServer server)
    {
        var clock = new MarketplaceMetering.Testing.TestClock();
        var options = new MeteringClientOptions { Endpoint = new Uri(server.Url!), TimeProvider = clock };
        options.Retry.Delay = TimeSpan.Zero;
        options.Retry.MaxRetries = 0;
        return new MeteringClient(new ScriptedCredential(clock), options);
    }

    /// <summary>The server by another name, <c>localhost</c>, where the emulator is <c>127.0.0.1</c>.</summary>
    public static string LocalhostUrl(this WireMockServer server, string pathAndQuery) => "http://localhost:" + server.Port + "/" + pathAndQuery;
}
