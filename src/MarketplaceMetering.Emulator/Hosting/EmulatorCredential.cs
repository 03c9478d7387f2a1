using Azure.Core;

namespace MarketplaceMetering.Emulator.Hosting;

/// <summary>A credential that hands out the emulator's token, valid for an hour of the emulator's clock.</summary>
internal sealed class EmulatorCredential(string token, TimeProvider timeProvider) : TokenCredential
{
    private int _requests;

    /// <summary>Gets how many tokens were asked for.</summary>
    public int Requests => Volatile.Read(ref _requests);

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Increment(ref _requests);
        return new AccessToken(token, timeProvider.GetUtcNow().AddHours(1));
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        new(GetToken(requestContext, cancellationToken));
}
