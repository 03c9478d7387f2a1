using MarketplaceMetering.Emulator.Wire;

namespace MarketplaceMetering.Emulator;

/// <summary>
/// One fault to inject into one <c>/api</c> request, queued with <see cref="EmulatorFaults.Enqueue"/>. A closed
/// hierarchy: create faults with the static factories and, when inspecting one, switch on the nested types with a
/// discard arm.
/// </summary>
/// <example>
/// <code>
/// emulator.Faults.Enqueue(EmulatorFault.Throttle(TimeSpan.FromSeconds(2)), EmulatorFault.DropAfterAccept());
/// </code>
/// </example>
public abstract record EmulatorFault
{
    private protected EmulatorFault()
    {
    }

    /// <summary>Gets the fault that does nothing: the request is processed normally.</summary>
    public static EmulatorFault None { get; } = new NoFault();

    /// <summary>
    /// Answers 429 Too Many Requests with a <c>Retry-After</c> header (whole seconds, rounded up); nothing is recorded.
    /// </summary>
    /// <param name="retryAfter">
    /// The wait to advertise; <see langword="null"/> uses <see cref="EmulatorFaultSettings.ThrottleRetryAfter"/> at the
    /// time the fault is applied.
    /// </param>
    /// <returns>The fault.</returns>
    public static EmulatorFault Throttle(TimeSpan? retryAfter = null)
    {
        if (retryAfter is { } wait)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(wait, TimeSpan.Zero, nameof(retryAfter));
        }

        return new ThrottleFault(retryAfter);
    }

    /// <summary>Answers a server error with the service's error body; nothing is recorded.</summary>
    /// <param name="statusCode">500, 502, 503 or 504. <value>The default is 500.</value></param>
    /// <returns>The fault.</returns>
    public static EmulatorFault ServerError(int statusCode = 500)
    {
        if (statusCode is not (500 or 502 or 503 or 504))
        {
            throw new ArgumentOutOfRangeException(nameof(statusCode), statusCode, "A server error is 500, 502, 503 or 504.");
        }

        return new ServerErrorFault(statusCode);
    }

    /// <summary>
    /// Waits <paramref name="delay"/> of real (wall-clock) time, then processes the request normally. The wait ends
    /// early if the client goes away.
    /// </summary>
    /// <param name="delay">The added latency; zero to one day.</param>
    /// <returns>The fault.</returns>
    public static EmulatorFault Latency(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(delay, EmulatorFaultSettings.LongestLatency);
        return new LatencyFault(delay);
    }

    /// <summary>
    /// Processes and records the request normally, then aborts the connection without answering: the event is in
    /// the ledger, and the client sees a broken connection (a lost response).
    /// </summary>
    /// <returns>The fault.</returns>
    public static EmulatorFault DropAfterAccept() => new DropAfterAcceptFault();

    /// <summary>
    /// Answers with exactly this status, body and headers, whatever the request; nothing is recorded. Use it to
    /// script responses the rules never produce: malformed JSON, unknown statuses, 401, an unexpected 200.
    /// </summary>
    /// <param name="statusCode">The HTTP status, 200 to 599 (a 1xx is not a final answer).</param>
    /// <param name="body">The response body, sent as is; empty for 204, 205 and 304, which carry none.</param>
    /// <param name="headers">
    /// Headers to send; they replace the defaults of the same name (<c>Content-Type</c> is
    /// <c>application/json; charset=utf-8</c> unless given). Names are HTTP tokens; values are printable ASCII.
    /// </param>
    /// <returns>The fault.</returns>
    /// <exception cref="ArgumentException">The status, body or a header cannot be sent as an HTTP/1.1 answer.</exception>
    public static EmulatorFault Respond(int statusCode, string body, IReadOnlyDictionary<string, string>? headers = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(statusCode, 200);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(statusCode, 599);
        ArgumentNullException.ThrowIfNull(body);
        if (statusCode is 204 or 205 or 304 && body.Length > 0)
        {
            throw new ArgumentException($"A {statusCode} answer carries no body.", nameof(body));
        }

        var copy = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                ArgumentException.ThrowIfNullOrWhiteSpace(name, nameof(headers));
                if (!name.All(IsTokenCharacter))
                {
                    throw new ArgumentException($"The header name \"{name}\" is not an HTTP token.", nameof(headers));
                }

                if (value is not null && !HeaderText.CanBeSent(value))
                {
                    // A line break would split the header; the server refuses control characters and non-ASCII.
                    throw new ArgumentException($"The value of header \"{name}\" holds a character other than printable ASCII.", nameof(headers));
                }

                copy[name] = value ?? string.Empty;
            }
        }

        return new RespondFault(statusCode, body, copy);
    }

    /// <summary>A character of an HTTP token (RFC 9110 <c>tchar</c>).</summary>
    private static bool IsTokenCharacter(char c) =>
        char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);

    /// <summary>No fault: the request is processed normally.</summary>
    public sealed record NoFault : EmulatorFault
    {
        internal NoFault()
        {
        }
    }

    /// <summary>A 429 answer with a <c>Retry-After</c> header.</summary>
    public sealed record ThrottleFault : EmulatorFault
    {
        internal ThrottleFault(TimeSpan? retryAfter) => RetryAfter = retryAfter;

        /// <summary>Gets the advertised wait; <see langword="null"/> means the settings' default.</summary>
        public TimeSpan? RetryAfter { get; }
    }

    /// <summary>A 5xx answer.</summary>
    public sealed record ServerErrorFault : EmulatorFault
    {
        internal ServerErrorFault(int statusCode) => StatusCode = statusCode;

        /// <summary>Gets the status: 500, 502, 503 or 504.</summary>
        public int StatusCode { get; }
    }

    /// <summary>Added wall-clock latency before normal processing.</summary>
    public sealed record LatencyFault : EmulatorFault
    {
        internal LatencyFault(TimeSpan delay) => Delay = delay;

        /// <summary>Gets the added latency.</summary>
        public TimeSpan Delay { get; }
    }

    /// <summary>Normal processing, then a dropped connection instead of the answer.</summary>
    public sealed record DropAfterAcceptFault : EmulatorFault
    {
        internal DropAfterAcceptFault()
        {
        }
    }

    /// <summary>A scripted answer.</summary>
    public sealed record RespondFault : EmulatorFault
    {
        internal RespondFault(int statusCode, string body, IReadOnlyDictionary<string, string> headers)
        {
            StatusCode = statusCode;
            Body = body;
            Headers = headers;
        }

        /// <summary>Gets the HTTP status.</summary>
        public int StatusCode { get; }

        /// <summary>Gets the body, sent as is.</summary>
        public string Body { get; }

        /// <summary>Gets the headers to send (case-insensitive names).</summary>
        public IReadOnlyDictionary<string, string> Headers { get; }
    }
}
