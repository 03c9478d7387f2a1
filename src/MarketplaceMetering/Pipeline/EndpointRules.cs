using System.Net;

namespace MarketplaceMetering;

/// <summary>Which endpoints a client may talk to: https anywhere, plain http only to this machine.</summary>
internal static class EndpointRules
{
    /// <summary>
    /// Returns what is wrong with <paramref name="endpoint"/> (a phrase to follow the setting's name: "must …"), or
    /// <see langword="null"/> when it is acceptable.
    /// </summary>
    public static string? Check(Uri? endpoint)
    {
        if (endpoint is null)
        {
            return "must be set, for example to " + MeteringClientOptions.DefaultEndpoint + ".";
        }

        if (!endpoint.IsAbsoluteUri)
        {
            return "must be an absolute URI such as " + MeteringClientOptions.DefaultEndpoint + "; it is '" + endpoint.OriginalString + "'.";
        }

        // User information first: every later message quotes a part of the address that would include it (a password).
        if (endpoint.UserInfo.Length > 0)
        {
            return "must not carry user information ('user:password@'); the client authenticates with its credential. Its host is '" + endpoint.Host + "'.";
        }

        if (endpoint.Query.Length > 0 || endpoint.Fragment.Length > 0)
        {
            return "must be the service root, without a query or fragment (the client adds '/api/…?api-version=…'); '"
                + endpoint.GetLeftPart(UriPartial.Path) + "' is followed by a " + (endpoint.Query.Length > 0 ? "query" : "fragment") + ".";
        }

        if (endpoint.Scheme == Uri.UriSchemeHttps)
        {
            return null;
        }

        if (endpoint.Scheme == Uri.UriSchemeHttp && IsLoopback(endpoint))
        {
            return null;
        }

        return "must use https (TLS 1.2 or later); plain http is allowed only for a loopback host (localhost, 127.0.0.1, ::1), such as a local emulator. It is '"
            + endpoint.GetLeftPart(UriPartial.Authority) + "'.";
    }

    private static bool IsLoopback(Uri endpoint)
    {
        if (string.Equals(endpoint.Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return IPAddress.TryParse(endpoint.DnsSafeHost, out var address) && IPAddress.IsLoopback(address);
    }
}
