using Azure.Core;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering;

/// <summary>
/// Reads the token through a cache on every request, the way Azure.Core's <c>BearerTokenAuthenticationPolicy</c> does:
/// <list type="bullet">
/// <item>While the cached token is valid, every caller gets it at once. When its refresh is due (the credential's
/// <see cref="AccessToken.RefreshOn"/>, else five minutes before expiry, or half-way through the life of a token that
/// lives under ten minutes), one background refresh runs; callers never wait for it.</item>
/// <item>A failed background refresh is not retried by every caller: the next try waits <see cref="RefreshRetryDelay"/>,
/// and the current token serves until it expires.</item>
/// <item>Only when no valid token exists do callers wait, all of them for one fetch.</item>
/// <item>A token is kept at least <see cref="MinimumTokenLifetime"/>, even one that arrives expired by this machine's
/// clock, so a skewed clock or a credential that sets no expiry cannot turn every call into a token request.</item>
/// <item>A fetch that fails for a reason that may pass throws <see cref="TokenUnavailableException"/>, which the
/// pipeline retries; a definite refusal throws <see cref="MeteringAuthorizationException"/>, and is remembered for
/// <see cref="RefreshRetryDelay"/> so a run of calls does not hammer the identity provider with a refused credential.</item>
/// <item>A token the service rejected is evicted (<see cref="Reject"/>); the next fetch asks the identity provider
/// itself rather than a credential's cache, where the credential allows it.</item>
/// </list>
/// </summary>
internal sealed class AccessTokenCache : IDisposable
{
    /// <summary>How long before expiry a long-lived token is refreshed.</summary>
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);

    /// <summary>How long after a failed background refresh (or a refusal) the credential is asked again.</summary>
    public static readonly TimeSpan RefreshRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The least time a token is kept, and the earliest its refresh starts (half of it). A token that comes with less
    /// life left (already expired by this machine's clock, an expiry the credential never set) or with a refresh hint
    /// already past would otherwise send one token request per call to the identity provider, which throttles them.
    /// The service still has the last word: a 401 evicts the token at once.
    /// </summary>
    public static readonly TimeSpan MinimumTokenLifetime = TimeSpan.FromSeconds(30);

    private static readonly TokenRequestContext RequestContext = new([MeteringClient.Scope]);

    private readonly TokenCredential _credential;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SecretRedactor _redactor;
    private readonly TimeSpan _fetchTimeout;
    private readonly string _credentialName;
    private readonly CancellationTokenSource _disposed = new();
    private readonly object _gate = new();

    private CachedToken? _current;
    private Task<CachedToken>? _fetch;
    private DateTimeOffset _nextBackgroundRefresh;
    private bool _forceRefresh;
    private Refusal? _refusal;

    public AccessTokenCache(TokenCredential credential, TimeProvider timeProvider, ILogger logger, SecretRedactor? redactor = null, TimeSpan? fetchTimeout = null)
    {
        _credential = credential;
        _timeProvider = timeProvider;
        _logger = logger;
        _redactor = redactor ?? new SecretRedactor();
        _fetchTimeout = fetchTimeout ?? Timeout.InfiniteTimeSpan;
        _credentialName = credential.GetType().Name;
    }

    /// <summary>Whether a fetch (background or not) is in progress, for tests that wait for one to finish.</summary>
    internal bool IsFetching
    {
        get
        {
            lock (_gate)
            {
                return _fetch is not null;
            }
        }
    }

    /// <summary>Returns a valid token: the cached one at once, or the result of the one fetch all waiting callers share.</summary>
    /// <exception cref="TokenUnavailableException">No token could be obtained, for a reason that may pass.</exception>
    /// <exception cref="MeteringAuthorizationException">The identity provider refused the credential.</exception>
    public ValueTask<CachedToken> GetTokenAsync(CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        TaskCompletionSource<CachedToken>? mine = null;
        Task<CachedToken> fetch;
        CachedToken? cached = null;
        lock (_gate)
        {
            var current = _current;
            if (current is not null && now < current.ExpiresOn)
            {
                if (now < current.RefreshAt || _fetch is not null || now < _nextBackgroundRefresh)
                {
                    return new ValueTask<CachedToken>(current);
                }

                mine = new TaskCompletionSource<CachedToken>(TaskCreationOptions.RunContinuationsAsynchronously);
                _fetch = mine.Task;
                cached = current;
            }
            else if (_refusal is { } refusal && now < refusal.Until && _fetch is null)
            {
                throw refusal.Create();
            }
            else if (_fetch is null)
            {
                mine = new TaskCompletionSource<CachedToken>(TaskCreationOptions.RunContinuationsAsynchronously);
                _fetch = mine.Task;
            }

            fetch = _fetch;
        }

        if (cached is not null)
        {
            // A caller with a valid token never pays for the refresh, not even for a credential's synchronous part:
            // the fetch calls the credential on the thread pool.
            _ = FetchAsync(mine!, background: true);
            return new ValueTask<CachedToken>(cached);
        }

        if (mine is not null)
        {
            _ = FetchAsync(mine, background: false);
        }

        return WaitAsync(fetch, cancellationToken);
    }

    /// <summary>
    /// Forgets <paramref name="token"/>, which the service rejected (401 or 403), if it is still the cached one; the next
    /// fetch bypasses the credential's own cache where the credential allows it.
    /// </summary>
    public void Reject(string token)
    {
        lock (_gate)
        {
            if (_current is { } current && string.Equals(current.Value, token, StringComparison.Ordinal))
            {
                _current = null;
                _forceRefresh = true;
                _nextBackgroundRefresh = default;
            }
        }

        Log.TokenRejected(_logger, _credentialName);
    }

    /// <summary>Cancels a fetch in progress. (The source is not disposed: a late caller may still link to its token.)</summary>
    public void Dispose() => _disposed.Cancel();

    private static async ValueTask<CachedToken> WaitAsync(Task<CachedToken> fetch, CancellationToken cancellationToken)
    {
        try
        {
            // Leave the shared fetch running for the other callers; only this caller stops waiting.
            return await WaitUnlessCancelledAsync(fetch, cancellationToken).ConfigureAwait(false);
        }
        catch (MeteringAuthorizationException shared)
        {
            // Every waiter of the shared fetch gets its own exception: one instance thrown on many threads would
            // have its stack trace rewritten under the others' feet.
            throw new MeteringAuthorizationException(shared.Message, shared.StatusCode, shared.ErrorCode, shared.RequestId, shared.CorrelationId, shared.InnerException)
            {
                FailureCode = shared.FailureCode,
            };
        }
    }

    private async Task FetchAsync(TaskCompletionSource<CachedToken> completion, bool background)
    {
        bool force;
        lock (_gate)
        {
            force = _forceRefresh;
        }

        var started = _timeProvider.GetUtcNow();
        try
        {
            AccessToken token;
            using (var timeout = CreateTimeoutSource())
            {
                // The credential is called on the thread pool: one that blocks before it returns its task (sync over
                // async inside it, a lock, a synchronous read) then holds a pool thread, not the caller's, and cannot
                // escape the fetch timeout. A fetch happens about once an hour, so the hop costs nothing that matters.
                var cancellation = timeout.Token;
                var pending = Task.Run(() => RequestTokenAsync(force, cancellation), CancellationToken.None);
                // No longer than the fetch timeout, even from a credential that ignores the token it was given: a fetch
                // that never ended would hold every later call, since all of them wait for the one fetch.
                token = await WaitUnlessCancelledAsync(pending, timeout.Token).ConfigureAwait(false);
            }

            var unsendable = string.IsNullOrEmpty(token.Token) ? null : UnsendableCharacter(token.Token);
            if (string.IsNullOrEmpty(token.Token) || unsendable is not null)
            {
                // A token is sent as one header line. A line break in it would end that line and start a header of the
                // credential's (or its identity endpoint's) choosing; a control character, a space or a non-ASCII
                // character is no bearer token either. The token itself is never quoted.
                throw new MeteringAuthorizationException(
                    string.IsNullOrEmpty(token.Token)
                        ? "The credential " + _credentialName + " returned an empty token for the metering service."
                        : "The credential " + _credentialName + " returned a token for the metering service that cannot be sent in an Authorization header: " + unsendable + ". Nothing was sent.",
                    statusCode: null,
                    errorCode: null,
                    requestId: null,
                    correlationId: null)
                {
                    FailureCode = "TokenRefused",
                };
            }

            _redactor.AddToken(token.Token);
            var now = _timeProvider.GetUtcNow();
            var entry = CachedToken.Create(token, now);
            if (entry.KeptLongerThanSaid)
            {
                Log.TokenLifetimeTooShort(_logger, _credentialName, token.ExpiresOn, token.RefreshOn ?? token.ExpiresOn, MinimumTokenLifetime);
            }
            lock (_gate)
            {
                _current = entry;
                _fetch = null;
                _forceRefresh = false;
                _refusal = null;
            }

            Log.TokenAcquired(_logger, _credentialName, token.ExpiresOn);
            MeteringTelemetry.TokenFetch("success", background);
            completion.TrySetResult(entry);
        }
        catch (Exception e)
        {
            var failure = Translate(e, started);
            lock (_gate)
            {
                _fetch = null;
                if (background)
                {
                    _nextBackgroundRefresh = _timeProvider.GetUtcNow() + RefreshRetryDelay;
                }
                else if (failure is MeteringAuthorizationException refused)
                {
                    _refusal = new Refusal(refused, _timeProvider.GetUtcNow() + RefreshRetryDelay);
                }
            }

            MeteringTelemetry.TokenFetch(failure is TokenUnavailableException ? "transient_failure" : "refused", background);
            if (background)
            {
                Log.TokenRefreshFailed(_logger, _credentialName, _current?.ExpiresOn ?? default, e.GetType().Name, RefreshRetryDelay);
            }
            else
            {
                Log.TokenFetchFailed(_logger, _credentialName, e.GetType().Name, failure is TokenUnavailableException, failure.Message);
            }

            completion.TrySetException(failure);
            _ = completion.Task.Exception; // observed here: a background refresh may have no waiter
        }
    }

    /// <summary>
    /// What makes <paramref name="token"/> unfit for an <c>Authorization: Bearer</c> header line, or <see langword="null"/>
    /// when every character is visible ASCII. (RFC 6750's b64token is stricter; visible ASCII is what a header line can
    /// carry unharmed, and it accepts the odd tokens of test identity providers and the emulator.)
    /// </summary>
    internal static string? UnsendableCharacter(string token)
    {
        for (var i = 0; i < token.Length; i++)
        {
            var c = token[i];
            if (c is > (char)0x20 and < (char)0x7F)
            {
                continue;
            }

            var what = c switch
            {
                '\r' or '\n' => "a line break",
                ' ' => "a space",
                < (char)0x20 or (char)0x7F => "a control character",
                _ => "a character outside ASCII",
            };
            return MeteringClientOptions.Format("character {0} of {1} is {2}", i + 1, token.Length, what);
        }

        return null;
    }

    private Exception Translate(Exception e, DateTimeOffset started)
    {
        if (e is MeteringException)
        {
            return e;
        }

        if (e is OperationCanceledException && _disposed.IsCancellationRequested)
        {
            return new ObjectDisposedException(nameof(MeteringClient));
        }

        var inner = _redactor.SafeToAttach(e);
        var detail = _redactor.Redact(Describe(e)) + (inner is null ? " (the cause is not attached: it contains a secret)" : string.Empty);
        if (e is OperationCanceledException)
        {
            return new TokenUnavailableException(
                MeteringClientOptions.Format(
                    "{0} did not return a token for the metering service within {1:g} (the network timeout).",
                    _credentialName,
                    _timeProvider.GetUtcNow() - started),
                inner);
        }

        if (TokenFailure.IsTransient(e))
        {
            return new TokenUnavailableException(
                "Could not get a token for the metering service (scope " + MeteringClient.Scope + ") from " + _credentialName + ", for a reason that may pass: " + detail,
                inner);
        }

        return new MeteringAuthorizationException(
            "Could not get a token for the metering service (scope " + MeteringClient.Scope + ") from " + _credentialName + ": " + detail,
            statusCode: null,
            errorCode: null,
            requestId: null,
            correlationId: null,
            inner)
        {
            FailureCode = "TokenRefused",
        };
    }

    /// <summary>The message, and those of the exceptions it wraps when they add something (Azure.Identity wraps MSAL's).</summary>
    private static string Describe(Exception e)
    {
        var text = e.Message;
        for (var inner = e.InnerException; inner is not null && text.Length < 2000; inner = inner.InnerException)
        {
            if (text.IndexOf(inner.Message, StringComparison.Ordinal) < 0)
            {
                text += " ---> " + inner.Message;
            }
        }

        return text;
    }

    private Task<AccessToken> RequestTokenAsync(bool force, CancellationToken cancellationToken) =>
        _credential is IForceRefreshCredential forceable
            ? forceable.GetTokenAsync(RequestContext, force, cancellationToken).AsTask()
            : _credential.GetTokenAsync(RequestContext, cancellationToken).AsTask();

    /// <summary>
    /// The result of <paramref name="task"/>, or <see cref="OperationCanceledException"/> as soon as
    /// <paramref name="cancellationToken"/> is cancelled, whichever comes first. The task itself is left running: others
    /// may still wait for it (a shared fetch), or it may not listen to any token (a credential blocked inside). A task
    /// left behind that fails later has its exception observed here.
    /// </summary>
    private static async Task<T> WaitUnlessCancelledAsync<T>(Task<T> task, CancellationToken cancellationToken)
    {
        if (!task.IsCompleted && cancellationToken.CanBeCanceled)
        {
            var cancelled = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(static s => ((TaskCompletionSource<T>)s!).TrySetCanceled(), cancelled))
            {
                if (await Task.WhenAny(task, cancelled.Task).ConfigureAwait(false) != task)
                {
                    _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }
        }

        return await task.ConfigureAwait(false);
    }

    private FetchScope CreateTimeoutSource()
    {
        if (_fetchTimeout == Timeout.InfiniteTimeSpan)
        {
            return new FetchScope(CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token), null);
        }

