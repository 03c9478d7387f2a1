namespace MarketplaceMetering.Emulator.Wire;

/// <summary>The service's error body: <c>{"code", "message", "target", "details": [{"code", "target", "message"}]}</c>.</summary>
internal sealed record ServiceError(string Code, string Message, string? Target = null, IReadOnlyList<ServiceErrorDetail>? Details = null)
{
    /// <summary>The top-level <c>code</c> of every 400 of the metering API.</summary>
    public const string BadRequestCode = "BadArgument";

    /// <summary>The top-level <c>message</c> of every 400 of the metering API.</summary>
    public const string BadRequestMessage = "One or more errors have occurred.";

    /// <summary>The top-level <c>target</c> of every 400 of the metering API.</summary>
    public const string BadRequestTarget = "usageEventRequest";

    /// <summary>
    /// A 400 of the metering API, shaped as the documented one (a usage event without a resourceId): a generic
    /// <c>{"code": "BadArgument", "message": "One or more errors have occurred.", "target": "usageEventRequest"}</c>,
    /// and what was wrong only in its single detail, with the detail's own code, target and message.
    /// </summary>
    public static ServiceError BadRequest(string code, string message, string target) =>
        new(BadRequestCode, BadRequestMessage, BadRequestTarget, [new ServiceErrorDetail(code, target, message)]);

    /// <summary>An error whose single detail repeats it: a failed batch item's <c>error</c>, and the emulator's own admin API.</summary>
    public static ServiceError WithDetail(string code, string message, string target) =>
        new(code, message, target, [new ServiceErrorDetail(code, target, message)]);
}

/// <summary>One entry of an error's <c>details</c>.</summary>
internal sealed record ServiceErrorDetail(string Code, string Target, string Message);
