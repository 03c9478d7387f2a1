using System.Buffers;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace MarketplaceMetering;

/// <summary>
/// Sends one logical call: retry (Polly, predicate in <see cref="RetryPolicy"/>) around a per-attempt timeout around
/// one attempt, which reads the token through the cache, stamps the ids and reads the whole answer.
/// </summary>
internal sealed class MeteringPipeline : IDisposable
{
    /// <summary>The largest answer read; the service's answers are a few kilobytes.</summary>
    public const int MaxResponseBytes = 1024 * 1024;

    /// <summary>The longest service request or correlation id kept whole; the service's are GUIDs (36 characters).</summary>
    private const int MaxServiceIdLength = 100;

    private static readonly ResiliencePropertyKey<MeteringRequest> RequestKey = new("MarketplaceMetering.Request");
    private static readonly string UserAgent = BuildUserAgent();

    private readonly Func<HttpClient>? _httpClient;
    private readonly HttpMessageInvoker? _owned;
    private readonly AccessTokenCache _tokens;
    private readonly SecretRedactor _redactor;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly int _maxRetries;
    private readonly ResiliencePipeline<RawResponse> _attempt;
    private readonly ResiliencePipeline<RawResponse>? _retry;

    /// <param name="httpClient">
    /// Where each attempt gets the caller's <see cref="HttpClient"/>: always the same one, or a fresh one from
    /// <c>IHttpClientFactory</c> (cheap, and it lets the factory rotate handlers); <see langword="null"/> when the client
    /// brings its own <paramref name="ownedHandler"/>.
    /// </param>
    /// <param name="ownedHandler">
    /// The handler the client created, when the caller gave no <see cref="HttpClient"/>: sent through directly and disposed
    /// with the pipeline.
    /// </param>
    /// <param name="tokens">The token cache every attempt reads through.</param>
    /// <param name="redactor">Masks the client's secrets in messages and logs.</param>
    /// <param name="options">The validated options.</param>
    /// <param name="logger">Where requests, retries and failures are logged.</param>
    public MeteringPipeline(Func<HttpClient>? httpClient, HttpMessageHandler? ownedHandler, AccessTokenCache tokens, SecretRedactor redactor, MeteringClientOptions options, ILogger logger)
    {
        if ((httpClient is null) == (ownedHandler is null))
        {
            throw new ArgumentException("Exactly one of an HttpClient source and an owned handler is needed.", nameof(ownedHandler));
        }

        // The client's own handler is called through an HttpMessageInvoker, as YARP's forwarder does: HttpClient adds,
        // per call, a linked cancellation source and an async layer for its timeout and buffering, and the pipeline has
        // its own per-attempt timeout and reads the body itself.
        _httpClient = httpClient;
        _owned = ownedHandler is null ? null : new HttpMessageInvoker(ownedHandler, disposeHandler: true);
        _tokens = tokens;
        _redactor = redactor;
        _timeProvider = options.TimeProvider;
        _logger = logger;
        _maxRetries = options.Retry.MaxRetries;

        // Two pipelines with the order of one (retry around a per-attempt timeout): every attempt runs under the timeout,
        // and only an outcome worth retrying enters the retry pipeline, which replays it as its first attempt. An answer
        // that needs no retry then costs no retry state (Polly allocates a strategy's async state whenever its callback
        // completes asynchronously, which an HTTP call always does).
        var policy = new RetryPolicy(options.Retry, options.TimeProvider);
        var attempt = new ResiliencePipelineBuilder<RawResponse> { TimeProvider = options.TimeProvider };
        if (options.NetworkTimeout != Timeout.InfiniteTimeSpan)
        {
            attempt.AddTimeout(options.NetworkTimeout);
        }

        _attempt = attempt.Build();
        if (options.Retry.MaxRetries > 0)
        {
            _retry = new ResiliencePipelineBuilder<RawResponse> { TimeProvider = options.TimeProvider }.AddRetry(new RetryStrategyOptions<RawResponse>
            {
                MaxRetryAttempts = options.Retry.MaxRetries,
                BackoffType = DelayBackoffType.Constant,
                Delay = TimeSpan.Zero,
                UseJitter = false,
                ShouldHandle = args =>
                {
                    var request = args.Context.Properties.GetValue(RequestKey, null!);
                    var retry = policy.ShouldRetry(request, args.Outcome, args.AttemptNumber, args.Context.CancellationToken);
                    if (!retry && request.StopReason is { } why)
                    {
                        Log.NotRetrying(_logger, request.Method.Method, request.Path, _redactor.Redact(RetryPolicy.Describe(args.Outcome)), why, request.RequestId);
                    }

                    return new ValueTask<bool>(retry);
                },
                DelayGenerator = args => new ValueTask<TimeSpan?>(args.Context.Properties.GetValue(RequestKey, null!).NextDelay),
                OnRetry = args =>
                {
                    var request = args.Context.Properties.GetValue(RequestKey, null!);
                    args.Outcome.Result?.Dispose(); // the answer of an attempt that is retried is not read again
                    MeteringTelemetry.Retry(request.Operation, args.Outcome.Exception switch
                    {
                        null => args.Outcome.Result!.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        TimeoutRejectedException => "timeout",
                        TokenUnavailableException => "no_token",
                        { } e => e.GetType().Name,
                    });
                    Log.Retrying(_logger, request.Method.Method, request.Path, _redactor.Redact(RetryPolicy.Describe(args.Outcome)), args.AttemptNumber + 1, _maxRetries, (long)args.RetryDelay.TotalMilliseconds, request.RequestId);
                    return default;
                },
            }).Build();
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/>, retrying what is transient. Returns the last answer (whatever its status);
    /// throws <see cref="MeteringException"/> when no answer arrived, <see cref="OperationCanceledException"/> when the caller cancelled.
    /// </summary>
#if NET
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
#endif
    public async ValueTask<RawResponse> SendAsync(MeteringRequest request, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(RequestKey, request);
        try
        {
            var outcome = await _attempt.ExecuteOutcomeAsync(
                static (ctx, state) => state.self.AttemptAsync(state.request, ctx.CancellationToken),
                context,
                (self: this, request)).ConfigureAwait(false);
            if (_retry is not null && RetryPolicy.IsTransient(outcome, cancellationToken))
            {
                request.FirstOutcome = outcome;
                outcome = await _retry.ExecuteOutcomeAsync(
                    static (ctx, state) => state.request.TakeFirstOutcome() is { } first
                        ? new ValueTask<Outcome<RawResponse>>(first)
                        : state.self._attempt.ExecuteOutcomeAsync(static (ctx, state) => state.self.AttemptAsync(state.request, ctx.CancellationToken), ctx, state),
                    context,
                    (self: this, request)).ConfigureAwait(false);

                // Polly ends a cancelled run without calling back: the first answer was then never handed back, nor disposed.
                request.TakeFirstOutcome()?.Result?.Dispose();
            }

            if (outcome.Exception is { } exception)
            {
                cancellationToken.ThrowIfCancellationRequested();
                throw Translate(exception, request);
            }

            var response = outcome.Result!;
            response.RetryStoppedBecause = request.StopReason;
            return response;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    public void Dispose() => _owned?.Dispose();

    /// <summary>
    /// One attempt, as an outcome for Polly: a token, the exchange, and once per logical call a second exchange with a
    /// fresh token after a 401.
    /// </summary>
    /// <remarks>
    /// The exchange is written out here rather than in a method of its own: every async layer an answer passes through
    /// costs a state machine's resumption and a continuation on each call, and single calls are sensitive to it.
    /// </remarks>
#if NET
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
#endif
    private async ValueTask<Outcome<RawResponse>> AttemptAsync(MeteringRequest request, CancellationToken cancellationToken)
    {
        request.Attempts++;
        while (true)
        {
            CachedToken token;
            try
            {
                token = await _tokens.GetTokenAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return Outcome.FromException<RawResponse>(e);
            }

            var activity = MeteringTelemetry.StartAttempt(request);
            var started = _timeProvider.GetTimestamp();
            int? status = null;
            string? serviceRequestId = null;
            Exception? failure = null;
            RawResponse answer;
            try
            {
                // Raw header strings: nothing parsed or rebuilt per send (the Authorization value is built once per token).
                using var message = new HttpRequestMessage(request.Method, request.Uri);
                message.Headers.TryAddWithoutValidation("Authorization", token.AuthorizationHeader);
                message.Headers.TryAddWithoutValidation("x-ms-requestid", request.RequestId);
                message.Headers.TryAddWithoutValidation("x-ms-correlationid", request.CorrelationId);
                message.Headers.TryAddWithoutValidation("Accept", "application/json");
                message.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
                if (activity is not null)
                {
                    // W3C trace context, on every target framework (on .NET, the handler's own diagnostics would add it too; they keep ours).
                    DistributedContextPropagator.Current.Inject(activity, message, static (carrier, name, value) =>
                    {
                        var headers = ((HttpRequestMessage)carrier!).Headers;
                        headers.Remove(name);
                        headers.TryAddWithoutValidation(name, value);
                    });
                }

                if (request.Body is { } body)
                {
                    message.Content = new ByteArrayContent(body.Array, 0, body.Length);
                    message.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
                }

                Log.Sending(_logger, request.Method.Method, request.Path, request.RequestId, request.CorrelationId, request.Attempts);
                using var response = await (_owned is { } owned
                    ? owned.SendAsync(message, cancellationToken)
                    : _httpClient!().SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken)).ConfigureAwait(false);
                if (response.RequestMessage?.RequestUri is { } landed && landed != request.Uri)
                {
                    // The caller's HttpClient followed a redirect (or a handler rewrote the address): whatever answered is not
                    // the service the client addressed, and after a 301/302/303 the POST became a GET without its body.
                    throw Redirected(request, (int)response.StatusCode, landed, followed: true);
                }

                status = (int)response.StatusCode;
                serviceRequestId = ServiceId(response, "x-ms-requestid");
                if (status is >= 300 and < 400)
                {
                    Log.Received(_logger, request.Method.Method, request.Path, status.Value, (long)_timeProvider.GetElapsedTime(started).TotalMilliseconds, request.RequestId);
                    throw Redirected(request, status.Value, response.Headers.Location, followed: false);
                }

                var (buffer, length, truncated) = await ReadBodyAsync(response, request, cancellationToken).ConfigureAwait(false);
                Log.Received(_logger, request.Method.Method, request.Path, status.Value, (long)_timeProvider.GetElapsedTime(started).TotalMilliseconds, request.RequestId);
                answer = new RawResponse(
                    status.Value,
                    status >= 300 ? response.ReasonPhrase : null, // only error messages quote it
                    buffer is null ? default : buffer.AsMemory(0, length),
                    serviceRequestId ?? request.RequestId,
                    ServiceId(response, "x-ms-correlationid") ?? request.CorrelationId,
                    RetryPolicy.IsTransientStatus(status.Value) ? RetryPolicy.ReadRetryAfter(response, _timeProvider) : null, // only a retry reads it
                    _redactor,
                    _timeProvider.GetUtcNow(),
                    truncated).WithRentedBuffer(buffer);
            }
            catch (Exception e)
            {
                failure = e;
                return Outcome.FromException<RawResponse>(e);
            }
            finally
            {
                MeteringTelemetry.EndAttempt(activity, request, started, _timeProvider, status, serviceRequestId, failure);
            }

            if (answer.StatusCode is 401 or 403)
            {
                // A rejected token is never reused. A 401 (what gateways answer for a bad or expired token) is sent once
                // more, with a fresh token, per logical call; a 403 is ambiguous (it is also the answer for a resource of
                // another publisher) and is not resent, but the next call will not carry that token either.
                _tokens.Reject(token.Value);
                if (answer.StatusCode == 401 && !request.ResentAfter401)
                {
                    request.ResentAfter401 = true;
                    answer.Dispose();
                    Log.ResendingAfter401(_logger, request.Method.Method, request.Path, request.RequestId);
                    continue;
                }
            }

            return Outcome.FromResult(answer);
        }
    }

    /// <summary>
    /// Reads the whole body, up to <see cref="MaxResponseBytes"/>, into a buffer rented from the shared pool (sized by
    /// <c>Content-Length</c> when the answer declares one). A larger body is an error, except in a transient answer (a
    /// 5xx, 408, 429), whose body only feeds an excerpt: its start is kept and the status stays retryable.
    /// </summary>
#if NET
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
#endif
    private static async ValueTask<(byte[]? Buffer, int Length, bool Truncated)> ReadBodyAsync(HttpResponseMessage response, MeteringRequest request, CancellationToken cancellationToken)
    {
        if (response.Content is null)
        {
            return (null, 0, false);
        }

        var transient = RetryPolicy.IsTransientStatus((int)response.StatusCode);
        var maxBytes = request.MaxResponseBytes;
        var declared = response.Content.Headers.ContentLength;
        if (declared > maxBytes && !transient)
        {
            throw TooLarge(response, request);
        }

        if (declared == 0)
        {
            return (null, 0, false);
        }

#if NET
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
#else
        var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
#endif
        using (stream)
        {
            // One byte past the limit tells "exactly the limit" from "more than the limit".
            var limit = maxBytes + 1;
            var buffer = ArrayPool<byte>.Shared.Rent(declared is { } size ? (int)Math.Min(size + 1, limit) : 4096);
            var length = 0;
            try
            {
                while (true)
                {
                    if (length == buffer.Length && length < limit)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length * 2L, limit));
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    var room = Math.Min(buffer.Length, limit) - length;
#if NET
                    var read = await stream.ReadAsync(buffer.AsMemory(length, room), cancellationToken).ConfigureAwait(false);
#else
                    var read = await stream.ReadAsync(buffer, length, room, cancellationToken).ConfigureAwait(false);
#endif
                    if (read == 0)
                    {
                        return (buffer, length, false);
                    }

                    length += read;
                    if (length > maxBytes)
                    {
                        if (transient)
                        {
                            return (buffer, maxBytes, true);
                        }

                        throw TooLarge(response, request);
                    }

                    if (length == declared)
                    {
                        // The whole declared body is in; HTTP/1.1 framing ends the content there, so the read that would
                        // only return 0 is spared.
                        return (buffer, length, false);
                    }
                }
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw;
            }
        }
    }

    private MeteringException Redirected(MeteringRequest request, int status, Uri? target, bool followed) => new(
        MeteringClientOptions.Format(
            "{0} {1} was {2} {3} (HTTP {4}); the metering client never follows a redirect, since a redirected POST may lose its body or carry usage to another host. {5}Request id {6}.",
            request.Method.Method,
            request.Path,
            followed ? "redirected by the HttpClient the client was given" : "answered with a redirect",
            target is null ? "without a Location" : "to host '" + _redactor.Redact(target.IsAbsoluteUri ? target.Host : request.Uri.Host) + "'",
            status,
            followed ? "Give the client an HttpClient whose handler has AllowAutoRedirect = false. Whether the usage was recorded is unknown; submitting it again is safe. " : string.Empty,
            request.RequestId),
        status,
        errorCode: null,
        request.RequestId,
        request.CorrelationId,
        isRetryable: false)
    {
        FailureCode = "Redirect",
    };

    private static MeteringException TooLarge(HttpResponseMessage response, MeteringRequest request) => new(
        MeteringClientOptions.Format(
            "The metering service answered {0} {1} with a body larger than {2} bytes, more than any documented answer. Request id {3}.",
            request.Method.Method,
            request.Path,
            request.MaxResponseBytes,
            request.RequestId),
        (int)response.StatusCode,
        errorCode: null,
        request.RequestId,
        request.CorrelationId,
        isRetryable: false);

    private Exception Translate(Exception exception, MeteringRequest request)
    {
        if (exception is MeteringException)
        {
            return exception;
        }

        var attempts = MeteringClientOptions.Format("{0} attempt{1}", request.Attempts, request.Attempts == 1 ? string.Empty : "s");
        var why = request.StopReason is { } stop ? "; stopped retrying: " + stop : string.Empty;
        var message = exception switch
        {
            TimeoutRejectedException => MeteringClientOptions.Format(
                "The metering service did not answer {0} {1} within the network timeout ({2}){3}. Request id {4}.",
                request.Method.Method,
                request.Path,
                attempts,
                why,
                request.RequestId),
            TokenUnavailableException => MeteringClientOptions.Format(
                "{0} {1} was not sent: no token for the metering service ({2}){3}. {4} Submitting again later is safe. Request id {5}.",
                request.Method.Method,
                request.Path,
                attempts,
                why,
                exception.Message,
                request.RequestId),
            _ => MeteringClientOptions.Format(
                "Could not reach the metering service for {0} {1} ({2}): {3}{4}. Request id {5}.",
                request.Method.Method,
                request.Path,
                attempts,
                _redactor.Redact(exception.Message),
                why,
                request.RequestId),
        };

        var cause = exception is TokenUnavailableException { InnerException: { } tokenCause } ? tokenCause : exception;
        return new MeteringException(message, statusCode: null, errorCode: null, request.RequestId, request.CorrelationId, isRetryable: true, _redactor.SafeToAttach(cause))
        {
            FailureCode = exception switch
            {
                TokenUnavailableException => "NoToken",
                TimeoutRejectedException => "Timeout",
                _ => "NoAnswer",
            },
        };
    }

    /// <summary>
    /// An id the service answers in a header, made safe to carry into results, messages, logs and spans: the header is
    /// the service's text like its body, so a token it echoes is masked, a control character (a terminal escape) is made
    /// a space, and a value longer than any id is cut (masked first, so that a cut secret cannot slip past its mask).
    /// </summary>
    private string? ServiceId(HttpResponseMessage response, string name) =>
        Header(response, name) is { } value ? Serialization.WireFormat.SafeText(value, _redactor, MaxServiceIdLength) : null;

    private static string? Header(HttpResponseMessage response, string name)
    {
#if NET
        // The raw value, without parsing or an enumerator: a single-valued header costs nothing to read.
        if (response.Headers.NonValidated.TryGetValues(name, out var values))
        {
            foreach (var value in values)
            {
                if (!string.IsNullOrWhiteSpace(value))
                {
                    return value;
                }
            }
        }

        return null;
#else
        return response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v)) : null;
#endif
    }

    private static string BuildUserAgent()
    {
        var version = typeof(MeteringPipeline).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = version.IndexOf('+');
        if (plus >= 0)
        {
            version = version.Substring(0, plus);
        }

        var runtime = new string(RuntimeInformation.FrameworkDescription.Where(c => c is >= ' ' and < (char)127 and not '(' and not ')').ToArray()).Trim();
        return "MarketplaceMetering/" + version + " (" + runtime + ")";
    }
}
