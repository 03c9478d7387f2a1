using System.Text;

namespace MarketplaceMetering.Cli.Output;

/// <summary>
/// Standard output, with every write failure (a full disk, a device error) raised as an <see cref="OutputException"/>,
/// so that the tool can tell it from a file it could not read or a service it could not reach: by the time a command
/// writes, its work (events sent) is done, and the error must say so rather than blame the service.
/// </summary>
internal sealed class OutputWriter(TextWriter inner) : TextWriter
{
    /// <summary>The writer this one guards (<see cref="Console.Out"/> in a real run).</summary>
    public TextWriter Inner => inner;

    public override Encoding Encoding => inner.Encoding;

    public override IFormatProvider FormatProvider => inner.FormatProvider;

    [System.Diagnostics.CodeAnalysis.AllowNull]
    public override string NewLine
    {
        get => inner.NewLine;
        set => inner.NewLine = value;
    }

    public override void Write(char value) => Guard(() => inner.Write(value));

    public override void Write(string? value) => Guard(() => inner.Write(value));

    public override void Write(char[] buffer, int index, int count) => Guard(() => inner.Write(buffer, index, count));

    public override void Write(ReadOnlySpan<char> buffer)
    {
        try
        {
            inner.Write(buffer);
        }
        catch (IOException e)
        {
            throw new OutputException(e);
        }
    }

    public override void WriteLine() => Guard(inner.WriteLine);

    public override void WriteLine(string? value) => Guard(() => inner.WriteLine(value));

    public override void Flush() => Guard(inner.Flush);

    public override Task WriteAsync(char value) => GuardAsync(() => inner.WriteAsync(value));

    public override Task WriteAsync(string? value) => GuardAsync(() => inner.WriteAsync(value));

    public override Task WriteAsync(char[] buffer, int index, int count) => GuardAsync(() => inner.WriteAsync(buffer, index, count));

    public override Task WriteAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default) => GuardAsync(() => inner.WriteAsync(buffer, cancellationToken));

    public override Task WriteLineAsync() => GuardAsync(inner.WriteLineAsync);

    public override Task WriteLineAsync(string? value) => GuardAsync(() => inner.WriteLineAsync(value));

    public override Task WriteLineAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default) => GuardAsync(() => inner.WriteLineAsync(buffer, cancellationToken));

    public override Task FlushAsync() => GuardAsync(inner.FlushAsync);

    public override Task FlushAsync(CancellationToken cancellationToken) => GuardAsync(() => inner.FlushAsync(cancellationToken));

    private static void Guard(Action write)
    {
        try
        {
            write();
        }
        catch (IOException e)
        {
            throw new OutputException(e);
        }
    }

    private static async Task GuardAsync(Func<Task> write)
    {
        try
        {
            await write().ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new OutputException(e);
        }
    }
}

/// <summary>Standard output could not be written; <see cref="Exception.InnerException"/> says why.</summary>
internal sealed class OutputException(IOException inner) : Exception("Standard output could not be written: " + inner.Message, inner);
