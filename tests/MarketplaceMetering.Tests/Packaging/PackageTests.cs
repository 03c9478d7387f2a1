using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;
using System.Xml.Linq;

namespace MarketplaceMetering.Tests.Packaging;

/// <summary>
/// Opens the .nupkg and .snupkg that <c>dotnet pack -c Release</c> makes of each shipping project (see
/// <see cref="PackedPackages"/>) and checks what a NuGet user gets: metadata, dependencies per target framework, the
/// files (and nothing else: no test assemblies or assets), and symbols that debuggers can match and fetch sources for.
/// Slow-ish (two Release builds, about a minute); it runs on every test run, CI included.
/// </summary>
public partial class PackageTests(PackedPackages packages) : IClassFixture<PackedPackages>
{
    public const string Version = "0.1.0";

    private const string RepositoryUrl = "https://github.com/marketplace-metering/marketplace-metering";

    /// <summary>What each package must hold. A new dependency or file is a change to review, like a public API change.</summary>
    private static readonly Dictionary<string, PackageShape> Expected = new()
    {
        ["MarketplaceMetering"] = new(
            LibraryFolders: ["net10.0", "netstandard2.0"],
            Dependencies: new()
            {
                ["net10.0"] =
                [
                    "Azure.Core", "Azure.Identity", "Microsoft.Extensions.Logging.Abstractions", "Microsoft.Identity.Client", "Polly.Core",
                    "Microsoft.Extensions.Http", "Microsoft.Extensions.Options", "Microsoft.Extensions.Configuration.Abstractions",
                ],
                [".NETStandard2.0"] =
                [
                    "Azure.Core", "Azure.Identity", "Microsoft.Extensions.Logging.Abstractions", "Microsoft.Identity.Client", "Polly.Core",
                    "Microsoft.Extensions.Http", "Microsoft.Extensions.Options", "Microsoft.Extensions.Configuration.Abstractions",
                    "Microsoft.Bcl.AsyncInterfaces", "Microsoft.Bcl.TimeProvider", "System.ComponentModel.Annotations", "System.Text.Json",
                    "System.Diagnostics.DiagnosticSource", "System.Threading.Channels",
                ],
            },
            FrameworkReferences: [],
            PublicType: "MarketplaceMetering.MeteringClient",
            ExtraLibraryFiles: []),
        ["MarketplaceMetering.Emulator"] = new(
            LibraryFolders: ["net10.0"],
            Dependencies: new() { ["net10.0"] = ["Azure.Core"] },
            FrameworkReferences: ["Microsoft.AspNetCore.App"],
            PublicType: "MarketplaceMetering.Emulator.MeteringEmulator",
            // The emulator is also a program: the SDK packs its runtimeconfig, so `dotnet MarketplaceMetering.Emulator.dll`
            // runs from a consumer's output folder.
            ExtraLibraryFiles: ["lib/net10.0/MarketplaceMetering.Emulator.runtimeconfig.json"]),
        ["MarketplaceMetering.Accumulation"] = new(
            LibraryFolders: ["net10.0"],
            Dependencies: new()
            {
                ["net10.0"] =
                [
                    "MarketplaceMetering", "Microsoft.Data.Sqlite", "Microsoft.Extensions.Hosting.Abstractions", "Microsoft.Extensions.DependencyInjection.Abstractions",
                    "Microsoft.Extensions.Options", "Microsoft.Extensions.Logging.Abstractions", "Microsoft.Extensions.Configuration.Abstractions",
                ],
            },
            FrameworkReferences: [],
            PublicType: "MarketplaceMetering.UsageRecorder",
            ExtraLibraryFiles: []),
        ["MarketplaceMetering.Accumulation.PostgreSql"] = new(
            LibraryFolders: ["net10.0"],
            Dependencies: new() { ["net10.0"] = ["MarketplaceMetering.Accumulation", "Npgsql", "Microsoft.Extensions.Options"] },
            FrameworkReferences: [],
            PublicType: "MarketplaceMetering.PostgreSqlUsageLedger",
            ExtraLibraryFiles: []),
    };

    public static TheoryData<string> PackageIds => new(PackedPackages.Projects.Keys);

