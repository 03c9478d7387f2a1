using System.Runtime.CompilerServices;

namespace MarketplaceMetering;

/// <summary>Argument checks that read the same on every target framework.</summary>
internal static class Argument
{
    public static T NotNull<T>(T? value, [CallerArgumentExpression(nameof(value))] string? paramName = null)
        where T : class =>
        value ?? throw new ArgumentNullException(paramName);
}
