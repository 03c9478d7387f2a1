using System.Globalization;
using System.Text;
using System.Text.Json;
using MarketplaceMetering.Cli.CommandLine;

namespace MarketplaceMetering.Cli.Input;

/// <summary>
/// Reads a file of usage events: CSV with a header row, or JSON lines (one object per line), chosen by the extension
/// (<c>.csv</c>; <c>.jsonl</c>, <c>.ndjson</c>, <c>.json</c>) or else by the first character. The whole file is read and
/// checked before anything is sent; every problem is reported with its line. A file of sent events (for
/// <c>metering reconcile --sent</c>) also has a <c>status</c> column and may have <c>resourceUsageId</c>.
/// <para>
/// A file of events to send is read more than once instead of held: <see cref="CheckEvents"/> checks all of it and
/// keeps only the count, the problems and a 16-byte digest per resource, dimension and hour (for the one-event-an-hour
/// check), then <see cref="ReadEventsAgain"/> gives the events one at a time, as many times as asked. A file that
/// cannot be read twice (a pipe, <c>/dev/stdin</c>) is copied to a temporary file as it is checked, and read from there.
/// </para>
/// </summary>
/// <remarks>
/// The CSV reader is hand-written (RFC 4180: a header, commas, double quotes with "" inside them; no fields across
/// lines): the values here are ids, numbers and times, the reader needs the line number of each record for its
/// messages, and a CSV library would be a dependency of every installation of the tool for some thirty lines.
/// </remarks>
internal sealed class UsageFile : IDisposable
{
    public const int MaxReportedProblems = 10;

    /// <summary>
    /// The longest line a file may have, in characters (64 Ki; documented in docs/cli.md): an event is a few hundred.
    /// A longer line refuses the file, and is not read past this many characters: a multi-gigabyte file with no line
    /// break (a binary file, a dump given by mistake) would otherwise be read whole into memory.
    /// </summary>
    public const int MaxLineLength = 64 * 1024;

