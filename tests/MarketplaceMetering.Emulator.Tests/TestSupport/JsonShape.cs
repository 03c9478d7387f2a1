using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace MarketplaceMetering.Emulator.Tests.TestSupport;

/// <summary>
/// The shape of a JSON value, as lines a test can compare: one per leaf, <c>path: kind</c>, properties sorted by
/// name. Kinds say what a client parses (a GUID, a time with <c>Z</c> or without an offset, an empty string, a number
/// with or without a decimal point, <c>null</c>), never the value. An array is described by its distinct element
/// shapes, so "one item names resourceId, the other resourceUri" shows as two shapes.
/// </summary>
internal static partial class JsonShape
{
    public const string TimeWithZ = "time with Z";
    public const string TimeWithoutOffset = "time without offset";

    public static IReadOnlyList<string> Of(JsonElement element) => Describe(element, "$").ToList();

    private static IEnumerable<string> Describe(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var properties = element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
                if (properties.Count == 0)
                {
                    return [path + ": {}"];
                }

                return properties.SelectMany(p => Describe(p.Value, path + "." + p.Name));

            case JsonValueKind.Array:
                var shapes = element.EnumerateArray()
                    .Select(item => string.Join("\n", Describe(item, string.Empty)))
                    .Distinct(StringComparer.Ordinal)
                    .Order(StringComparer.Ordinal)
                    .ToList();
                if (shapes.Count == 0)
                {
                    return [path + ": []"];
                }

                return shapes.SelectMany((shape, i) => shape.Split('\n').Select(line => string.Create(CultureInfo.InvariantCulture, $"{path}[shape {i + 1}]{line}")));

            default:
                return [path + ": " + Kind(element)];
        }
    }

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => StringKind(element.GetString()!),
        JsonValueKind.Number => element.GetRawText().IndexOfAny(['.', 'e', 'E']) >= 0 ? "number with a decimal point" : "whole number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => element.ValueKind.ToString(),
    };

    private static string StringKind(string text)
    {
        if (text.Length == 0)
        {
            return "empty string";
        }

        if (Guid.TryParseExact(text, "D", out _))
        {
            return "guid";
        }

        var time = IsoTime().Match(text);
        if (time.Success)
        {
            return time.Groups["offset"].Value switch
            {
                "Z" => TimeWithZ,
                "" => TimeWithoutOffset,
                _ => "time with a numeric offset",
            };
        }

        return "string";
    }

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?(?<offset>Z|[+-]\d\d:\d\d)?$")]
    private static partial Regex IsoTime();
}
