using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace MarketplaceMetering.Tests;

/// <summary>Small helpers over Microsoft.Extensions.Diagnostics.Testing's <see cref="FakeLogger"/> and <see cref="FakeLogCollector"/>.</summary>
internal static class FakeLogging
{
    /// <summary>A logger factory at the finest level whose every logger is a <see cref="FakeLogger"/> writing to <paramref name="collector"/>.</summary>
    public static ILoggerFactory CreateFactory(FakeLogCollector collector) =>
        LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(collector)));

    /// <summary>
    /// Everything a record carries, on one line, for tests that search every log for a secret: level, category, the
    /// formatted message, the structured state (each key and value), the scopes and the exception (with its inner ones).
    /// </summary>
    public static string Render(this FakeLogRecord record)
    {
        var state = record.State is IEnumerable<KeyValuePair<string, string?>> pairs
            ? string.Join(";", pairs.Select(p => p.Key + "=" + p.Value))
            : record.State?.ToString();
        return $"{record.Level} {record.Category} {record.Message} [{state}] [{string.Join(";", record.Scopes)}] {record.Exception}";
    }
}
