namespace MarketplaceMetering.Cli.CommandLine;

/// <summary>Helpers for one-line messages.</summary>
internal static class Messages
{
    /// <summary>
    /// An <see cref="ArgumentException"/>'s message without the " (Parameter 'x')" the runtime appends, nor the line
    /// "Actual value was …" an <see cref="ArgumentOutOfRangeException"/> adds after it (in the current culture: "0,0").
    /// </summary>
    public static string WithoutParameter(ArgumentException exception)
    {
        var message = exception.Message;
        if (exception is ArgumentOutOfRangeException { ActualValue: not null } && message.IndexOf('\n', StringComparison.Ordinal) is > 0 and var end)
        {
            message = message[..end].TrimEnd('\r');
        }

        var suffix = exception.ParamName is { } name ? $" (Parameter '{name}')" : null;
        if (suffix is not null && message.EndsWith(suffix, StringComparison.Ordinal))
        {
            message = message[..^suffix.Length];
        }

        return OneLine(message);
    }

    /// <summary>The longest value a message quotes in full; a longer one is cut (<see cref="Shown"/>).</summary>
    public const int MaxShownLength = 80;

    /// <summary>The longest message about one line of a file (a backstop for text quoted by the core's checks).</summary>
    public const int MaxProblemLength = 1000;

    /// <summary>
    /// A value from the input as a message quotes it: in full up to <paramref name="max"/> characters, else its start
    /// and its length (<c>xxxx… (200000 characters)</c>), so that a huge line in a file or a huge argument gives an
    /// error line a person can read, not megabytes on standard error.
    /// </summary>
    public static string Shown(string value, int max = MaxShownLength)
    {
        if (value.Length <= max)
        {
            return value;
        }

        var cut = char.IsHighSurrogate(value[max - 1]) ? max - 1 : max;
        return value[..cut] + "… (" + value.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + " characters)";
    }

    /// <summary>
    /// The text on one line, with nothing a terminal would obey: every control character (line breaks, ESC, BEL) and
    /// every bidirectional formatting character (which reorders what follows it on the line, so a row could show
    /// another resource's or quantity's text) becomes a space. Text from the service and from input files passes
    /// through here before it reaches the console.
    /// </summary>
    public static string OneLine(string text)
    {
        text = text.Replace("\r\n", " ", StringComparison.Ordinal);
        if (!text.Any(IsUnsafe))
        {
            return text;
        }

        return string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = IsUnsafe(source[i]) ? ' ' : source[i];
            }
        });
    }

    /// <summary>
    /// Where <paramref name="value"/> holds a character no plan id, dimension or resource has (a control character such
    /// as a NUL, a tab or an ESC from a corrupt file, or a bidirectional formatting one), said without quoting the value:
    /// <c>a control character (U+0000) at character 4</c>; <see langword="null"/> when it holds none.
    /// </summary>
    public static string? UnsafeCharacter(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (IsUnsafe(value[i]))
            {
                var what = char.IsControl(value[i]) ? "a control character" : "a bidirectional formatting character";
                return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{what} (U+{(int)value[i]:X4}) at character {i + 1}");
            }
        }

        return null;
    }

    /// <summary>
    /// Refuses the first option whose value holds a character no plan id, dimension or resource has (see
    /// <see cref="UnsafeCharacter"/>), saying what follows from it: <c>--plan holds a control character (U+0009) at
    /// character 4; nothing was sent.</c>
    /// </summary>
    public static void RefuseUnsafeOptions(ReadOnlySpan<(string Option, string? Value)> options, string consequence)
    {
        foreach (var (option, value) in options)
        {
            if (value is not null && UnsafeCharacter(value) is { } unsafeCharacter)
            {
                throw new CliException($"{option} holds {unsafeCharacter}; {consequence}.");
            }
        }
    }

    /// <summary>
    /// A control character, or a bidirectional formatting one: the marks (ALM, LRM, RLM), the embeddings and overrides
    /// (LRE to RLO) and the isolates (LRI to PDI). The core's WireFormat.SafeText treats the same characters alike.
    /// </summary>
    private static bool IsUnsafe(char c) => char.IsControl(c) || c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');
}