    [Theory]
    [MemberData(nameof(PackageIds))]
    public async Task Pack_Nuspec_DeclaresIdVersionAuthorsLicenseReadmeAndRepository(string id)
    {
        var metadata = Nuspec(id).Element(Name("metadata"))!;

        Value(metadata, "id").Should().Be(id);
        Value(metadata, "version").Should().Be(Version);
        Value(metadata, "authors").Should().Be("MarketplaceMetering contributors");
        Value(metadata, "description").Should().NotBeNullOrWhiteSpace();
        Value(metadata, "projectUrl").Should().Be(RepositoryUrl);
        Value(metadata, "readme").Should().Be("README.md");
        var license = metadata.Element(Name("license"))!;
        license.Attribute("type")!.Value.Should().Be("expression");
        license.Value.Should().Be("MIT");

        var repository = metadata.Element(Name("repository"))!;
        repository.Attribute("type")!.Value.Should().Be("git");
        repository.Attribute("url")!.Value.Should().Be(RepositoryUrl);
        (repository.Attribute("commit")?.Value).Should().Be(await GitHeadAsync(), "a package built from a clone names its commit");
    }

    [Theory]
    [MemberData(nameof(PackageIds))]
    public void Pack_Nuspec_DependsPerTargetFrameworkOnTheCentrallyPinnedProductPackagesOnly(string id)
    {
        var expected = Expected[id];
        var metadata = Nuspec(id).Element(Name("metadata"))!;
        var pinned = CentralVersions();

        var groups = metadata.Element(Name("dependencies"))!.Elements(Name("group")).ToDictionary(
            g => g.Attribute("targetFramework")!.Value,
            g => g.Elements(Name("dependency")).Select(d => $"{d.Attribute("id")!.Value} {d.Attribute("version")!.Value}").Order(StringComparer.Ordinal).ToList());

        groups.Should().BeEquivalentTo(
            expected.Dependencies.ToDictionary(g => g.Key, g => g.Value.Select(p => $"{p} {(pinned.TryGetValue(p, out var v) ? v : Version)}").Order(StringComparer.Ordinal).ToList()), // our own packages at this version
            o => o.WithStrictOrdering(),
            "each target framework depends on the product packages at the versions of Directory.Packages.props, and on no build-only package");
        metadata.Descendants(Name("frameworkReference")).Select(f => f.Attribute("name")!.Value).Distinct()
            .Should().BeEquivalentTo(expected.FrameworkReferences);
    }

    [Theory]
    [MemberData(nameof(PackageIds))]
    public void Pack_Package_HoldsTheReadmeAndEachFrameworksAssemblyWithDocs_AndNothingElse(string id)
    {
        var expected = Expected[id];
        using var package = packages.Open(id, "nupkg");

        Files(package).Should().BeEquivalentTo(
            new[] { $"{id}.nuspec", "README.md" }
                .Concat(expected.LibraryFolders.SelectMany(tfm => new[] { $"lib/{tfm}/{id}.dll", $"lib/{tfm}/{id}.xml" }))
                .Concat(expected.ExtraLibraryFiles),
            "a package holds its own assemblies, docs and README only: no test assemblies or test assets");
        foreach (var tfm in expected.LibraryFolders)
        {
            Encoding.UTF8.GetString(Read(package, $"lib/{tfm}/{id}.xml")).Should().Contain($"<member name=\"T:{expected.PublicType}\">");
        }
    }

    [Theory]
    [MemberData(nameof(PackageIds))]
    public void Pack_Readme_IsTheRepositorysWithEveryRelativeLinkMadeAbsolute(string id)
    {
        using var package = packages.Open(id, "nupkg");
        var packed = Encoding.UTF8.GetString(Read(package, "README.md")).ReplaceLineEndings("\n").TrimEnd();
        var source = File.ReadAllText(Path.Combine(Repository.Root(), "README.md")).ReplaceLineEndings("\n").TrimEnd();

        // nuget.org shows the README alone, where docs/cli.md or LICENSE lead nowhere.
        MarkdownLinks().Matches(packed).Select(m => m.Groups["target"].Value)
            .Should().NotBeEmpty().And.OnlyContain(target => target.StartsWith("https://", StringComparison.Ordinal) || target.StartsWith('#'));
        var links = MarkdownLinks().Matches(source).Select(m => m.Groups["target"].Value).Where(t => !t.StartsWith("https://", StringComparison.Ordinal) && !t.StartsWith('#')).ToList();
        links.Should().Contain("docs/cli.md").And.Contain("LICENSE");
        packed.Should().Be(MarkdownLinks().Replace(source, m => links.Contains(m.Groups["target"].Value) ? $"]({RepositoryUrl}/blob/main/{m.Groups["target"].Value})" : m.Value));
    }

