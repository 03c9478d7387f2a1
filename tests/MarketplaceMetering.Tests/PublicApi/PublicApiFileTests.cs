using System.Text.RegularExpressions;

namespace MarketplaceMetering.Tests.PublicApi;

/// <summary>
/// The public API is declared in src/MarketplaceMetering/PublicAPI/&lt;tfm&gt;/PublicAPI.*.txt and checked by the Roslyn
/// public-API analyzer on every build (RS0016 for an undeclared public member, RS0017 for a declared one that is gone;
/// both errors). The analyzer checks each target framework against its own files; this test keeps the two files alike,
/// so net10.0 and .NET Framework users get the same API, but for the one difference the compiler imposes: a record's
/// clone method returns the record itself on net10.0 (covariant returns) and its base record on netstandard2.0.
/// </summary>
public partial class PublicApiFileTests
{
    [Fact]
    public void PublicApiFiles_OfTheTwoTargetFrameworks_DeclareTheSameApi()
    {
        var net = Declared("net10.0");
        var netStandard = Declared("netstandard2.0");

        net.Should().Contain("MarketplaceMetering.MeteringClient", "the files declare the client's API");
        net.Except(netStandard).Should().BeEmpty("an API declared for net10.0 only would be missing on .NET Framework");
        netStandard.Except(net).Should().BeEmpty("an API declared for netstandard2.0 only would be missing on net10.0");
    }

    private static HashSet<string> Declared(string targetFramework)
    {
        var folder = Path.Combine(Repository.Root(), "src", "MarketplaceMetering", "PublicAPI", targetFramework);
        return File.ReadAllLines(Path.Combine(folder, "PublicAPI.Shipped.txt"))
            .Concat(File.ReadAllLines(Path.Combine(folder, "PublicAPI.Unshipped.txt")))
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => CloneReturnType().Replace(line, "<Clone>$()"))
            .ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"<Clone>\$\(\) -> .*$")]
    private static partial Regex CloneReturnType();
}
