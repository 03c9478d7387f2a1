using System.Runtime.CompilerServices;
using Azure.Core;
using MarketplaceMetering.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MarketplaceMetering;

/// <summary>
/// The client of the marketplace metering service: reports usage events, one at a time or in batches of up to 25.
/// Thread-safe; create one per credential and reuse it.
/// </summary>
/// <remarks>
/// <para>
/// Every event is validated before anything is sent (<see cref="ArgumentException"/> naming the field). Per-event
/// outcomes, Duplicate and Expired included, are <see cref="UsageEventResult"/> values; exceptions are kept for what
/// concerns the whole call: <see cref="MeteringAuthorizationException"/> (403, a repeated 401, a refused credential),
/// and <see cref="MeteringException"/> (unexpected answers, transport or token failures that outlasted the retries).
/// </para>
/// <para>
/// The service methods are <see langword="virtual"/> and a protected constructor exists, so the client can be mocked;
/// <see cref="MeteringModelFactory"/> builds the results a mock returns.
/// </para>
/// </remarks>
public class MeteringClient : IDisposable
{
    /// <summary>The scope of the marketplace metering resource, for Microsoft Entra ID tokens (v2 endpoint).</summary>
    public const string Scope = "20e940b3-4c77-4b0b-9a53-9e16a1b010a7/.default";

    /// <summary>The most events the service accepts in one batch.</summary>
    public const int MaxBatchSize = UsageEventValidator.MaxBatchSize;

    private const string SingleOperation = "POST /api/usageEvent";
    private const string BulkOperation = "SubmitUsageEvents";
    private const string BatchOperation = "POST /api/batchUsageEvent";
    private const string UsageEventsOperation = "GET /api/usageEvents";

    /// <summary>The largest usage report read: 64 MiB, some 150,000 daily rows.</summary>
    private const int MaxUsageReportBytes = 64 * 1024 * 1024;

    private readonly MeteringClientOptions? _options;
    private readonly MeteringPipeline? _pipeline;
    private readonly AccessTokenCache? _tokens;
    private readonly ILogger _logger = NullLogger.Instance;
    private readonly Uri? _usageEventUri;
    private readonly Uri? _batchUsageEventUri;
    private readonly string? _root;
    private int _disposed;

    /// <summary>For mocking only: an instance whose service methods are not set up throws <see cref="InvalidOperationException"/>.</summary>
    protected MeteringClient()
    {
    }

    /// <summary>Creates a client with its own HTTP connection pool (TLS 1.2 or 1.3 only).</summary>
    /// <param name="credential">
    /// Where tokens come from: <see cref="MeteringCredential"/> covers client secrets, certificates and managed identities;
    /// any <see cref="TokenCredential"/> works.
    /// </param>
    /// <param name="options">Settings; the defaults talk to the public marketplace.</param>
    /// <exception cref="ArgumentNullException"><paramref name="credential"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is not valid; the message lists every bad setting.</exception>
    public MeteringClient(TokenCredential credential, MeteringClientOptions? options = null)
        : this((Func<HttpClient>?)null, credential, options)
    {
    }

    /// <summary>
    /// Creates a client that sends through <paramref name="httpClient"/>, which the caller owns and disposes (from
    /// <c>IHttpClientFactory</c>, say). Its handler decides the TLS versions and proxy; the endpoint rule (https, or
    /// http to loopback only) still applies.
    /// </summary>
    /// <param name="httpClient">The HTTP client to send through; not disposed by this client.</param>
    /// <param name="credential">Where tokens come from.</param>
    /// <param name="options">Settings; the defaults talk to the public marketplace.</param>
    /// <exception cref="ArgumentNullException"><paramref name="httpClient"/> or <paramref name="credential"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is not valid; the message lists every bad setting.</exception>
    public MeteringClient(HttpClient httpClient, TokenCredential credential, MeteringClientOptions? options = null)
        : this(AlwaysThe(Argument.NotNull(httpClient)), credential, options)
    {
    }

