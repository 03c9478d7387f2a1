using System.Globalization;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering;

/// <summary>Settings of a <see cref="MeteringClient"/>. Read once, when the client is constructed.</summary>
public sealed class MeteringClientOptions
{
    /// <summary>The service root of the public marketplace: <c>https://marketplaceapi.microsoft.com</c>.</summary>
    public static readonly Uri DefaultEndpoint = new("https://marketplaceapi.microsoft.com");

    /// <summary>The API version the client speaks: <c>2018-08-31</c>.</summary>
    public const string DefaultApiVersion = "2018-08-31";

    // Polly's timeout strategy accepts 10 ms to one day; the same limits, checked here, give the documented exception.
    private static readonly TimeSpan MinNetworkTimeout = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxNetworkTimeout = TimeSpan.FromDays(1);

    /// <summary>
    /// The service root; the client appends <c>/api/…</c>. Must be <c>https</c>, except for a loopback host
    /// (<c>localhost</c>, <c>127.0.0.1</c>, <c>::1</c>) such as the local emulator. A path prefix is kept (a gateway);
    /// a query, a fragment or user information is refused, since it would silently produce a wrong URL or a credential in it.
    /// </summary>
    /// <value>The default is <see cref="DefaultEndpoint"/>.</value>
    public Uri Endpoint { get; set; } = DefaultEndpoint;

    /// <summary>The <c>api-version</c> sent with every call.</summary>
    /// <value>The default is <see cref="DefaultApiVersion"/>.</value>
    public string ApiVersion { get; set; } = DefaultApiVersion;

    /// <summary>How transient failures (throttling, server errors, broken connections, timeouts) are retried.</summary>
    public MeteringRetryOptions Retry { get; } = new();

    /// <summary>
    /// How long one HTTP attempt (or one token fetch) may take before it is abandoned (and retried): 10 milliseconds to
    /// one day, or <see cref="Timeout.InfiniteTimeSpan"/>.
    /// </summary>
    /// <value>The default is 100 seconds.</value>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>How many batch calls a bulk submission (<c>SubmitUsageEventsAsync</c>) keeps in flight at once.</summary>
    /// <value>The default is 4.</value>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>
    /// The clock: the 24-hour window, token expiry, retry delays and timeouts are all measured with it.
    /// Tests pass a fake one to move time without sleeping.
    /// </summary>
    /// <value>The default is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the client logs requests, retries and token refreshes (never tokens or secrets).</summary>
    /// <value>The default is <see langword="null"/>: no logging.</value>
    public ILoggerFactory? LoggerFactory { get; set; }

    internal MeteringClientOptions Clone()
    {
        var copy = new MeteringClientOptions
        {
            Endpoint = Endpoint,
            ApiVersion = ApiVersion,
            NetworkTimeout = NetworkTimeout,
            MaxConcurrency = MaxConcurrency,
            TimeProvider = TimeProvider,
            LoggerFactory = LoggerFactory,
        };
        copy.Retry.MaxRetries = Retry.MaxRetries;
        copy.Retry.Delay = Retry.Delay;
        copy.Retry.MaxDelay = Retry.MaxDelay;
        return copy;
    }

    /// <summary>Throws one <see cref="ArgumentException"/> that lists every bad setting.</summary>
    internal void Validate(string paramName)
    {
        var problems = Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException(
                "The metering client options are not valid:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => " - " + p.Setting + " " + p.Problem)),
                paramName);
        }
    }

    /// <summary>
    /// Every bad setting: its name (<c>Retry.Delay</c>) and what is wrong, a phrase to follow the name ("must …"), so the
    /// constructor can name properties and dependency injection can name configuration keys.
    /// </summary>
    internal List<(string Setting, string Problem)> Problems()
    {
        var problems = new List<(string Setting, string Problem)>();
        if (EndpointRules.Check(Endpoint) is { } endpointProblem)
        {
            problems.Add((nameof(Endpoint), endpointProblem));
        }

        if (string.IsNullOrWhiteSpace(ApiVersion))
        {
            problems.Add((nameof(ApiVersion), "must not be empty; the service speaks '" + DefaultApiVersion + "'."));
        }

        if (NetworkTimeout != Timeout.InfiniteTimeSpan && (NetworkTimeout < MinNetworkTimeout || NetworkTimeout > MaxNetworkTimeout))
        {
            problems.Add((nameof(NetworkTimeout), Format("must be between {0:g} and {1:g} (or Timeout.InfiniteTimeSpan); it is {2:g}.", MinNetworkTimeout, MaxNetworkTimeout, NetworkTimeout)));
        }

        if (MaxConcurrency is < 1 or > 64)
        {
            problems.Add((nameof(MaxConcurrency), Format("must be between 1 and 64; it is {0}.", MaxConcurrency)));
        }

        if (TimeProvider is null)
        {
            problems.Add((nameof(TimeProvider), "must not be null; use TimeProvider.System."));
        }

        Retry.Validate(problems);
        return problems;
    }

    internal static string Format(string format, params object?[] args) => string.Format(CultureInfo.InvariantCulture, format, args);
}
