using Azure.Core;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering;

/// <summary>
/// Reads the token through a cache on every request, as Azure.Core's bearer policy does: one fetch, reused until five
/// minutes before it expires; concurrent callers wait for a single fetch. A failed refresh falls back to the current
/// token while it is still valid.
/// </summary>
internal sealed class AccessTokenCache : IDisposable
{
    /// <summary>How long before expiry the token is refreshed.</summary>
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);

    private static readonly TokenRequestContext RequestContext = new([MeteringClient.Scope]);

    private readonly TokenCredential _credential;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _refreshLock = new(1, 1);
    private volatile Entry? _current;

    public AccessTokenCache(TokenCredential credential, TimeProvider timeProvider, ILogger logger)
    {
        _credential = credential;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public async ValueTask<string> GetTokenAsync(CancellationToken cancellationToken)
    {
        var current = _current;
        if (current is not null && _timeProvider.GetUtcNow() < current.RefreshAt)
        {
            return current.Token;
        }

        await _refreshLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            current = _current;
            var now = _timeProvider.GetUtcNow();
            if (current is not null && now < current.RefreshAt)
            {
                return current.Token;
            }

            try
            {
                var token = await _credential.GetTokenAsync(RequestContext, cancellationToken).ConfigureAwait(false);
                if (string.IsNullOrEmpty(token.Token))
                {
                    throw new MeteringAuthorizationException(
                        "The credential " + _credential.GetType().Name + " returned an empty token for the metering service.",
                        statusCode: null,
                        errorCode: null,
                        requestId: null,
                        correlationId: null);
                }

                _current = new Entry(token.Token, token.ExpiresOn, token.ExpiresOn - RefreshMargin);
                Log.TokenAcquired(_logger, _credential.GetType().Name, token.ExpiresOn);
                return token.Token;
            }
            catch (Exception e) when (e is not OperationCanceledException && current is not null && now < current.ExpiresOn)
            {
                Log.TokenRefreshFailed(_logger, _credential.GetType().Name, current.ExpiresOn, e.GetType().Name);
                return current.Token;
            }
            catch (Exception e) when (e is not OperationCanceledException and not MeteringException)
            {
                throw new MeteringAuthorizationException(
                    "Could not get a token for the metering service (scope " + MeteringClient.Scope + ") from " + _credential.GetType().Name + ": " + e.Message,
                    statusCode: null,
                    errorCode: null,
                    requestId: null,
                    correlationId: null,
                    e);
            }
        }
        finally
        {
            _refreshLock.Release();
        }
    }

    public void Dispose() => _refreshLock.Dispose();

    private sealed class Entry(string token, DateTimeOffset expiresOn, DateTimeOffset refreshAt)
    {
        public string Token { get; } = token;

        public DateTimeOffset ExpiresOn { get; } = expiresOn;

        public DateTimeOffset RefreshAt { get; } = refreshAt;

        public override string ToString() => "Entry { ExpiresOn = " + ExpiresOn.ToString("o", System.Globalization.CultureInfo.InvariantCulture) + " }";
    }
}
