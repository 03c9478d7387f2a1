using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>The recorder over a SQLite ledger file that cannot be written for a while (its permissions, a read-only volume).</summary>
[Collection(AccumulationTelemetryGroup.Name)]
public sealed class SqliteLedgerFailureTests
{
    private static readonly Guid Resource = Guid.Parse("7f2e3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b");

    [SkippableFact]
    public async Task RecordAsync_LedgerFileReadOnlyAtStartThenWritable_FailsWhileReadOnlyAndWritesAgainOnceWritable()
    {
        var folder = Directory.CreateTempSubdirectory("mm-readonly-").FullName;
        var path = Path.Combine(folder, "usage.db");
        await using (var created = new SqliteUsageLedger(path))
        {
            await created.InitializeAsync();
        }

        SqliteConnection.ClearAllPools();
        Skip.IfNot(SetReadOnly(path, true), "the file cannot be made read-only here (as root, chattr +i is needed)");
        try
        {
            await using var h = await AccumulationHarness.StartAsync(ledger: new SqliteUsageLedger(path));

            var whileReadOnly = () => h.Recorder.RecordAsync(Resource, "plan", "calls", 10m, h.HourAgo(2));
            (await whileReadOnly.Should().ThrowAsync<Exception>("the caller learns that its usage was not recorded")).Which.Message.Should().Contain("readonly");
            h.Recorder.Record(Resource, "plan", "calls", 100m, h.HourAgo(2));
            await h.Recorder.Invoking(r => r.SaveAsync()).Should().ThrowAsync<Exception>();
            h.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 100 && r.Level == LogLevel.Error);

            SetReadOnly(path, false).Should().BeTrue();
            await h.Recorder.SaveAsync(); // the connection opened read-only is not used again
            await h.Recorder.RecordAsync(Resource, "plan", "calls", 1000m, h.HourAgo(2));

            (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(1100m, "what Record took while the file was read-only was kept in memory and written once it could be; the RecordAsync that failed was not recorded");
        }
        finally
        {
            SetReadOnly(path, false);
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Makes the file read-only or writable again: its mode or attribute, or (for root, whom the mode does not stop) its immutable attribute.</summary>
    private static bool SetReadOnly(string path, bool readOnly)
    {
        if (OperatingSystem.IsWindows())
        {
            File.SetAttributes(path, readOnly ? FileAttributes.ReadOnly : FileAttributes.Normal);
            return true;
        }

        if (Environment.UserName != "root")
        {
            File.SetUnixFileMode(path, readOnly ? UnixFileMode.UserRead | UnixFileMode.GroupRead : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            return true;
        }

        try
        {
            using var chattr = Process.Start(new ProcessStartInfo("chattr", [readOnly ? "+i" : "-i", path]) { RedirectStandardError = true, UseShellExecute = false })!;
            chattr.WaitForExit();
            return chattr.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no chattr
        }
    }
}
