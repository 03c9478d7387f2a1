namespace MarketplaceMetering.Emulator.Wire;

/// <summary>The service's error body: <c>{"code", "message", "target", "details": [{"code", "target", "message"}]}</c>.</summary>
internal sealed record ServiceError(string Code, string Message, string? Target = null, IReadOnlyList<ServiceErrorDetail>? Details = null)
{
    /// <summary>An error whose single detail repeats it, the shape most 400s have.</summary>
    public static ServiceError WithDetail(string code, string message, string target) =>
        new(code, message, target, [new ServiceErrorDetail(code, target, message)]);
}

/// <summary>One entry of an error's <c>details</c>.</summary>
internal sealed record ServiceErrorDetail(string Code, string Target, string Message);
