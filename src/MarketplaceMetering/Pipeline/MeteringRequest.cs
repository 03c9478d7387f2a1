using MarketplaceMetering.Serialization;
using Polly;

namespace MarketplaceMetering;

/// <summary>One logical call: the same ids and body on every attempt.</summary>
internal sealed class MeteringRequest
{
    public MeteringRequest(string operation, HttpMethod method, Uri uri, string path, PooledBody? body, int eventCount, string correlationId, DateTimeOffset? deadline)
    {
        Operation = operation;
        EventCount = eventCount;
        Method = method;
        Uri = uri;
        Path = path;
        Body = body;
        CorrelationId = correlationId;
        Deadline = deadline;
    }

    /// <summary>The client operation this call serves (<c>SubmitUsageEvent</c>, …), for telemetry.</summary>
    public string Operation { get; }

    /// <summary>How many events the body carries.</summary>
    public int EventCount { get; }

    public HttpMethod Method { get; }

    public Uri Uri { get; }

    /// <summary>The path, for logs and messages (no query).</summary>
    public string Path { get; }

    /// <summary>The body, the same on every attempt; the caller returns its buffer when the call is over.</summary>
    public PooledBody? Body { get; }

    /// <summary>A fresh <c>x-ms-requestid</c> per logical call, kept across its retries.</summary>
    public string RequestId { get; } = Guid.NewGuid().ToString("D");

    /// <summary>The <c>x-ms-correlationid</c> shared by the calls of one client operation.</summary>
    public string CorrelationId { get; }

    /// <summary>No retry is scheduled to start at or after this instant (the earliest event's expiry, minus a margin).</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>The largest answer read for this call (the POST answers are a few kilobytes; a usage report can be larger).</summary>
    public int MaxResponseBytes { get; init; } = MeteringPipeline.MaxResponseBytes;

    /// <summary>Attempts made so far.</summary>
    public int Attempts { get; set; }

    /// <summary>The delay chosen for the next retry by the retry predicate.</summary>
    public TimeSpan NextDelay { get; set; }

    /// <summary>Whether the call was already sent once more after a 401 (that happens once per logical call).</summary>
    public bool ResentAfter401 { get; set; }

    /// <summary>Why retrying stopped early, when it did.</summary>
    public string? StopReason { get; set; }

    /// <summary>The first attempt's outcome, when it is worth a retry: the retry pipeline takes it as its own first attempt.</summary>
    public Outcome<RawResponse>? FirstOutcome { get; set; }

    /// <summary>Returns <see cref="FirstOutcome"/> once, then <see langword="null"/>.</summary>
    public Outcome<RawResponse>? TakeFirstOutcome()
    {
        var first = FirstOutcome;
        FirstOutcome = null;
        return first;
    }
}
