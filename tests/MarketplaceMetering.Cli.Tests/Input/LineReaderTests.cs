using System.Text;
using MarketplaceMetering.Cli.Input;

namespace MarketplaceMetering.Cli.Tests.Input;

/// <summary>The line reader under every file of events: lines as <see cref="TextReader.ReadLine"/> gives them, and none held past its limit.</summary>
public class LineReaderTests
{
    [Theory]
    [InlineData("a\nb\n")]
    [InlineData("a\r\nb\r\n\r\nc")]
    [InlineData("a\rb\r\r\nc\n\n")]
    [InlineData("\n\n")]
    [InlineData("")]
    [InlineData("only")]
    public void ReadLine_AnyLineEnds_GivesTheLinesStreamReaderGives(string text)
    {
        var expected = new List<string>();
        using (var reference = new StringReader(text))
        {
            while (reference.ReadLine() is { } line)
            {
                expected.Add(line);
            }
        }

        var reader = new LineReader(new StringReader(text), maxLength: 100);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }

        lines.Should().Equal(expected);
    }

    [Fact]
    public void ReadLine_LinesAcrossBlockBoundaries_ComeBackWhole()
    {
        // Lines of 3,000 characters ending in "\r\n": ends and the "\r\n" pairs fall across the reader's 4,096-character blocks.
        var line = new string('a', 2_999) + "b";
        var text = string.Concat(Enumerable.Repeat(line + "\r\n", 10));
        var reader = new LineReader(new StringReader(text), maxLength: 3_000);

        var lines = new List<string>();
        while (reader.ReadLine() is { } read)
        {
            lines.Add(read);
        }

        lines.Should().HaveCount(10).And.OnlyContain(l => l == line);
    }

    [Fact]
    public void ReadLine_OneLineFarLongerThanTheLimit_ThrowsWithoutReadingMuchPastTheLimit()
    {
        // 64 MB with no line break, made as it is read: the reader stops soon after the limit, not at the end of the line.
        var source = new EndlessStream(64 * 1024 * 1024);
        using var text = new StreamReader(source, Encoding.UTF8);
        var reader = new LineReader(text, UsageFile.MaxLineLength);

        var read = () => reader.ReadLine();

        read.Should().Throw<LineTooLongException>();
        source.BytesRead.Should().BeLessThan(UsageFile.MaxLineLength + 64 * 1024);
    }

    [Fact]
    public void ReadLine_LineOfExactlyTheLimit_IsRead()
    {
        var reader = new LineReader(new StringReader(new string('x', 10) + "\n" + new string('y', 11)), maxLength: 10);

        reader.ReadLine().Should().Be(new string('x', 10));
        var next = () => reader.ReadLine();
        next.Should().Throw<LineTooLongException>();
    }

    [Fact]
    public void ReadLine_CharactersOutsideTheBmp_CountOneEachAgainstTheLimit()
    {
        // The limit is in characters (Unicode scalar values), as docs/cli.md says: an emoji is one character in two UTF-16
        // units, and a line of them was refused at half the limit. Blocks of 4,096 units split some pairs.
        const string Emoji = "\U0001F600";
        var atLimit = string.Concat(Enumerable.Repeat(Emoji, 3_000));
        var reader = new LineReader(new StringReader(atLimit + "\n" + "a" + atLimit + "\n"), maxLength: 3_000);

        reader.ReadLine().Should().Be(atLimit);
        var next = () => reader.ReadLine();
        next.Should().Throw<LineTooLongException>();
    }

    /// <summary>A read-only stream of <c>x</c> bytes, as long as asked, that counts what was read from it.</summary>
    private sealed class EndlessStream(long length) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => BytesRead;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - BytesRead);
            buffer.AsSpan(offset, n).Fill((byte)'x');
            BytesRead += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
