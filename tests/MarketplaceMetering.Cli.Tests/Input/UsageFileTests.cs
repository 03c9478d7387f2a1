using System.Text;
using MarketplaceMetering.Cli.Input;

namespace MarketplaceMetering.Cli.Tests.Input;

public class UsageFileTests
{
    [Fact]
    public void CheckEvents_AFileOfManyHours_KeepsNoHourKeyOnceChecked()
    {
        // The one-event-an-hour check keeps a key per line (some 50 bytes with the dictionary's slack); the file object
        // lives through the sending and the report, and held them all: 10 million lines, half a gigabyte, for nothing.
        var folder = Directory.CreateTempSubdirectory("metering-usagefile-");
        try
        {
            var now = new DateTimeOffset(2026, 12, 4, 12, 30, 0, TimeSpan.Zero);
            var text = new StringBuilder("resourceId,planId,dimension,quantity,effectiveStartTime\n");
            for (var i = 0; i < 1_000; i++)
            {
                text.Append(System.Globalization.CultureInfo.InvariantCulture, $"6f1a2b3c-0000-4000-8000-{i + 1:D12},plan1,dim1,5,2026-12-04T11:00:00Z\n");
            }

            var path = Path.Combine(folder.FullName, "events.csv");
            File.WriteAllText(path, text.ToString());

            using var file = UsageFile.CheckEvents(path, now);

            file.EventCount.Should().Be(1_000);
            file.HourKeyCapacity.Should().Be(0);
            var changed = new FileChange();
            file.ReadEventsAgain(changed).Should().HaveCount(1_000);
            changed.Changed.Should().BeFalse();
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [SkippableFact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task CheckEvents_FromAPipe_CopiesItToAFileOnlyThisUserCanReadWithNoNameAndClosesItOnDispose()
    {
        // The copy of a pipe holds the publisher's usage (resources, plans, quantities): on a shared /tmp, a copy made with
        // the default mode (0644 under the usual umask) could be read by every user of the machine. Its name is removed as
        // soon as it is made (it is read through its handle): a cleaner of /tmp cannot take it away mid-run, and a killed
        // run leaves nothing behind.
        Skip.IfNot(OperatingSystem.IsLinux(), "makes a named pipe with mkfifo");
        var folder = Directory.CreateTempSubdirectory("metering-usagefile-");
        try
        {
            var pipe = Path.Combine(folder.FullName, "events");
            using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", pipe))
            {
                await mkfifo.WaitForExitAsync();
            }

            var now = new DateTimeOffset(2026, 12, 4, 12, 30, 0, TimeSpan.Zero);
            var writer = Task.Run(async () =>
            {
                await using var stream = new FileStream(pipe, FileMode.Open, FileAccess.Write);
                await stream.WriteAsync(Encoding.UTF8.GetBytes(
                    "resourceId,planId,dimension,quantity,effectiveStartTime\n6f1a2b3c-0000-4000-8000-000000000001,plan1,dim1,5,2026-12-04T11:00:00Z\n"));
            });

            var temporary = folder.CreateSubdirectory("tmp").FullName;
            var file = await Task.Run(() => UsageFile.CheckEvents(pipe, now, temporary)).WaitAsync(TimeSpan.FromSeconds(30));
            await writer;
            Microsoft.Win32.SafeHandles.SafeFileHandle copy;
            using (file)
            {
                file.EventCount.Should().Be(1);
                copy = file.CopyHandle!;
                copy.Should().NotBeNull("a pipe cannot be read twice");
                File.GetUnixFileMode(copy).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
                Directory.GetFileSystemEntries(temporary).Should().BeEmpty("the copy has no name");
                var changed = new FileChange();
                file.ReadEventsAgain(changed).Should().ContainSingle().Which.Event.Quantity.Should().Be(5);
                changed.Changed.Should().BeFalse();
            }

            copy.IsClosed.Should().BeTrue("the copy is closed (and so deleted) with the file");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
