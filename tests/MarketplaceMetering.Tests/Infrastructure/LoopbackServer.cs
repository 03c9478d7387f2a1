using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Tests;

/// <summary>
/// A bare Kestrel https server on loopback, kept for the TLS handshake tests (<c>Pipeline/TlsTests</c>) only: other
/// canned answers come from WireMock.Net (<see cref="WireMockLoopback"/>, <see cref="LoginServer"/>).
/// </summary>
/// <remarks>
/// WireMock.Net 2.21 can present a given certificate, but its settings cannot choose the TLS protocol versions the
/// server accepts, and its request log does not record the protocol a connection negotiated; a TLS test needs both
/// (it pins the server to TLS 1.2 or 1.3 and asserts which one was spoken). WireMock reaches them only through its raw
/// ASP.NET Core hooks (a service registration that reconfigures Kestrel, a middleware that reads
/// <c>ITlsHandshakeFeature</c>), which is this same Kestrel code behind another layer.
/// </remarks>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<LoopbackServer> StartAsync(Action<WebApplication> map, X509Certificate2 certificate, Action<HttpsConnectionAdapterOptions> https)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate, https)));
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LoopbackServer(app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
