using System.Text.Json.Serialization;

namespace MarketplaceMetering.Serialization;

// The service's answers, as documented and as recorded in production. Fields that hostile or odd answers could send
// with surprising content (ids, times, statuses) are read as strings and parsed by ResponseMapper, so one odd
// value degrades one result instead of failing the whole answer. Request bodies have no models here: RequestWriter
// writes them with a Utf8JsonWriter into a pooled buffer.

/// <summary>The 200 body of POST /api/usageEvent, an item of a batch answer, or an <c>acceptedMessage</c>.</summary>
internal sealed class UsageEventResponseDto
{
    public string? UsageEventId { get; set; }

    public string? Status { get; set; }

    public string? MessageTime { get; set; }

    public string? ResourceId { get; set; }

    public string? ResourceUri { get; set; }

    public double? Quantity { get; set; }

    public string? Dimension { get; set; }

    public string? EffectiveStartTime { get; set; }

    public string? PlanId { get; set; }

    public ErrorDto? Error { get; set; }

    /// <summary>The status as raw JSON when it was not text (tolerant path only).</summary>
    [JsonIgnore]
    public string? RawStatus { get; set; }

    /// <summary>What could not be read in this item (tolerant path only); <see langword="null"/> when it was read whole.</summary>
    [JsonIgnore]
    public string? Problem { get; set; }
}

/// <summary>The 200 body of POST /api/batchUsageEvent.</summary>
internal sealed class BatchUsageEventResponseDto
{
    public int? Count { get; set; }

    public List<UsageEventResponseDto?>? Result { get; set; }
}

/// <summary>An error: the body of a 400, 403 or 409, or the <c>error</c> of a batch item.</summary>
internal sealed class ErrorDto
{
    public string? Code { get; set; }

    public string? Message { get; set; }

    public string? Target { get; set; }

    public List<ErrorDetailDto?>? Details { get; set; }

    public AdditionalInfoDto? AdditionalInfo { get; set; }
}

/// <summary>One entry of an error's <c>details</c>.</summary>
internal sealed class ErrorDetailDto
{
    public string? Code { get; set; }

    public string? Message { get; set; }

    public string? Target { get; set; }
}

/// <summary>The <c>additionalInfo</c> of a Duplicate: the originally accepted event.</summary>
internal sealed class AdditionalInfoDto
{
    public UsageEventResponseDto? AcceptedMessage { get; set; }
}

/// <summary>Source-generated serialization for the wire models: no reflection at run time.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = true,
    NumberHandling = JsonNumberHandling.AllowReadingFromString,
    MaxDepth = 32)]
[JsonSerializable(typeof(UsageEventResponseDto))]
[JsonSerializable(typeof(BatchUsageEventResponseDto))]
[JsonSerializable(typeof(ErrorDto))]
internal sealed partial class MeteringJsonContext : JsonSerializerContext
{
}