    /// <summary>
    /// Creates a client that takes an <see cref="HttpClient"/> from <paramref name="httpClientSource"/> for every attempt
    /// (from <c>IHttpClientFactory</c>: cheap, and it lets the factory rotate handlers); <see langword="null"/> makes the
    /// client create and own its connection pool.
    /// </summary>
    internal MeteringClient(Func<HttpClient>? httpClientSource, TokenCredential credential, MeteringClientOptions? options)
    {
        Argument.NotNull(credential);
        options = (options ?? new MeteringClientOptions()).Clone();
        options.Validate(nameof(options));

        _options = options;
        _logger = options.LoggerFactory?.CreateLogger<MeteringClient>() ?? (ILogger)NullLogger.Instance;
        var redactor = new SecretRedactor([(credential as ConfidentialClientCredential)?.ClientSecret]);
        _tokens = new AccessTokenCache(credential, options.TimeProvider, _logger, redactor, options.NetworkTimeout);
        _pipeline = new MeteringPipeline(httpClientSource, httpClientSource is null ? MeteringTransport.CreateHandler() : null, _tokens, redactor, options, _logger);

        var root = options.Endpoint.AbsoluteUri.TrimEnd('/');
        var query = "?api-version=" + Uri.EscapeDataString(options.ApiVersion);
        _usageEventUri = new Uri(root + "/api/usageEvent" + query);
        _batchUsageEventUri = new Uri(root + "/api/batchUsageEvent" + query);
        _root = root;
    }

    /// <summary>The service root this client talks to.</summary>
    public virtual Uri Endpoint => Options.Endpoint;

    private MeteringClientOptions Options => _options ?? throw NotConstructed();

    private MeteringPipeline Pipeline => _pipeline ?? throw NotConstructed();

    /// <summary>Reports one usage event (POST /api/usageEvent).</summary>
    /// <param name="usageEvent">The event; its effective start time must lie within the past 24 hours.</param>
    /// <param name="cancellationToken">Cancels the call at once, retries and waits included.</param>
    /// <returns>
    /// The outcome: <see cref="UsageEventResult.Accepted"/>, <see cref="UsageEventResult.Duplicate"/> (the service's 409,
    /// carrying the original), <see cref="UsageEventResult.Expired"/>, or another failure the service named.
    /// </returns>
    /// <exception cref="ArgumentException">The event is outside the 24-hour window, or in the future; nothing was sent.</exception>
    /// <exception cref="MeteringAuthorizationException">
    /// The service refused the caller (403, or 401 again with a fresh token), or the identity provider refused the credential.
    /// </exception>
    /// <exception cref="MeteringException">
    /// An unexpected answer (a redirect, which is never followed, or a 200 that names another event), or no answer or no
    /// token after the retries (<see cref="MeteringException.IsRetryable"/>).
    /// </exception>
    public virtual async Task<UsageEventResult> SubmitUsageEventAsync(UsageEvent usageEvent, CancellationToken cancellationToken = default)
    {
        var pipeline = Pipeline;
        ThrowIfDisposed();
        var clock = Options.TimeProvider;
        UsageEventValidator.ValidateSingle(usageEvent, clock.GetUtcNow(), nameof(usageEvent));

        const string Operation = "SubmitUsageEvent";
        var started = clock.GetTimestamp();
        var activity = MeteringTelemetry.StartOperation(Operation, 1);
        try
        {
            using var body = RequestWriter.Single(usageEvent);
            var request = new MeteringRequest(
                Operation,
                HttpMethod.Post,
                _usageEventUri!,
                "/api/usageEvent",
                body,
                1,
                Guid.NewGuid().ToString("D"),
                UsageEventValidator.Deadline(usageEvent.EffectiveStartTime));
            activity?.SetTag(MeteringTelemetry.CorrelationIdTag, request.CorrelationId);
            using var response = await pipeline.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var result = ResponseMapper.MapSingle(usageEvent, response, SingleOperation);
            MeteringTelemetry.EndOperation(activity, Operation, started, clock, result);
            return result;
        }
        catch (Exception e)
        {
            MeteringTelemetry.EndOperation(activity, Operation, started, clock, results: null, e);
            throw;
        }
    }