#if NET
        var timeout = new CancellationTokenSource(_fetchTimeout, _timeProvider);
#else
        var timeout = _timeProvider.CreateCancellationTokenSource(_fetchTimeout);
#endif
        return new FetchScope(CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token, timeout.Token), timeout);
    }

    private sealed class Refusal(MeteringAuthorizationException first, DateTimeOffset until)
    {
        public DateTimeOffset Until { get; } = until;

        public MeteringAuthorizationException Create() =>
            new(first.Message + " (remembered: the credential is asked again " + RefreshRetryDelay.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) + " seconds after it refused)", null, null, null, null, first.InnerException)
            {
                FailureCode = first.FailureCode,
            };
    }

    /// <summary>The cancellation of one fetch: the client's disposal, or the fetch timeout.</summary>
    private sealed class FetchScope(CancellationTokenSource linked, CancellationTokenSource? timeout) : IDisposable
    {
        public CancellationToken Token => linked.Token;

        public void Dispose()
        {
            linked.Dispose();
            timeout?.Dispose();
        }
    }
}

/// <summary>A credential that can be told to bypass its own token cache (after the service rejected a token).</summary>
internal interface IForceRefreshCredential
{
    ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, bool forceRefresh, CancellationToken cancellationToken);
}

/// <summary>A token the cache holds: its value, the <c>Authorization</c> header built from it once, and when it is due for refresh.</summary>
internal sealed class CachedToken
{
    private CachedToken(string value, DateTimeOffset expiresOn, DateTimeOffset refreshAt)
    {
        Value = value;
        AuthorizationHeader = "Bearer " + value;
        ExpiresOn = expiresOn;
        RefreshAt = refreshAt;
    }

