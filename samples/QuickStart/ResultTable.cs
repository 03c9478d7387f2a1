using MarketplaceMetering;

namespace QuickStart;

/// <summary>Prints results as an aligned text table.</summary>
internal sealed class ResultTable
{
    private readonly List<string[]> _rows = [["Step", "Resource", "Dimension", "Hour (UTC)", "Quantity", "Outcome", "Detail"]];

    public void Add(string step, UsageEventResult result)
    {
        var e = result.Event;
        _rows.Add(
        [
            step,
            (e.ResourceUri ?? e.ResourceId!.Value.ToString())[..8] + "…",
            e.Dimension,
            e.EffectiveStartTime.UtcDateTime.ToString("MM-dd HH:00"),
            e.Quantity.ToString(System.Globalization.CultureInfo.InvariantCulture),
            result.Status.ToString(),
            Detail(result),
        ]);
    }

    public void Print(TextWriter output)
    {
        var widths = Enumerable.Range(0, _rows[0].Length).Select(c => _rows.Max(r => r[c].Length)).ToArray();
        for (var i = 0; i < _rows.Count; i++)
        {
            output.WriteLine(string.Join("  ", _rows[i].Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
            if (i == 0)
            {
                output.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
            }
        }
    }

    private static string Detail(UsageEventResult result) => result switch
    {
        UsageEventResult.Accepted a => $"usageEventId {a.UsageEventId}",
        UsageEventResult.Duplicate { IsReplay: true } d => $"replay of {d.Original!.UsageEventId}: already billed",
        UsageEventResult.Duplicate d => $"conflict: the hour holds {d.Original?.Quantity} from {d.Original?.UsageEventId}",
        UsageEventResult.Failure f => Shorten($"{f.Code}: {(f.Details.Count > 0 ? f.Details[0].Message : null) ?? f.Message}"),
        UsageEventResult.Unknown u => $"status '{u.RawStatus}'",
        _ => string.Empty,
    };

    private static string Shorten(string text) => text.Length <= 70 ? text : text[..69] + "…";
}
