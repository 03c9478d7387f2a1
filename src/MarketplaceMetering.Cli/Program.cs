using MarketplaceMetering.Cli.CommandLine;

namespace MarketplaceMetering.Cli;

/// <summary>The <c>metering</c> dotnet tool.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args) => MeteringCli.RunAsync(args, CliContext.ForConsole());
}