    public string Value { get; }

    /// <summary><c>Bearer &lt;token&gt;</c>, built once per token rather than once per request (a real token is 1.5 to 2.5 KB).</summary>
    public string AuthorizationHeader { get; }

    public DateTimeOffset ExpiresOn { get; }

    public DateTimeOffset RefreshAt { get; }

    /// <summary>The token came with too little life left (or a refresh hint already past) and is kept <see cref="AccessTokenCache.MinimumTokenLifetime"/>.</summary>
    public bool KeptLongerThanSaid { get; private init; }

    public static CachedToken Create(AccessToken token, DateTimeOffset now)
    {
        // Kept at least MinimumTokenLifetime, refreshed no sooner than half of it: a token that arrives (nearly) expired,
        // or with a refresh hint already past, must not cost a token request per call.
        var floor = AccessTokenCache.MinimumTokenLifetime;
        var expiresOn = token.ExpiresOn < now + floor ? now + floor : token.ExpiresOn;

        // The credential's own hint wins; otherwise five minutes before expiry, or half-way for a short-lived token.
        var margin = TimeSpan.FromTicks(Math.Min(AccessTokenCache.RefreshMargin.Ticks, (expiresOn - now).Ticks / 2));
        var refreshAt = token.RefreshOn is { } hint && hint < expiresOn ? hint : expiresOn - margin;
        var earliest = now + TimeSpan.FromTicks(floor.Ticks / 2);
        return new CachedToken(token.Token, expiresOn, refreshAt < earliest ? earliest : refreshAt)
        {
            KeptLongerThanSaid = expiresOn != token.ExpiresOn || refreshAt < earliest,
        };
    }

    /// <summary>Never the token.</summary>
    public override string ToString() => "CachedToken { ExpiresOn = " + ExpiresOn.ToString("o", System.Globalization.CultureInfo.InvariantCulture) + " }";
}
