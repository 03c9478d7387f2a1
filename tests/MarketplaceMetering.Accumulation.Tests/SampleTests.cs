using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>samples/AspNetCoreAccumulation runs as `dotnet run` runs it: against the in-process emulator, recording per request and flushing closed hours.</summary>
public sealed class SampleTests
{
    [Fact]
    public async Task AspNetCoreAccumulation_Default_RecordsPerRequestAndFlushesTheClosedHourToTheEmulator()
    {
        var port = FreePort();
        var directory = Path.Combine(MarketplaceMetering.Tests.Repository.Root(), "samples", "AspNetCoreAccumulation", "bin", Configuration(), "net10.0");
        var data = Directory.CreateTempSubdirectory("mm-sample-").FullName;

        // A relative ledger path, as the sample's appsettings.json gives: the ledger is next to the program (the README
        // says so), not in the working directory (with `dotnet run`, the source tree).
        var ledgerFile = "mm-sample-" + Guid.NewGuid().ToString("N") + ".db";
        var start = new ProcessStartInfo("dotnet", [Path.Combine(directory, "AspNetCoreAccumulation.dll")])
        {
            WorkingDirectory = data,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["MarketplaceMetering__Accumulation__ConnectionString"] = ledgerFile;
        using var sample = Process.Start(start)!;
        var output = new StringBuilder();
        sample.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        sample.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        sample.BeginOutputReadLine();
        sample.BeginErrorReadLine();
        string Output() { lock (output) { return output.ToString(); } }

        try
        {
            await MarketplaceMetering.Tests.Eventually.HoldsAsync(() => Output().Contains("Flushed 1 hours: 1 delivered") || sample.HasExited, "the sample flushes the previous hour", TimeSpan.FromMinutes(2));
            Output().Should().Contain("Metering emulator running in this process").And.Contain("Flushed 1 hours: 1 delivered");

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var subscription = Guid.NewGuid();
            for (var i = 0; i < 3; i++)
            {
                (await http.PostAsync($"/convert/{subscription}", null)).StatusCode.Should().Be(HttpStatusCode.OK);
            }

            (await http.PostAsync("/convert/not-a-guid", null)).StatusCode.Should().Be(HttpStatusCode.NotFound);
            using var usage = JsonDocument.Parse(await http.GetStringAsync("/usage"));
            var rows = usage.RootElement.EnumerateArray().Select(r => (Resource: r.GetProperty("resource").GetString(), Quantity: r.GetProperty("quantity").GetDecimal(), State: r.GetProperty("state").GetString())).ToList();
            // The three units are in this hour's row, unless the hour turned between them (the sample runs on the real
            // clock): then the earlier ones are in the previous hour's row, which the flusher may already have sent.
            rows.Where(r => r.Resource == subscription.ToString("D")).Should().NotBeEmpty()
                .And.Subject.Sum(r => r.Quantity).Should().Be(3m, "every unit recorded is in the ledger once");
            rows.Where(r => r.Resource == subscription.ToString("D")).Select(r => r.State).Should().OnlyContain(s => s == "Open" || s == "Submitting" || s == "Accepted");
            rows.Should().Contain(("6f1e4d2c-8b3a-4c5d-9e0f-1a2b3c4d5e6f", 42m, "Accepted"));
            File.Exists(Path.Combine(directory, ledgerFile)).Should().BeTrue("the ledger is next to the program");
            Directory.GetFiles(data).Should().BeEmpty("nothing is written to the working directory");
        }
        finally
        {
            sample.Kill();
            await sample.WaitForExitAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
            foreach (var file in Directory.GetFiles(directory, ledgerFile + "*"))
            {
                File.Delete(file);
            }
        }
    }

    private static string Configuration() =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