    /// <summary>
    /// UTF-8 that throws on bytes that are not UTF-8. Its preamble is what the reader skips at the start of a file (a
    /// byte order mark is allowed): the reader is not left to detect the encoding from the mark, since it then decodes
    /// with <see cref="Encoding.UTF8"/>, which turns bad bytes into U+FFFD instead of throwing.
    /// </summary>
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: true, throwOnInvalidBytes: true);

    private static readonly string[] EventColumns = ["resourceId", "resourceUri", "planId", "dimension", "quantity", "effectiveStartTime"];
    private static readonly string[] SentColumns = [.. EventColumns, "status", "resourceUsageId"];

    private readonly string _path;
    private readonly bool _sent;
    private readonly DateTimeOffset? _now;
    private readonly List<string> _problems = [];
    private readonly bool _checkHours;
    private Dictionary<UInt128, int> _hours = [];

    /// <summary>How many hour keys the one-event-an-hour check can hold now (none once the check is over).</summary>
    internal int HourKeyCapacity => _hours.EnsureCapacity(0);

    /// <summary>
    /// What each event checked was, as 8 bytes of the SHA-256 of its line number and values (see <see cref="Digest"/>):
    /// a later read of the file compares each event with it, so an event changed since it was checked (another
    /// quantity or resource on a line, in a file as long as before) is seen before it is sent or reported.
    /// </summary>
    private readonly List<ulong> _digests = [];

    /// <summary>
    /// The temporary copy of a file that cannot be read twice, read from instead of it, held open for the whole run and
    /// read through its handle, never by its name: on Unix the name is removed as soon as the copy is created, so a
    /// cleaner of the temporary folder cannot take it away mid-run, and nothing is left behind, whatever ends the
    /// process (Windows deletes it when the handle closes, the process killed or not). Closed by <see cref="Dispose"/>;
    /// <see langword="null"/> when the file itself is read again.
    /// </summary>
    private FileStream? _copy;

    /// <summary>The handle of the temporary copy read instead of a file that cannot be read twice, while there is one.</summary>
    internal Microsoft.Win32.SafeHandles.SafeFileHandle? CopyHandle => _copy?.SafeFileHandle;

    private UsageFile(string path, bool sent, DateTimeOffset? now, bool checkHours)
    {
        _path = path;
        _sent = sent;
        _now = now;
        _checkHours = checkHours;
    }

    /// <summary>How many events the file holds (all of them valid when <see cref="ProblemCount"/> is 0).</summary>
    public int EventCount { get; private set; }

    /// <summary>How many problems were found (only the first <see cref="MaxReportedProblems"/> are kept).</summary>
    public int ProblemCount { get; private set; }

    /// <summary>The first problems, each "<c>FILE:LINE: what is wrong</c>".</summary>
    public IReadOnlyList<string> Problems => _problems;

    public List<UsageLine> Lines { get; } = [];

    /// <summary>
    /// Checks events to send, keeping none of them, only their count and the problems: each must lie within the past
    /// 24 hours of <paramref name="now"/>, one per resource, dimension and hour. Dispose the result when done with
    /// <see cref="ReadEventsAgain"/>.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="now">The time the events must lie within 24 hours of.</param>
    /// <param name="temporaryFolder">Where a file that cannot be read twice is copied; the default is the user's temporary folder (TMPDIR).</param>
    /// <param name="readAgain">
    /// <see langword="false"/> when the events will not be read again (<c>--dry-run</c>): a pipe is then not copied, so
    /// a stream larger than the temporary folder's room is checked as well as any.
    /// </param>
    /// <param name="cancellationToken">Stops the check (Ctrl+C) at the next event read, with <see cref="OperationCanceledException"/>.</param>
    public static UsageFile CheckEvents(string path, DateTimeOffset now, string? temporaryFolder = null, bool readAgain = true, CancellationToken cancellationToken = default)
    {
        var file = new UsageFile(path, sent: false, now, checkHours: true);
        var copy = readAgain ? Path.Combine(temporaryFolder ?? Path.GetTempPath(), "metering-" + Guid.NewGuid().ToString("N") + ".events") : null;
        var source = Open(path) with { CopyTo = copy, Copied = stream => file._copy = stream };
        try
        {
            foreach (var line in file.Parse(source))
            {
                cancellationToken.ThrowIfCancellationRequested();
                file.EventCount++;
                file._digests.Add(Digest(line));
            }

            // The hour keys (some 50 bytes a line or more with the dictionary's slack, about what the run keeps per line) serve
            // the check only: the sending and the report, which may take hours, must not hold them.
            file._hours = [];
            file._digests.TrimExcess();
        }
        catch
        {
            file.Dispose();
            throw;
        }

        return file;
    }

    /// <summary>
    /// The events of a file <see cref="CheckEvents"/> found valid, read again one at a time, in order, with their lines.
    /// <paramref name="changed"/> is set when the file no longer reads as it did (it was changed since, or can no longer
    /// be read, which it then tells with the reason, unless a change was seen first): the events read then are the ones
    /// before the change, each the one checked at its place (same line, same values), never an event that was not
    /// checked.
    /// </summary>
    public IEnumerable<UsageLine> ReadEventsAgain(FileChange changed)
    {
        var again = new UsageFile(_path, sent: false, _now, checkHours: false);
        var count = 0;
        using var lines = again.Parse(new Source(_path, _path) { Copy = _copy?.SafeFileHandle }).GetEnumerator();
        while (true)
        {
            bool read;
            try
            {
                read = lines.MoveNext();
            }
            catch (CliException e)
            {
                // The file no longer reads as checked (a line now too long, bytes now not UTF-8): changed. It cannot be
                // opened or read at all (gone, a folder now, no permission, a device error): that, with the reason.
                read = false;
                if (!changed.Changed && e.ReadFailure is { } reason)
                {
                    changed.Unreadable = _copy is null && Directory.Exists(_path) ? "it is now a folder" : reason;
                }

                changed.Changed = true;
            }

            if (!read)
            {
                break;
            }

            if (again.ProblemCount > 0 || ++count > EventCount || Digest(lines.Current) != _digests[count - 1])
            {
                changed.Changed = true;
                yield break;
            }

            yield return lines.Current;
        }

        if (again.ProblemCount > 0 || count != EventCount)
        {
            changed.Changed = true;
        }
    }

    /// <summary>
    /// An event and its line as 8 bytes of the SHA-256 of the line number and the values sent: the resource, plan,
    /// dimension, quantity (as written: 5 and 5.0 differ) and time. A changed line matches its old digest with a chance
    /// of 2^-64.
    /// </summary>
    private static ulong Digest(UsageLine line)
    {
        var usage = line.Event;
        var text = string.Join(
            '\n',
            line.Line.ToString(CultureInfo.InvariantCulture),
            usage.ResourceUri ?? usage.ResourceId!.Value.ToString("D"),
            usage.ResourceUri is null ? "id" : "uri",
            usage.PlanId,
            usage.Dimension,
            usage.Quantity.ToString(CultureInfo.InvariantCulture),
            usage.EffectiveStartTime.UtcTicks.ToString(CultureInfo.InvariantCulture),
            usage.EffectiveStartTime.Offset.Ticks.ToString(CultureInfo.InvariantCulture));
        return TextDigest.Of64(text);
    }

    /// <summary>Closes (and so deletes) the temporary copy of a file that could not be read twice, if one was made.</summary>
    public void Dispose()
    {
        _copy?.Dispose();
        _copy = null;
    }

    /// <summary>Reads events that were sent, with their status.</summary>
    public static UsageFile ReadSent(string path)
    {
        var file = new UsageFile(path, sent: true, now: null, checkHours: false);
        file.Lines.AddRange(file.Parse(Open(path)));
        file.EventCount = file.Lines.Count;
        return file;
    }

    /// <summary>Fails with every problem found (first ones only), or when the file holds no event.</summary>
    public void ThrowIfInvalid(TextWriter error)
    {
        if (ProblemCount > 0)
        {
            foreach (var problem in _problems)
            {
                error.WriteLine("error: " + problem);
            }

            var more = ProblemCount > _problems.Count ? $" (the first {_problems.Count} are shown)" : string.Empty;
            throw new CliException($"{_path}: {ProblemCount} bad line{(ProblemCount == 1 ? string.Empty : "s")}{more}; nothing was sent.");
        }

        if (EventCount == 0)
        {
            throw new CliException($"{_path}: no events in the file; nothing was sent.");
        }
    }

    /// <summary>
    /// Where a file's lines come from: <paramref name="Path"/>, named <paramref name="Shown"/> in messages; when
    /// <paramref name="CopyTo"/> is set and the file cannot be read again (it cannot seek: a pipe, <c>/dev/stdin</c>),
    /// every byte read is also written there, to the stream given to <see cref="Copied"/> (which then owns it).
    /// With <see cref="Copy"/>, the lines are read from that handle of a copy made so, not from the path.
    /// </summary>
    private sealed record Source(string Path, string Shown, string? CopyTo = null)
    {
        public Action<FileStream>? Copied { get; init; }

        public Microsoft.Win32.SafeHandles.SafeFileHandle? Copy { get; init; }
    }

    private static Source Open(string path)
    {
        if (Directory.Exists(path))
        {
            throw new CliException($"{path}: is a folder, not a file of events; nothing was sent.");
        }

        if (!File.Exists(path))
        {
            throw new CliException($"{path}: file not found.");
        }

        return new Source(path, path);
    }

    /// <summary>The events of the file, checked one by one (problems noted, not thrown), as they are read.</summary>
    private IEnumerable<UsageLine> Parse(Source source)
    {
        var path = source.Shown;
        using var read = ReadLines(source).GetEnumerator();
        var lines = Rest(read, []);
        var extension = Path.GetExtension(path).ToLowerInvariant();
        bool json;
        if (extension == ".csv")
        {
            json = false;
        }
        else if (extension is ".jsonl" or ".ndjson" or ".json")
        {
            json = true;
        }
        else
        {
            // The first lines are read once and kept until the format is known: a pipe cannot be read from its start again.
            var blank = new List<string>();
            string? first = null;
            while (read.MoveNext())
            {
                blank.Add(read.Current);
                if (read.Current.TrimStart() is { Length: > 0 } text)
                {
                    first = text;
                    break;
                }
            }

            lines = Rest(read, blank);
            if (first is null)
            {
                throw new CliException($"{path}: the file is empty; nothing was sent.");
            }

            json = first[0] == '{';
        }

        foreach (var line in json ? ReadJsonLines(lines) : ReadCsv(lines))
        {
            yield return line;
        }
    }

    /// <summary><paramref name="read"/> lines first, then the rest of <paramref name="rest"/>.</summary>
    private static IEnumerable<string> Rest(IEnumerator<string> rest, List<string> read)
    {
        foreach (var line in read)
        {
            yield return line;
        }

        while (rest.MoveNext())
        {
            yield return rest.Current;
        }
    }

    /// <summary>
    /// The file's lines, read as UTF-8 (after a byte order mark, if any). Bytes that are not UTF-8 (a file saved as
    /// Latin-1 or Windows-1252: "dim\xE9") fail the read: decoded leniently they would become U+FFFD and be sent as
    /// another dimension or plan than the file meant.
    /// </summary>
    private static IEnumerable<string> ReadLines(Source source)
    {
        var path = source.Shown;

        // A file that cannot be opened or read (no permission, a device error) is bad input like a missing one (exit 2),
        // not a service that failed (exit 1, which a script may retry).
        StreamReader reader;
        try
        {
            Stream stream = source.Copy is { } handle
                ? new BufferedStream(new HandleStream(handle), 4096)
                : new FileStream(source.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 4096);
            if (source.CopyTo is { } copy && !stream.CanSeek)
            {
                var copyStream = CreateCopy(stream, copy, path);
                source.Copied?.Invoke(copyStream);
                stream = new CopyingStream(stream, copyStream, e => CopyFailed(path, copy, "cannot be written", e));
            }

            reader = new StreamReader(stream, StrictUtf8, detectEncodingFromByteOrderMarks: false);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new CliException($"{path}: cannot be read ({e.Message.TrimEnd('.')}). Nothing was sent.") { ReadFailure = Messages.OneLine(e.Message).TrimEnd('.') };
        }

        using var _ = reader;
        var lines = new LineReader(reader, MaxLineLength);
        var number = 0;
        while (true)
        {
            string? line;
            try
            {
                line = lines.ReadLine();
            }
            catch (LineTooLongException)
            {
                throw new CliException($"{path}:{(number + 1).ToString(CultureInfo.InvariantCulture)}: the line is longer than {MaxLineLength.ToString(CultureInfo.InvariantCulture)} characters, the most a line may have (an event takes a few hundred); is this a file of events? Nothing was sent.");
            }
            catch (DecoderFallbackException)
            {
                // The reader decodes blocks of the file, so the bad bytes are on this line or one of the next few.
                throw new CliException($"{path}: not valid UTF-8, at line {(number + 1).ToString(CultureInfo.InvariantCulture)} or shortly after it (a file saved as Latin-1 or Windows-1252?); save it as UTF-8. Nothing was sent.");
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                throw new CliException($"{path}: cannot be read at line {(number + 1).ToString(CultureInfo.InvariantCulture)} ({e.Message.TrimEnd('.')}). Nothing was sent.") { ReadFailure = Messages.OneLine(e.Message).TrimEnd('.') };
            }

            if (line is null)
            {
                yield break;
            }

            number++;
            yield return line;
        }
    }

    /// <summary>
    /// Creates the temporary copy of <paramref name="source"/>, a file that cannot be read twice: readable by this user
    /// only (it holds the publisher's usage, not for everyone on a shared /tmp), and unbuffered, so that a full disk
    /// fails the write of the bytes read, not a flush at the end that would hide which file failed.
    /// </summary>
    private static FileStream CreateCopy(Stream source, string copy, string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.None, BufferSize = 0, Options = FileOptions.DeleteOnClose };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        FileStream created;
        try
        {
            created = new FileStream(copy, options);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            source.Dispose();
            throw CopyFailed(path, copy, "cannot be created", e);
        }

        if (!OperatingSystem.IsWindows())
        {
            // Read through the handle from now on: the name goes at once (see _copy).
            File.Delete(copy);
        }

        return created;
    }

    /// <summary>
    /// The error for a temporary copy that failed: bad input's exit code (2), naming the copy and its folder, not the
    /// file given, whose reading did not fail.
    /// </summary>
    private static CliException CopyFailed(string path, string copy, string what, Exception e) =>
        new($"{path} cannot be read twice (a pipe), so it is copied to a temporary file as it is checked, and the copy {copy} {what} ({Messages.OneLine(e.Message).TrimEnd('.')}). Set TMPDIR to a writable folder with room for the file. Nothing was sent.");

    private IEnumerable<UsageLine> ReadCsv(IEnumerable<string> lines)
    {
        string[]? header = null;
        var number = 0;
        foreach (var text in lines)
        {
            number++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            var fields = SplitCsv(text, number);
            if (fields is null)
            {
                continue;
            }

            if (header is null)
            {
                header = fields.Select(f => f.Trim()).ToArray();
                if (!CheckColumns(header, number))
                {
                    yield break;
                }

                continue;
            }

            if (fields.Length != header.Length)
            {
                Problem(number, $"has {fields.Length} field{(fields.Length == 1 ? string.Empty : "s")}, the header has {header.Length}");
                continue;
            }

            var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < header.Length; i++)
            {
                if (fields[i].Trim() is { Length: > 0 } value)
                {
                    values[header[i]] = value;
                }
            }

            if (Add(number, values) is { } line)
            {
                yield return line;
            }
        }

        if (header is null)
        {
            throw new CliException($"{_path}: the file is empty (no header row); nothing was sent.");
        }
    }

    private bool CheckColumns(string[] header, int line)
    {
        var known = _sent ? SentColumns : EventColumns;
        var ok = true;
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var column in header)
        {
            if (!known.Contains(column, StringComparer.OrdinalIgnoreCase))
            {
                Problem(line, $"unknown column '{Messages.Shown(column)}'; the columns are {string.Join(", ", known)}");
                ok = false;
            }
            else if (!seen.Add(column))
            {
                Problem(line, $"column '{Messages.Shown(column)}' appears twice");
                ok = false;
            }
        }

        foreach (var required in Required())
        {
            if (!seen.Contains(required))
            {
                Problem(line, $"no '{required}' column; the columns are {string.Join(", ", known)}");
                ok = false;
            }
        }

        if (!seen.Contains("resourceId") && !seen.Contains("resourceUri"))
        {
            Problem(line, "no 'resourceId' or 'resourceUri' column");
            ok = false;
        }

        return ok;
    }

    private IEnumerable<string> Required() => _sent
        ? ["planId", "dimension", "quantity", "effectiveStartTime", "status"]
        : ["planId", "dimension", "quantity", "effectiveStartTime"];

    private string[]? SplitCsv(string text, int line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"')
                    {
                        field.Append('"');
                        i++;
                    }
                    else
                    {
                        quoted = false;
                    }
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"' && field.ToString().Trim().Length == 0)
            {
                quoted = true;
                field.Clear();
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }

        if (quoted)
        {
            Problem(line, "has a quote that is not closed");
            return null;
        }

        fields.Add(field.ToString());
        return fields.ToArray();
    }

    private IEnumerable<UsageLine> ReadJsonLines(IEnumerable<string> lines)
    {
        var number = 0;
        var any = false;
        var known = _sent ? SentColumns : EventColumns;
        foreach (var text in lines)
        {
            number++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            any = true;
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(text);
            }
            catch (JsonException)
            {
                Problem(number, "is not a JSON object (one object per line)");
                continue;
            }

            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    Problem(number, "is not a JSON object (one object per line)");
                    continue;
                }

                var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                var ok = true;
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (!known.Contains(property.Name, StringComparer.OrdinalIgnoreCase))
                    {
                        Problem(number, $"unknown property '{Messages.Shown(property.Name)}'; the properties are {string.Join(", ", known)}");
                        ok = false;
                        continue;
                    }

                    // JSON allows a name twice and the last would silently win; as with a CSV column given twice, say so.
                    if (!seen.Add(property.Name))
                    {
                        Problem(number, $"property '{Messages.Shown(property.Name)}' appears twice");
                        ok = false;
                        continue;
                    }

                    // Names compare case-insensitively, as CSV columns do: "Quantity" is the quantity.
                    var isQuantity = string.Equals(property.Name, "quantity", StringComparison.OrdinalIgnoreCase);
                    switch (property.Value.ValueKind)
                    {
                        case JsonValueKind.Null:
                            break;
                        case JsonValueKind.String:
                            if (Text(property.Value) is { } value)
                            {
                                values[property.Name] = value;
                            }
                            else
                            {
                                Problem(number, $"{property.Name} is not valid text (half a surrogate pair)");
                                ok = false;
                            }

                            break;
                        case JsonValueKind.Number when isQuantity:
                            values[property.Name] = property.Value.GetRawText();
                            break;
                        default:
                            Problem(number, $"{property.Name} is {property.Value.ValueKind.ToString().ToLowerInvariant()}, not {(isQuantity ? "a number" : "text")}");
                            ok = false;
                            break;
                    }
                }

                if (ok && Add(number, values) is { } line)
                {
                    yield return line;
                }
            }
        }

        if (!any)
        {
            throw new CliException($"{_path}: the file is empty; nothing was sent.");
        }
    }

    /// <summary>A JSON string's text; <see langword="null"/> for an escaped half of a surrogate pair (<c>\uD800</c>), valid JSON that is no string.</summary>
    private static string? Text(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Checks one record's values: its event, or <see langword="null"/> with what is wrong with it noted.</summary>
    private UsageLine? Add(int line, Dictionary<string, string> values)
    {
        var missing = Required().Where(name => !values.ContainsKey(name)).ToList();
        if (missing.Count > 0)
        {
            Problem(line, $"no value for {string.Join(", ", missing)}");
            return null;
        }

        // A NUL, a tab or an ESC (a corrupt file, a stray escape) would be sent as part of the plan or dimension: the
        // service would refuse it at best, and the line would fail after the rest was sent.
        foreach (var name in (string[])["planId", "dimension", "resourceUri"])
        {
            if (values.TryGetValue(name, out var text) && Messages.UnsafeCharacter(text) is { } unsafeCharacter)
            {
                Problem(line, $"{name} holds {unsafeCharacter}");
                return null;
            }
        }

        values.TryGetValue("resourceId", out var resourceIdText);
        values.TryGetValue("resourceUri", out var resourceUri);
        if ((resourceIdText is null) == (resourceUri is null))
        {
            Problem(line, "give exactly one of resourceId and resourceUri");
            return null;
        }

        Guid? resourceId = null;
        if (resourceIdText is not null)
        {
            if (!Guid.TryParse(resourceIdText, out var id))
            {
                Problem(line, $"resourceId '{Messages.Shown(resourceIdText)}' is not a GUID");
                return null;
            }

            resourceId = id;
        }

        var quantityText = values["quantity"];
        if (!decimal.TryParse(quantityText, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var quantity))
        {
            Problem(line, $"quantity '{Messages.Shown(quantityText)}' is not a number (use a dot for decimals: 12.5)");
            return null;
        }

        if (TimeText.ParseInstant(values["effectiveStartTime"], out var timeProblem) is not { } time)
        {
            Problem(line, "effectiveStartTime " + timeProblem);
            return null;
        }

        UsageEventStatus? status = null;
        Guid? usageId = null;
        if (_sent)
        {
            if (!Enum.TryParse<UsageEventStatus>(values["status"], ignoreCase: true, out var parsed) || int.TryParse(values["status"], out _))
            {
                Problem(line, $"status '{Messages.Shown(values["status"])}' is not one of {string.Join(", ", Enum.GetNames<UsageEventStatus>())}");
                return null;
            }

            status = parsed;
            if (values.TryGetValue("resourceUsageId", out var usageIdText))
            {
                if (!Guid.TryParse(usageIdText, out var parsedId))
                {
                    Problem(line, $"resourceUsageId '{Messages.Shown(usageIdText)}' is not a GUID");
                    return null;
                }

                usageId = parsedId;
            }
        }

        UsageEvent usage;
        try
        {
            usage = resourceId is { } guid
                ? UsageEvent.ForResourceId(guid, values["planId"], values["dimension"], quantity, time)
                : UsageEvent.ForResourceUri(resourceUri!, values["planId"], values["dimension"], quantity, time);
        }
        catch (ArgumentException e)
        {
            Problem(line, Messages.WithoutParameter(e));
            return null;
        }

        if (_now is { } now)
        {
            if (time > now)
            {
                Problem(line, $"effectiveStartTime {Format(time)} is in the future (now is {Format(now)})");
                return null;
            }

            if (time <= now.AddHours(-24))
            {
                Problem(line, $"effectiveStartTime {Format(time)} is more than 24 hours ago; the marketplace no longer accepts it");
                return null;
            }

            var key = _checkHours ? HourKey(resourceUri ?? resourceId!.Value.ToString("D"), usage.Dimension, HourOf(time)) : default;
            if (_checkHours && _hours.TryGetValue(key, out var earlier))
            {
                Problem(line, $"same resource, dimension and hour as line {earlier}; the marketplace keeps one event per hour, so sum them into one line");
                return null;
            }

            if (_checkHours)
            {
                _hours[key] = line;
            }
        }

        return new UsageLine(line, usage, status, usageId);
    }

    /// <summary>
    /// The one-event-an-hour check's key for a resource, dimension and hour (names compared ignoring case): the first 16
    /// bytes of their SHA-256, not the text, so a file of millions of lines costs some 40 bytes a line to check, not
    /// the names. Two different keys share a digest with a chance of about 2^-128 per pair: never, for a file.
    /// </summary>
    private static UInt128 HourKey(string resource, string dimension, DateTimeOffset hour)
    {
        var text = string.Concat(resource.ToUpperInvariant(), "\n", dimension.ToUpperInvariant(), "\n", hour.UtcTicks.ToString(CultureInfo.InvariantCulture));
        return TextDigest.Of128(text);
    }

    private static DateTimeOffset HourOf(DateTimeOffset time) => new(time.UtcTicks - (time.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero);

    private static string Format(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private void Problem(int line, string what)
    {
        ProblemCount++;
        if (_problems.Count < MaxReportedProblems)
        {
            _problems.Add($"{_path}:{line.ToString(CultureInfo.InvariantCulture)}: {Messages.OneLine(Messages.Shown(what, Messages.MaxProblemLength))}");
        }
    }
}

/// <summary>
/// A stream that is read as another is, writing every byte it gives to <paramref name="copy"/> (which it does not
/// own): a file that cannot be read twice (a pipe) is copied as it is checked, to be sent from the copy.
/// </summary>
internal sealed class CopyingStream(Stream source, Stream copy, Func<Exception, Exception> copyFailed) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = source.Read(buffer);
        try
        {
            copy.Write(buffer[..read]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A full disk (ENOSPC), a quota: the copy's failure, told apart from the source's.
            throw copyFailed(e);
        }

        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            source.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// Reads a file through a handle held by another, from its start, without moving anything the holder sees: each
/// reader keeps its own position (positional reads), and disposing it leaves the handle open.
/// </summary>
internal sealed class HandleStream(Microsoft.Win32.SafeHandles.SafeFileHandle handle) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = RandomAccess.Read(handle, buffer, _position);
        _position += read;
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