    /// <summary>Reports 1 to 25 usage events in one call (POST /api/batchUsageEvent).</summary>
    /// <param name="usageEvents">
    /// The events: 1 to <see cref="MaxBatchSize"/>, each within the past 24 hours, no two for the same resource,
    /// dimension and hour (sum those first).
    /// </param>
    /// <param name="cancellationToken">Cancels the call at once, retries and waits included.</param>
    /// <returns>One result per event, in the order given, matched to the service's items by resource, plan, dimension and hour.</returns>
    /// <exception cref="ArgumentException">The batch is empty, too large, holds a null, an event outside the window, or two events for one hour; nothing was sent.</exception>
    /// <exception cref="MeteringAuthorizationException">
    /// The service refused the caller (403, or 401 again with a fresh token), or the identity provider refused the credential.
    /// </exception>
    /// <exception cref="MeteringException">
    /// An unexpected answer (a redirect, which is never followed, or a 200 that names another event), or no answer or no
    /// token after the retries (<see cref="MeteringException.IsRetryable"/>).
    /// </exception>
    public virtual async Task<BatchUsageEventResult> SubmitBatchUsageEventAsync(IReadOnlyList<UsageEvent> usageEvents, CancellationToken cancellationToken = default)
    {
        var pipeline = Pipeline;
        ThrowIfDisposed();
        var clock = Options.TimeProvider;
        UsageEventValidator.ValidateBatch(usageEvents, clock.GetUtcNow(), nameof(usageEvents));

        const string Operation = "SubmitBatchUsageEvent";
        var started = clock.GetTimestamp();
        var activity = MeteringTelemetry.StartOperation(Operation, usageEvents.Count);
        try
        {
            var correlationId = Guid.NewGuid().ToString("D");
            activity?.SetTag(MeteringTelemetry.CorrelationIdTag, correlationId);
            var batch = await SendBatchAsync(pipeline, Operation, usageEvents, correlationId, cancellationToken).ConfigureAwait(false);
            MeteringTelemetry.EndOperation(activity, Operation, started, clock, batch.Results, failure: null);
            return batch;
        }
        catch (Exception e)
        {
            MeteringTelemetry.EndOperation(activity, Operation, started, clock, results: null, e);
            throw;
        }
    }

