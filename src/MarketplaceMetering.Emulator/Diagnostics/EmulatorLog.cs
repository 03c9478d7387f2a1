using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Emulator.Diagnostics;

/// <summary>The emulator's log messages. Never logs tokens or bodies.</summary>
internal static partial class EmulatorLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Method} {Path} answered {StatusCode}")]
    public static partial void Answered(ILogger logger, string method, string path, int statusCode);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Method} {Path} processed, then the connection was dropped (fault)")]
    public static partial void Dropped(ILogger logger, string method, string path);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "{Method} {Path}: fault {Fault}")]
    public static partial void FaultApplied(ILogger logger, string method, string path, string fault);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "{Method} {Path}: the client went away before the answer")]
    public static partial void ClientGone(ILogger logger, string method, string path);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "{Method} {Path}: unexpected error, answered 500")]
    public static partial void UnexpectedError(ILogger logger, Exception exception, string method, string path);
}
