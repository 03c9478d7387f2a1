using System.Net.Security;
using System.Security.Authentication;

namespace MarketplaceMetering;

/// <summary>
/// The HTTP handler the client creates when the caller does not bring an <see cref="HttpClient"/>: TLS 1.2 or 1.3
/// only, and redirects never followed.
/// </summary>
internal static class MeteringTransport
{
#if NET
    /// <summary>The protocols the client's own handler allows.</summary>
    public const SslProtocols AllowedProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
#else
    /// <summary>The protocols the client's own handler allows (TLS 1.3 has no enum member in netstandard2.0).</summary>
    public const SslProtocols AllowedProtocols = SslProtocols.Tls12 | (SslProtocols)12288;
#endif

    /// <summary>Creates the handler; <paramref name="certificateValidation"/> exists for loopback TLS tests only.</summary>
    public static HttpMessageHandler CreateHandler(RemoteCertificateValidationCallback? certificateValidation = null)
    {
#if NET
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(30),
            AllowAutoRedirect = false, // a redirected POST may become a GET without its body, or carry usage elsewhere
        };
        handler.SslOptions.EnabledSslProtocols = AllowedProtocols;
        if (certificateValidation is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = certificateValidation;
        }

        return handler;
#else
        var handler = new HttpClientHandler { AllowAutoRedirect = false };
        try
        {
            handler.SslProtocols = AllowedProtocols;
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PlatformNotSupportedException)
        {
            // Older Windows stacks do not know TLS 1.3; TLS 1.2 alone still meets the service's minimum.
            handler.SslProtocols = SslProtocols.Tls12;
        }

        if (certificateValidation is not null)
        {
            handler.ServerCertificateCustomValidationCallback = (request, certificate, chain, errors) => certificateValidation(request, certificate, chain, errors);
        }

        return handler;
#endif
    }

    /// <summary>The protocols a handler made by <see cref="CreateHandler"/> allows.</summary>
    public static SslProtocols EnabledProtocols(HttpMessageHandler handler) => handler switch
    {
#if NET
        SocketsHttpHandler sockets => sockets.SslOptions.EnabledSslProtocols,
#endif
        HttpClientHandler classic => classic.SslProtocols,
        _ => SslProtocols.None,
    };
}
