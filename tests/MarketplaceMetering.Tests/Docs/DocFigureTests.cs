using System.Text.RegularExpressions;
using MarketplaceMetering.Tests.Bulk;

namespace MarketplaceMetering.Tests.Docs;

/// <summary>
/// A measured figure in the docs holds only for the options it was measured with (review of the core, item 10): every
/// paragraph of docs/ that quotes a duration in seconds states those options, or says they are the defaults.
/// </summary>
public partial class DocFigureTests
{
    [Fact]
    public void Docs_EveryTimedFigure_StatesTheOptionsItWasMeasuredWith()
    {
        var root = Repository.Root();
        var unqualified = new List<string>();
        foreach (var page in Directory.GetFiles(Path.Combine(root, "docs"), "*.md"))
        {
            foreach (var paragraph in Regex.Split(File.ReadAllText(page), @"\n\s*\n|\n(?=- )"))
            {
                // Table rows are reference (settings and their defaults), not measurements.
                var prose = string.Join("\n", paragraph.Split('\n').Where(line => !line.TrimStart().StartsWith('|')));
                if (MeasuredSeconds().IsMatch(prose) && !prose.Contains(DeliveryGuaranteeTests.ChaosOptions, StringComparison.Ordinal) && !prose.Contains("default options", StringComparison.Ordinal))
                {
                    unqualified.Add(Path.GetFileName(page) + ": " + prose.Trim());
                }
            }
        }

        unqualified.Should().BeEmpty("a figure without its options misleads (the chaos run takes far longer with the defaults)");
    }

    [Fact]
    public void ReliabilityDoc_ChaosRun_QuotesTheTestsOptionsAndAFigureForTheDefaults()
    {
        var text = File.ReadAllText(Path.Combine(Repository.Root(), "docs", "reliability.md"));

        text.Should().Contain(DeliveryGuaranteeTests.ChaosOptions);
        text.Should().MatchRegex(@"default options[^.]*\d+ s");
    }

    // A figure such as "11 s" or "90 s on 2 cores"; option values such as "Retry.Delay = 5 ms" are not figures.
    [GeneratedRegex(@"(?<!= ?)\b\d+(\.\d+)? s\b")]
    private static partial Regex MeasuredSeconds();
}
