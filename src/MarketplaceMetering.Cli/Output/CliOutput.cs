using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using MarketplaceMetering.Cli.CommandLine;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace MarketplaceMetering.Cli.Output;

/// <summary>
/// Where a command writes: Spectre.Console tables for people (colours off when output is redirected or NO_COLOR is
/// set), or JSON for scripts (<c>--json</c>).
/// </summary>
internal sealed class CliOutput
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly CliContext _context;

    public CliOutput(CliContext context, bool json)
    {
        _context = context;
        Json = json;
        // https://no-color.org: present and not empty switches colours off, as does output to a file or pipe.
        var plain = context.IsOutputRedirected || context.Environment("NO_COLOR") is { Length: > 0 };
        var terminal = context.ColorTerminal == true;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = context.Out is OutputWriter guarded ? new GuardedConsoleOutput(guarded) : new AnsiConsoleOutput(context.Out),
            Ansi = plain ? AnsiSupport.No : terminal ? AnsiSupport.Yes : AnsiSupport.Detect,
            ColorSystem = plain ? ColorSystemSupport.NoColors : terminal ? ColorSystemSupport.Standard : ColorSystemSupport.Detect,
            Interactive = context.IsOutputRedirected ? InteractionSupport.No : terminal ? InteractionSupport.Yes : InteractionSupport.Detect,
        });
        if (context.IsOutputRedirected)
        {
            Console.Profile.Width = context.RedirectedWidth;
        }
    }

    public IAnsiConsole Console { get; }

    public bool Json { get; }

    /// <summary>
    /// What the command did before it writes its output ("3 of 3 events delivered"), for the error line when standard
    /// output cannot be written: the work is done by then, and the error must not read as if it were not.
    /// </summary>
    public string? Outcome { get; set; }

    /// <summary>Whether a progress bar may be drawn: a terminal, and not JSON.</summary>
    public bool ShowsProgress => !Json && !_context.IsOutputRedirected;

    public TextWriter Error => _context.Error;

    public void WriteJson<T>(T value)
    {
        _context.Out.WriteLine(JsonSerializer.Serialize(value, JsonOptions));
    }

    /// <summary>
    /// Writes <paramref name="value"/> with one more property, <paramref name="name"/>, last: the array of
    /// <paramref name="items"/>, written one by one as they are enumerated (a file's results are not held). The same
    /// one line as <see cref="WriteJson{T}(T)"/> of an object whose last property is that array.
    /// </summary>
    public void WriteJson<T, TItem>(T value, string name, IEnumerable<TItem> items)
    {
        var head = JsonSerializer.Serialize(value, JsonOptions);
        var writer = _context.Out;
        writer.Write(head.AsSpan(0, head.Length - 1));
        writer.Write(head.Length > 2 ? "," : string.Empty);
        writer.Write(JsonSerializer.Serialize(name, JsonOptions));
        writer.Write(":[");
        var first = true;
        foreach (var item in items)
        {
            if (!first)
            {
                writer.Write(',');
            }

            writer.Write(JsonSerializer.Serialize(item, JsonOptions));
            first = false;
        }

        writer.WriteLine("]}");
    }

    public void WriteLine(string text) => Console.WriteLine(Messages.OneLine(text));

    /// <summary>A table whose cells are plain text (never parsed as markup: values come from files and the service).</summary>
    public static Table Table(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(new Text(column)));
        }

        return table;
    }

    /// <summary>Adds a row of plain-text cells, each on one line with its control characters (ESC, line breaks) shown as spaces.</summary>
    public static void AddRow(Table table, params string?[] cells) =>
        table.AddRow(cells.Select(c => (IRenderable)new Text(Messages.OneLine(c ?? string.Empty))).ToArray());

    /// <summary>A status in green when all is well, in red when not (plain when colours are off); the text is a service's status, so it is made one line too.</summary>
    public static IRenderable Status(string text, bool good) => new Text(Messages.OneLine(text), new Style(good ? Color.Green : Color.Red));

    public static string Number(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// Writes through the guarded writer, but is a terminal, as wide and as tall as Spectre.Console finds the writer it
    /// guards: Spectre tells standard output by reference (<c>writer == Console.Out</c>), so the guard alone would turn
    /// off colours and the progress bar on a real terminal.
    /// </summary>
    private sealed class GuardedConsoleOutput(OutputWriter guarded) : IAnsiConsoleOutput
    {
        private readonly AnsiConsoleOutput _inner = new(guarded.Inner);

        public TextWriter Writer => guarded;

        public bool IsTerminal => _inner.IsTerminal;

        public int Width => _inner.Width;

        public int Height => _inner.Height;

        public void SetEncoding(System.Text.Encoding encoding) => _inner.SetEncoding(encoding);
    }

    public static string Day(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
