using System.Diagnostics;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>Starts MarketplaceMetering.Accumulation.TestHost (copied next to the tests) as a child process with redirected output.</summary>
internal static class TestHostProcess
{
    public static Process Start(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MarketplaceMetering.Accumulation.TestHost.dll"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start)!;
    }
}
