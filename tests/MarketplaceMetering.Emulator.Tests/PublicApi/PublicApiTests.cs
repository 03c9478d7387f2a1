using System.Reflection;
using System.Text;

namespace MarketplaceMetering.Emulator.Tests.PublicApi;

/// <summary>
/// The emulator's public surface, compared with the checked-in MarketplaceMetering.Emulator.PublicApi.txt, so an
/// accidental public change fails the build. After an intended change, copy the .received.txt written next to the
/// test binaries over the checked-in file.
/// </summary>
public sealed class PublicApiTests
{
    private const string ApprovedFile = "MarketplaceMetering.Emulator.PublicApi.txt";

    [Fact]
    public void PublicApi_OfTheEmulatorAssembly_MatchesTheApprovedList()
    {
        var actual = Describe(typeof(MeteringEmulator).Assembly);
        var approvedPath = Path.Combine(AppContext.BaseDirectory, "PublicApi", ApprovedFile);
        var approved = File.ReadAllText(approvedPath).ReplaceLineEndings("\n");

        if (actual != approved)
        {
            File.WriteAllText(Path.ChangeExtension(approvedPath, ".received.txt"), actual);
        }

        actual.Should().Be(approved, "the public API changed; review it and update PublicApi/{0}", ApprovedFile);
    }

    private static string Describe(Assembly assembly)
    {
        var text = new StringBuilder();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            text.Append(Kind(type)).Append(' ').Append(type.FullName);
            if (type.BaseType is { } baseType && baseType != typeof(object) && baseType != typeof(ValueType) && baseType != typeof(Enum))
            {
                text.Append(" : ").Append(baseType.FullName);
            }

            text.Append('\n');
            const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            var members = type.GetMembers(Declared)
                .Where(IsVisible)
                .Where(m => m is not Type)
                .Select(m => "  " + m.MemberType + " " + m)
                .OrderBy(m => m, StringComparer.Ordinal);
            foreach (var member in members)
            {
                text.Append(member).Append('\n');
            }
        }

        return text.ToString();
    }

    private static string Kind(Type type) => type switch
    {
        { IsEnum: true } => "enum",
        { IsInterface: true } => "interface",
        { IsValueType: true } => "struct",
        { IsAbstract: true, IsSealed: true } => "static class",
        { IsAbstract: true } => "abstract class",
        { IsSealed: true } => "sealed class",
        _ => "class",
    };

    private static bool IsVisible(MemberInfo member) => member switch
    {
        MethodBase method => method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly,
        FieldInfo field => field.IsPublic || field.IsFamily || field.IsFamilyOrAssembly,
        PropertyInfo property => property.GetAccessors(nonPublic: true).Any(a => a.IsPublic || a.IsFamily || a.IsFamilyOrAssembly),
        EventInfo @event => @event.AddMethod is { } add && (add.IsPublic || add.IsFamily || add.IsFamilyOrAssembly),
        _ => false,
    };
}