    /// <summary>
    /// Reports any number of usage events: validates them, splits them into batches of at most 25 (never two events
    /// for the same resource, dimension and hour in one batch; such events go in input order), sends up to
    /// <see cref="MeteringClientOptions.MaxConcurrency"/> batches at a time, and returns one result per event in input
    /// order with a summary.
    /// </summary>
    /// <param name="usageEvents">The events. None may be null.</param>
    /// <param name="cancellationToken">Cancels the submission at once.</param>
    /// <returns>One result per event, in input order, and a <see cref="UsageEventSummary"/>.</returns>
    /// <remarks>
    /// Per-event outcomes only: events outside the 24-hour window are not sent (Expired, or BadArgument for a future
    /// time); a batch whose call fails after its retries, is refused or is answered with something unreadable gives an
    /// Error result per event carrying the failure, and the other batches go on; after the service refuses the caller
    /// (403, or 401 again with a fresh token) nothing more is sent. No retry is scheduled past an event's deadline (24
    /// hours after its effective start time, less a safety margin); an event is sent while it is inside its window.
    /// All calls share one <c>x-ms-correlationid</c>.
    /// <para>
    /// The same event (resource, dimension and hour) given more than once is recorded once by the service, which answers
    /// the later ones Duplicate with the first one's usage event id. Such a repeat is a conflict
    /// (<see cref="UsageEventResult.Duplicate.IsReplay"/> is <see langword="false"/>): its original is the id an earlier
    /// result of this call was accepted as, or found as a replay. So the summary counts what the service holds. A
    /// Duplicate of an event recorded by an earlier call is still a replay. A copy that ends as an Error (its answer
    /// lost, or its batch failed after the retries) while another copy of the same event was delivered, before or after
    /// it, is such a conflict too, not a retryable Error: sent again, it could only come back as a replay of the one
    /// recorded event and be counted as delivered twice.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentException">An event is null; nothing was sent.</exception>
    public virtual async Task<BulkUsageEventResult> SubmitUsageEventsAsync(IEnumerable<UsageEvent> usageEvents, CancellationToken cancellationToken = default)
    {
        Argument.NotNull(usageEvents);
        var pipeline = Pipeline;
        ThrowIfDisposed();
        var events = usageEvents.ToList();
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i] is null)
            {
                throw new ArgumentException(MeteringClientOptions.Format("usageEvents[{0}] is null.", i), nameof(usageEvents));
            }
        }

        var clock = Options.TimeProvider;
        var started = clock.GetTimestamp();
        var activity = MeteringTelemetry.StartOperation(BulkOperation, events.Count);
        var results = new UsageEventResult[events.Count];
        try
        {
            var submission = CreateBulkSubmission(pipeline);
            activity?.SetTag(MeteringTelemetry.CorrelationIdTag, submission.CorrelationId);
            await submission.RunAsync(events, results, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The results filed before the failure (not necessarily a prefix of the input).
            MeteringTelemetry.EndOperation(activity, BulkOperation, started, clock, [.. results.Where(r => r is not null)], e);
            throw;
        }

        MeteringTelemetry.EndOperation(activity, BulkOperation, started, clock, results, failure: null);

        return new BulkUsageEventResult(results, UsageEventSummary.Create(results));
    }

    /// <summary>
    /// Reports a stream of usage events, as <see cref="SubmitUsageEventsAsync(IEnumerable{UsageEvent}, CancellationToken)"/>
    /// does, yielding one result per event in input order as soon as it and every earlier one are known. The source is
    /// read only as fast as batches can be sent, so memory stays bounded however long the stream is; summarise the
    /// results with <see cref="UsageEventSummary.CreateAsync"/> or as you read them.
    /// </summary>
    /// <param name="usageEvents">The events. A null event ends the stream with <see cref="ArgumentException"/> (events before it may have been sent).</param>
    /// <param name="cancellationToken">Cancels the submission at once.</param>
    /// <returns>One result per event, in input order.</returns>
    /// <remarks>
    /// Repeats of one event (same resource, dimension and hour) are recognised with bounded memory: the id an event was
    /// delivered as is remembered only while a later event with its resource, dimension and hour waits for its batch. A
    /// repeat read from the stream before the earlier event's batch came back and was collected (the same event a few
    /// times in a row, say) is a conflict, as in the list overload; a repeat read later is reported as a replay whose
    /// original is the earlier event, as in a later call, and counts as delivered. Give the events as a list to have
    /// every repeat caught.
    /// </remarks>
    public virtual IAsyncEnumerable<UsageEventResult> SubmitUsageEventsAsync(IAsyncEnumerable<UsageEvent> usageEvents, CancellationToken cancellationToken = default)
    {
        Argument.NotNull(usageEvents);
        var pipeline = Pipeline;
        ThrowIfDisposed();
        return ObserveAsync(CreateBulkSubmission(pipeline), usageEvents, cancellationToken);
    }

    /// <summary>A streamed bulk submission inside one span, each result counted as it is yielded.</summary>
    private async IAsyncEnumerable<UsageEventResult> ObserveAsync(BulkSubmission submission, IAsyncEnumerable<UsageEvent> usageEvents, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var clock = Options.TimeProvider;
        var started = clock.GetTimestamp();
        var activity = MeteringTelemetry.StartOperation(BulkOperation, 0);
        activity?.SetTag(MeteringTelemetry.CorrelationIdTag, submission.CorrelationId);
        var count = 0;
        var completed = false;
        try
        {
            await foreach (var result in submission.RunAsync(usageEvents, cancellationToken).ConfigureAwait(false))
            {
                count++;
                MeteringTelemetry.Count(result);
                yield return result;
            }

            completed = true;
        }
        finally
        {
            activity?.SetTag(MeteringTelemetry.BatchSizeTag, count);
            MeteringTelemetry.EndOperation(activity, BulkOperation, started, clock, results: null, completed ? null : new OperationCanceledException("The stream of results was not read to its end."));
        }
    }

    /// <summary>
    /// Reads what the marketplace recorded (GET /api/usageEvents): one row per resource, dimension and UTC day, with
    /// the submitted and processed quantities and the reconciliation status.
    /// </summary>
    /// <param name="query">The days (<see cref="UsageEventQuery.UsageStartDate"/> is required) and optional filters.</param>
    /// <param name="cancellationToken">Cancels the call at once, retries and waits included.</param>
    /// <returns>
    /// The rows, in the service's order. The service has no paging today and answers the whole range at once; should it
    /// add paging, an <see cref="IAsyncEnumerable{T}"/> overload will follow the pages.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is null.</exception>
    /// <exception cref="ArgumentException">The query's start date is not set (<see langword="default"/>), its end date is before its start date, or a filter is set to empty or white-space text; nothing was sent.</exception>
    /// <exception cref="MeteringAuthorizationException">
    /// The service refused the caller (403, or 401 again with a fresh token), or the identity provider refused the credential.
    /// </exception>
    /// <exception cref="MeteringException">
    /// The service refused the query (400), answered something that is not the documented list of rows (the message
    /// names the first bad row and field), or did not answer after the retries (<see cref="MeteringException.IsRetryable"/>).
    /// </exception>
    public virtual async Task<IReadOnlyList<RecordedUsage>> GetUsageEventsAsync(UsageEventQuery query, CancellationToken cancellationToken = default)
    {
        Argument.NotNull(query);
        var pipeline = Pipeline;
        ThrowIfDisposed();
        if (query.UsageStartDate == default)
        {
            throw new ArgumentException("query.UsageStartDate is required: the service reports usage from that day on.", nameof(query));
        }

        if (query.UsageEndDate is { } end && end < query.UsageStartDate)
        {
            throw new ArgumentException(
                MeteringClientOptions.Format(
                    "query.UsageEndDate ({0:o}) is before query.UsageStartDate ({1:o}).",
                    end.ToUniversalTime(),
                    query.UsageStartDate.ToUniversalTime()),
                nameof(query));
        }

        // An empty filter would be left out of the query, and the service would answer every offer, plan, dimension
        // or status: a caller who passed "" (an unset setting) would read another listing than the one asked for.
        if ((EmptyFilter(query.OfferId, "OfferId", "offer")
            ?? EmptyFilter(query.PlanId, "PlanId", "plan")
            ?? EmptyFilter(query.Dimension, "Dimension", "dimension")
            ?? EmptyFilter(query.ReconStatus?.ToString(), "ReconStatus", "reconciliation status")) is { } emptyFilter)
        {
            throw new ArgumentException(emptyFilter, nameof(query));
        }

        const string Operation = "GetUsageEvents";
        var clock = Options.TimeProvider;
        var started = clock.GetTimestamp();
        var activity = MeteringTelemetry.StartOperation(Operation, 0);
        try
        {
            var request = new MeteringRequest(
                Operation,
                HttpMethod.Get,
                new Uri(_root + "/api/usageEvents" + UsageEventsQueryString(query)),
                "/api/usageEvents",
                body: null,
                eventCount: 0,
                Guid.NewGuid().ToString("D"),
                deadline: null)
            {
                MaxResponseBytes = MaxUsageReportBytes,
            };
            activity?.SetTag(MeteringTelemetry.CorrelationIdTag, request.CorrelationId);
            using var response = await pipeline.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var rows = ResponseMapper.MapUsageEvents(response, UsageEventsOperation, query);
            MeteringTelemetry.EndOperation(activity, Operation, started, clock, results: null, failure: null);
            return rows;
        }
        catch (Exception e)
        {
            MeteringTelemetry.EndOperation(activity, Operation, started, clock, results: null, e);
            throw;
        }
    }

    /// <summary>The problem with a filter that is set but empty (or white space); <see langword="null"/> when it is unset or has a value.</summary>
    private static string? EmptyFilter(string? value, string property, string what) =>
        value is not null && string.IsNullOrWhiteSpace(value)
            ? MeteringClientOptions.Format("query.{0} is empty; leave it null to list every {1}. Nothing was sent.", property, what)
            : null;

    /// <summary>The query string of GET /api/usageEvents: api-version, usageStartDate, UsageEndDate (capital U, as the service spells it) and the filters given.</summary>
    private string UsageEventsQueryString(UsageEventQuery query)
    {
        var text = new System.Text.StringBuilder("?api-version=").Append(Uri.EscapeDataString(Options.ApiVersion));
        void Add(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                text.Append('&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
            }
        }

        Add("usageStartDate", WireFormat.FormatTime(query.UsageStartDate));
        Add("UsageEndDate", query.UsageEndDate is { } end ? WireFormat.FormatTime(end) : null);
        Add("offerId", query.OfferId);
        Add("planId", query.PlanId);
        Add("dimension", query.Dimension);
        Add("azureSubscriptionId", query.AzureSubscriptionId?.ToString("D"));
        Add("reconStatus", query.ReconStatus?.ToString());
        return text.ToString();
    }

    /// <summary>A bulk submission on this client, for tests that inspect its bounds.</summary>
    internal BulkSubmission CreateBulkSubmission() => CreateBulkSubmission(Pipeline);

    private BulkSubmission CreateBulkSubmission(MeteringPipeline pipeline)
    {
        var correlationId = Guid.NewGuid().ToString("D");
        return new BulkSubmission(
            (events, cancellationToken) => SendBatchAsync(pipeline, BulkOperation, events, correlationId, cancellationToken),
            Options.TimeProvider,
            Options.MaxConcurrency,
            _logger,
            correlationId);
    }

