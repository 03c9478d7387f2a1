using MarketplaceMetering.Cli.Input;

namespace MarketplaceMetering.Cli.Output;

/// <summary>A usage event's result as the tool prints it in JSON (and, column by column, in tables).</summary>
internal sealed record ResultView(
    int? Line,
    string Status,
    bool Delivered,
    string Resource,
    string PlanId,
    string Dimension,
    decimal Quantity,
    string EffectiveStartTime,
    Guid? UsageEventId,
    string? Code,
    string? Message,
    string? RequestId)
{
    public static ResultView Of(UsageEventResult result, int? line = null)
    {
        var usage = result.Event;
        var (code, message, id) = result switch
        {
            UsageEventResult.Accepted accepted => (null, null, accepted.UsageEventId),
            UsageEventResult.Duplicate { IsReplay: true } replay => (null, "A retry of an event already recorded (a replay): delivered.", replay.Original?.UsageEventId),
            UsageEventResult.Duplicate conflict => ("Conflict", conflict.Original is { } original
                ? $"The hour was already recorded with quantity {OutputNumber(original.Quantity)}; this event's quantity was not recorded."
                : "The hour was already recorded; what the service holds is unknown.", conflict.Original?.UsageEventId),
            UsageEventResult.Failure failure => (failure.Code, failure.Message, (Guid?)null),
            UsageEventResult.Unknown unknown => (unknown.Code ?? unknown.RawStatus, unknown.Message, (Guid?)null),
            _ => ((string?)null, (string?)null, (Guid?)null),
        };

        return For(
            line,
            usage,
            result is UsageEventResult.Unknown u ? u.RawStatus : result.Status.ToString(),
            result.IsDelivered,
            id,
            code,
            message is null ? null : CommandLine.Messages.OneLine(message),
            result.RequestId);
    }

    public static ResultView Of(UsageEventResult result, UsageLine line) => Of(result, line.Line);

    /// <summary>A line's result from what was kept of it (its status, id, code, message) and its event, read again.</summary>
    public static ResultView Of(UsageLine line, string status, bool delivered, Guid? usageEventId, string? code, string? message, string? requestId) =>
        For(line.Line, line.Event, status, delivered, usageEventId, code, message, requestId);

    /// <summary>
    /// What a line says whose event is another line's given again under another name (a managed application by resource
    /// URI and by resource usage id): a conflict, the other line recorded with <paramref name="recordedQuantity"/>.
    /// </summary>
    public static string RepeatMessage(int recordedLine, decimal recordedQuantity) =>
        $"The same event as line {recordedLine.ToString(System.Globalization.CultureInfo.InvariantCulture)} (the resource under another name), which the service recorded for this hour with quantity {OutputNumber(recordedQuantity)}; this line's quantity was not recorded again.";

    private static ResultView For(int? line, UsageEvent usage, string status, bool delivered, Guid? usageEventId, string? code, string? message, string? requestId) =>
        new(
            line,
            status,
            delivered,
            usage.ResourceUri ?? usage.ResourceId!.Value.ToString("D"),
            usage.PlanId,
            usage.Dimension,
            usage.Quantity,
            CliOutput.Time(usage.EffectiveStartTime),
            usageEventId,
            code,
            message,
            requestId);

    private static string OutputNumber(decimal value) => CliOutput.Number(value);
}
