using System.IO.Compression;
using System.Xml.Linq;

namespace MarketplaceMetering.Cli.Tests.Packaging;

/// <summary>
/// The tool as users get it: packed, installed into a tool path from the local package, and run as <c>metering</c>
/// against the emulator. Slow-ish (a Release pack and an install, once per run).
/// </summary>
public class ToolInstallTests(InstalledTool tool) : IClassFixture<InstalledTool>
{
    [Fact]
    public void Pack_ToolPackage_DeclaresTheDotnetToolAndTheMeteringCommand()
    {
        using var package = ZipFile.OpenRead(Path.Combine(tool.PackageDirectory, $"{InstalledTool.PackageId}.{InstalledTool.Version}.nupkg"));
        var nuspec = XDocument.Load(package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        var types = nuspec.Descendants().Where(e => e.Name.LocalName == "packageType").Select(e => e.Attribute("name")!.Value);
        types.Should().Contain("DotnetTool");
        var settings = XDocument.Load(package.Entries.Single(e => e.FullName.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal)).Open());
        settings.Descendants("Command").Single().Attribute("Name")!.Value.Should().Be("metering");
        package.Entries.Should().Contain(e => e.FullName == "tools/net10.0/any/metering.dll");
    }

    [Fact]
    public async Task InstalledTool_Help_ListsTheCommands()
    {
        var run = await ToolProcess.RunAsync(tool.Command, ["--help"]);

        run.ExitCode.Should().Be(0, run.ToString());
        run.Out.Should().Contain("emit").And.Contain("batch").And.Contain("usage").And.Contain("reconcile").And.Contain("emulator");
    }

    [Fact]
    public async Task InstalledTool_Emit_ReportsTheEventToTheEmulator()
    {
        await using var scope = await EmulatorScope.StartAsync();

        var run = await ToolProcess.RunAsync(
            tool.Command,
            ["emit", "--resource-id", EmulatorScope.Resource(0).ToString(), "--plan", "plan1", "--dimension", "dim1", "--quantity", "3", "--json"],
            new Dictionary<string, string> { ["METERING_ENDPOINT"] = scope.Emulator.Endpoint.ToString(), ["METERING_TOKEN"] = EmulatorScope.Token });

        run.ExitCode.Should().Be(0, run.ToString());
        run.Out.Should().Contain("\"status\":\"Accepted\"");
        scope.Emulator.Ledger.Entries.Should().ContainSingle().Which.Quantity.Should().Be(3m);
    }

    [Fact]
    public async Task InstalledTool_BadArgument_ExitsTwoWithOneLine()
    {
        var run = await ToolProcess.RunAsync(tool.Command, ["emit", "--plan", "p", "--dimension", "d", "--quantity", "1", "--resource-id", "nope", "--token", "t"]);

        run.ExitCode.Should().Be(2, run.ToString());
        run.Error.Trim().Should().Be("error: --resource-id 'nope' is not a GUID.");
    }
}