    [Theory]
    [MemberData(nameof(PackageIds))]
    public async Task Pack_SymbolPackage_HoldsSourceLinkedPdbsMatchingTheAssemblies(string id)
    {
        var expected = Expected[id];
        using var package = packages.Open(id, "nupkg");
        using var symbols = packages.Open(id, "snupkg");
        var commit = await GitHeadAsync();

        Files(symbols).Should().BeEquivalentTo(new[] { $"{id}.nuspec" }.Concat(expected.LibraryFolders.Select(tfm => $"lib/{tfm}/{id}.pdb")));
        foreach (var tfm in expected.LibraryFolders)
        {
            using var assembly = new PEReader(new MemoryStream(Read(package, $"lib/{tfm}/{id}.dll")));
            using var pdb = MetadataReaderProvider.FromPortablePdbStream(new MemoryStream(Read(symbols, $"lib/{tfm}/{id}.pdb")));
            var reader = pdb.GetMetadataReader();

            var codeView = assembly.ReadCodeViewDebugDirectoryData(assembly.ReadDebugDirectory().Single(e => e.Type == DebugDirectoryEntryType.CodeView));
            new BlobContentId(reader.DebugMetadataHeader!.Id).Guid.Should().Be(codeView.Guid, "the PDB of {0} must be the one built with it", tfm);
            var documents = reader.Documents.Select(d => reader.GetString(reader.GetDocument(d).Name)).ToList();
            documents.Should().Contain(d => d.StartsWith($"/_/src/{id}/", StringComparison.Ordinal));
            documents.Should().OnlyContain(d => d.StartsWith("/_/", StringComparison.Ordinal), "a CI build maps every source path to /_/, so no machine path ships");
            SourceLink(reader).Should().Be(
                commit is null ? null : $"{{\"documents\":{{\"/_/*\":\"https://raw.githubusercontent.com/marketplace-metering/marketplace-metering/{commit}/*\"}}}}",
                "debuggers fetch the sources of the commit the package was built from");
        }
    }

    private XElement Nuspec(string id)
    {
        using var package = packages.Open(id, "nupkg");
        return XDocument.Load(new MemoryStream(Read(package, $"{id}.nuspec"))).Root!;
    }

    private static XName Name(string localName) => XName.Get(localName, "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd");

    private static string? Value(XElement metadata, string name) => metadata.Element(Name(name))?.Value;

    /// <summary>The entries of a package less the ones every zip made by NuGet has (its OPC bookkeeping).</summary>
    private static List<string> Files(ZipArchive archive) => archive.Entries
        .Select(e => e.FullName)
        .Where(n => n is not "[Content_Types].xml" and not "_rels/.rels" && !n.StartsWith("package/services/metadata/", StringComparison.Ordinal))
        .ToList();

    private static byte[] Read(ZipArchive archive, string name)
    {
        var entry = archive.GetEntry(name) ?? throw new InvalidOperationException($"{name} is not in the package");
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string? SourceLink(MetadataReader reader)
    {
        var sourceLinkKind = new Guid("CC110556-A091-4D38-9FEC-25AB9A351A6A");
        return reader.CustomDebugInformation
            .Select(reader.GetCustomDebugInformation)
            .Where(c => reader.GetGuid(c.Kind) == sourceLinkKind)
            .Select(c => Encoding.UTF8.GetString(reader.GetBlobBytes(c.Value)))
            .SingleOrDefault();
    }

    private static Dictionary<string, string> CentralVersions() =>
        XDocument.Load(Path.Combine(Repository.Root(), "Directory.Packages.props"))
            .Descendants("PackageVersion")
            .ToDictionary(p => p.Attribute("Include")!.Value, p => p.Attribute("Version")!.Value);

    /// <summary>The commit checked out, or null when the sources are not a git clone.</summary>
    private static async Task<string?> GitHeadAsync() =>
        Path.Exists(Path.Combine(Repository.Root(), ".git")) ? (await PackedPackages.RunAsync("git", "rev-parse", "HEAD")).Trim() : null;

    private sealed record PackageShape(
        string[] LibraryFolders,
        Dictionary<string, string[]> Dependencies,
        string[] FrameworkReferences,
        string PublicType,
        string[] ExtraLibraryFiles);

    [System.Text.RegularExpressions.GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial System.Text.RegularExpressions.Regex MarkdownLinks();
}