#if NET
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
#endif
    private async ValueTask<BatchUsageEventResult> SendBatchAsync(MeteringPipeline pipeline, string operation, IReadOnlyList<UsageEvent> usageEvents, string correlationId, CancellationToken cancellationToken)
    {
        using var body = RequestWriter.Batch(usageEvents);
        var request = new MeteringRequest(
            operation,
            HttpMethod.Post,
            _batchUsageEventUri!,
            "/api/batchUsageEvent",
            body,
            usageEvents.Count,
            correlationId,
            UsageEventValidator.Deadline(usageEvents));
        using var response = await pipeline.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return ResponseMapper.MapBatch(usageEvents, response, BatchOperation, _logger);
    }

    /// <summary>Releases the connection pool this client created (not an <see cref="HttpClient"/> the caller passed in).</summary>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources.</summary>
    /// <param name="disposing"><see langword="true"/> when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _pipeline?.Dispose();
            _tokens?.Dispose();
        }
    }

    private void ThrowIfDisposed()
    {
#if NET
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
#else
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw new ObjectDisposedException(nameof(MeteringClient));
        }
#endif
    }

    private static Func<HttpClient> AlwaysThe(HttpClient httpClient) => () => httpClient;

    private static InvalidOperationException NotConstructed() =>
        new("This MeteringClient was created with the protected constructor, for mocking; set up the members a test uses, or construct it with a credential.");
}
