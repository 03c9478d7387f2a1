using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace MarketplaceMetering.Emulator.Api;

/// <summary>Checks <c>Authorization: Bearer &lt;token&gt;</c> against the one token the emulator accepts.</summary>
internal sealed class BearerToken(string token)
{
    private readonly byte[] _expected = Encoding.UTF8.GetBytes(token);

    public bool Authorizes(HttpRequest request)
    {
        var values = request.Headers.Authorization;
        if (values.Count != 1 || values[0] is not { } header)
        {
            return false;
        }

        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var presented = Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(presented, _expected);
    }
}
