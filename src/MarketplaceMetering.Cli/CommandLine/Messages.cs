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

    /// <summary>
    /// The text on one line, with nothing a terminal would obey: every control character (line breaks, ESC, BEL) becomes
    /// a space. Text from the service and from input files passes through here before it reaches the console.
    /// </summary>
    public static string OneLine(string text)
    {
        text = text.Replace("\r\n", " ", StringComparison.Ordinal);
        if (!text.Any(char.IsControl))
        {
            return text;
        }

        return string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? ' ' : source[i];
            }
        });
    }
}
