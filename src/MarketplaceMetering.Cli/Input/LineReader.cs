using System.Text;

namespace MarketplaceMetering.Cli.Input;

/// <summary>
/// Reads lines as <see cref="TextReader.ReadLine"/> does (ended by <c>\n</c>, <c>\r\n</c> or <c>\r</c>; the last one
/// may lack its end), but never holds more than <paramref name="maxLength"/> characters of a line: a longer one
/// throws <see cref="LineTooLongException"/> as soon as the reader has read past the limit, so a file of one huge
/// line (gigabytes with no line break) costs a block of memory, not the line.
/// </summary>
/// <remarks>
/// A character is a Unicode scalar value (a <see cref="Rune"/>), as a user counts them: a surrogate pair (an emoji)
/// is one, not two UTF-16 units, so a line of emoji is not refused at half the limit. The text comes from strict
/// UTF-8, which never yields half a pair, so counting every unit that is not a low surrogate counts the runes, also
/// when a pair is split across two blocks.
/// </remarks>
internal sealed class LineReader(TextReader reader, int maxLength)
{
    private readonly char[] _buffer = new char[4096];
    private readonly StringBuilder _line = new();
    private int _position;
    private int _length;
    private int _characters;
    private bool _afterCarriageReturn;

    /// <summary>The next line, without its end; <see langword="null"/> at the end of the text.</summary>
    /// <exception cref="LineTooLongException">The line is longer than the limit.</exception>
    public string? ReadLine()
    {
        _line.Clear();
        _characters = 0;
        var started = false;
        while (true)
        {
            if (_position == _length)
            {
                _length = reader.Read(_buffer, 0, _buffer.Length);
                _position = 0;
                if (_length == 0)
                {
                    return started ? _line.ToString() : null;
                }
            }

            // "\r\n" is one line end: the '\n' after a line that ended with '\r' ends nothing.
            if (_afterCarriageReturn)
            {
                _afterCarriageReturn = false;
                if (_buffer[_position] == '\n')
                {
                    _position++;
                    continue;
                }
            }

            started = true;
            var rest = _buffer.AsSpan(_position, _length - _position);
            var end = rest.IndexOfAny('\r', '\n');
            var part = end < 0 ? rest : rest[..end];
            _characters += part.Length - CountLowSurrogates(part);
            if (_characters > maxLength)
            {
                throw new LineTooLongException();
            }

            _line.Append(part);
            if (end < 0)
            {
                _position = _length;
                continue;
            }

            _afterCarriageReturn = rest[end] == '\r';
            _position += end + 1;
            return _line.ToString();
        }
    }

    private static int CountLowSurrogates(ReadOnlySpan<char> text)
    {
        var count = 0;
        foreach (var c in text)
        {
            if (char.IsLowSurrogate(c))
            {
                count++;
            }
        }

        return count;
    }
}

/// <summary>A line is longer than the <see cref="LineReader"/>'s limit.</summary>
internal sealed class LineTooLongException : Exception
{
}
