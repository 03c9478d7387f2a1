#if !NET5_0_OR_GREATER
namespace System.Runtime.CompilerServices;

/// <summary>Lets records and init accessors compile for netstandard2.0.</summary>
internal static class IsExternalInit
{
}

/// <summary>Lets <see cref="MarketplaceMetering.Argument"/> name the argument for netstandard2.0.</summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
internal sealed class CallerArgumentExpressionAttribute(string parameterName) : Attribute
{
    public string ParameterName { get; } = parameterName;
}
#endif
