using System.Text.RegularExpressions;

namespace MarketplaceMetering;

/// <summary>
/// Masks the exact secret strings one client holds (the tokens it received, the client secret it was built with) in
/// any text it is about to put into a message, a result, an excerpt or a log, whatever those strings look like; and,
/// as a second line, anything shaped like a JWT or a bearer header. Thread-safe; one per client.
/// </summary>
/// <remarks>
/// Strings shorter than <see cref="MinimumLength"/> are not treated as secrets: masking them would mangle ordinary
/// words, and no token or client secret issued by Microsoft Entra ID is that short.
/// </remarks>
internal sealed class SecretRedactor
{
    /// <summary>The shortest string treated as a secret.</summary>
    public const int MinimumLength = 8;

    /// <summary>What a secret is replaced with.</summary>
    public const string Mask = "***";

    /// <summary>How many of the most recent tokens are remembered (older ones have long expired).</summary>
    private const int RememberedTokens = 8;

    private static readonly Regex Shapes = new(
        @"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*|(?i:bearer\s+)[A-Za-z0-9_\-\.~\+/=]+",
        RegexOptions.CultureInvariant,
        TimeSpan.FromSeconds(1));

    private static readonly Regex Jwt = new(@"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    private readonly object _gate = new();
    private readonly string[] _fixed;
    private string[] _tokens = [];
    private string[] _all;

    public SecretRedactor(IEnumerable<string?>? fixedSecrets = null)
    {
        _fixed = (fixedSecrets ?? []).Where(IsSecret).Select(s => s!).Distinct(StringComparer.Ordinal).ToArray();
        _all = _fixed;
    }

    /// <summary>A redactor that knows no secrets of its own (it still masks JWT and bearer shapes).</summary>
    public static SecretRedactor Shapeless { get; } = new();

    /// <summary>Remembers a token the client received.</summary>
    public void AddToken(string? token)
    {
        if (!IsSecret(token))
        {
            return;
        }

        lock (_gate)
        {
            if (Array.IndexOf(_tokens, token) >= 0)
            {
                return;
            }

            var tokens = _tokens.Length < RememberedTokens ? new string[_tokens.Length + 1] : new string[RememberedTokens];
            tokens[0] = token!;
            Array.Copy(_tokens, 0, tokens, 1, tokens.Length - 1);
            _tokens = tokens;
            _all = [.. _fixed, .. tokens];
        }
    }

    /// <summary>The text with every known secret, and anything shaped like a token, masked.</summary>
    public string Redact(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        foreach (var secret in Volatile.Read(ref _all))
        {
            if (text.Contains(secret))
            {
                text = text.Replace(secret, Mask);
            }
        }

        try
        {
            return Shapes.Replace(text, Mask);
        }
        catch (RegexMatchTimeoutException)
        {
            return "(not shown)";
        }
    }

    /// <inheritdoc cref="Redact(string)"/>
    public string? RedactOrNull(string? text) => text is null ? null : Redact(text);

    /// <summary>
    /// <paramref name="exception"/> when nothing it would print (its <c>ToString()</c>, which includes its inner
    /// exceptions and, for MSAL, the identity endpoint's response body) contains a known secret or a JWT; otherwise
    /// <see langword="null"/>, so it is not attached as an inner exception where a log would print it.
    /// </summary>
    public Exception? SafeToAttach(Exception exception)
    {
        string printed;
        try
        {
            printed = exception.ToString();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }

        foreach (var secret in Volatile.Read(ref _all))
        {
            if (printed.Contains(secret))
            {
                return null;
            }
        }

        try
        {
            return Jwt.IsMatch(printed) ? null : exception;
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }
    }

    private static bool IsSecret(string? value) => value is { Length: >= MinimumLength } && !string.IsNullOrWhiteSpace(value);
}
