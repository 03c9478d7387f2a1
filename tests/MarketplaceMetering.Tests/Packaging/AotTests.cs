using System.Diagnostics;
using System.Runtime.InteropServices;
using MarketplaceMetering.Emulator;

namespace MarketplaceMetering.Tests.Packaging;

/// <summary>
/// The core package is marked <c>IsAotCompatible</c>, and its build runs the trimming and AOT analyzers. This goes
/// further, as a user's app would: <c>tests/MarketplaceMetering.Aot.TestHost</c> is published with native AOT (every
/// trimming and AOT warning an error, the compiler's own included), and the native program sends a single event, a
/// batch and a bulk submission to the emulator and reads the usage back. Linux x64 only (where CI links with gcc);
/// about a minute.
/// </summary>
public sealed class AotTests
{
    [SkippableFact]
    public async Task PublishAot_NoWarnings_AndTheNativeClientSendsAndReadsUsage()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && RuntimeInformation.OSArchitecture == Architecture.X64, "native AOT is published and run on Linux x64 only");
        var root = Path.Combine(AppContext.BaseDirectory, "aot-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var output = await PackedPackages.RunAsync(
                "dotnet",
                "publish",
                "tests/MarketplaceMetering.Aot.TestHost/MarketplaceMetering.Aot.TestHost.csproj",
                "-c",
                "Release",
                "-r",
                "linux-x64",
                "-o",
                Path.Combine(root, "out"),
                "--artifacts-path",
                Path.Combine(root, "artifacts"),
                "-p:TreatWarningsAsErrors=true",
                "-nodeReuse:false");
            output.Split('\n').Where(line => line.Contains("warning", StringComparison.OrdinalIgnoreCase)).Should().BeEmpty("trimming or AOT warnings mean code that may break once compiled ahead of time");

            await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { Token = "aot-token" });
            var program = new ProcessStartInfo(Path.Combine(root, "out", "MarketplaceMetering.Aot.TestHost"))
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            program.ArgumentList.Add(emulator.Endpoint.ToString());
            program.ArgumentList.Add("aot-token");
            using var process = Process.Start(program)!;
            var printed = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));

            process.ExitCode.Should().Be(0, "the native program printed: {0} {1}", await printed, await errors);
            (await printed).Should().Contain("single: Accepted").And.Contain("again: Duplicate").And.Contain("usage rows: 33");
            emulator.Ledger.Count.Should().Be(33);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
