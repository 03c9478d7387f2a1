using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace MarketplaceMetering.Tests.PublicApi;

/// <summary>
/// The public API is tracked in a checked-in file, so an accidental change fails CI. After an intended change,
/// run the tests once with UPDATE_PUBLIC_API=1 and commit the updated file.
/// Both the net10.0 and the netstandard2.0 builds are compared with the same file, so they stay alike.
/// </summary>
public class PublicApiTests
{
    [Fact]
    public void PublicApi_MatchesApprovedFile()
    {
        var actual = Describe(typeof(MeteringClient).Assembly);
        var approvedPath = Path.Combine(RepositoryRoot(), "tests", "MarketplaceMetering.Tests", "PublicApi", "MarketplaceMetering.approved.txt");

        if (Environment.GetEnvironmentVariable("UPDATE_PUBLIC_API") == "1")
        {
            File.WriteAllText(approvedPath, actual);
        }

        var approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).Replace("\r\n", "\n") : string.Empty;
        var added = actual.Split('\n').Except(approved.Split('\n')).ToList();
        var removed = approved.Split('\n').Except(actual.Split('\n')).ToList();

        (added.Count + removed.Count).Should().Be(
            0,
            "the public API changed; if intended, run the tests with UPDATE_PUBLIC_API=1 and commit {0}.\nAdded:\n{1}\nRemoved:\n{2}",
            approvedPath,
            string.Join("\n", added),
            string.Join("\n", removed));
    }

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "MarketplaceMetering.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("MarketplaceMetering.sln not found above " + AppContext.BaseDirectory);
    }

    private static string Describe(Assembly assembly)
    {
        var builder = new StringBuilder();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            builder.Append(TypeHeader(type)).Append('\n');
            foreach (var member in Members(type).OrderBy(m => m, StringComparer.Ordinal))
            {
                builder.Append("  ").Append(member).Append('\n');
            }
        }

        return builder.ToString();
    }

    private static string TypeHeader(Type type)
    {
        var kind = type.IsEnum ? "enum" : type.IsValueType ? "struct" : type.IsInterface ? "interface" : IsRecord(type) ? "record" : "class";
        var modifiers = type.IsAbstract && type.IsSealed ? "static " : type.IsSealed && !type.IsValueType ? "sealed " : type.IsAbstract && !type.IsInterface ? "abstract " : string.Empty;
        var bases = new List<string>();
        if (type.BaseType is { } baseType && baseType != typeof(object) && baseType != typeof(ValueType) && baseType != typeof(Enum))
        {
            bases.Add(Name(baseType));
        }

        bases.AddRange(type.GetInterfaces().Where(i => type.BaseType is null || !i.IsAssignableFrom(type.BaseType)).Select(Name).OrderBy(n => n, StringComparer.Ordinal));
        return $"{modifiers}{kind} {Name(type)}{(bases.Count > 0 ? " : " + string.Join(", ", bases) : string.Empty)}";
    }

    private static bool IsRecord(Type type) => type.GetMethod("<Clone>$") is not null || type.GetProperty("EqualityContract", BindingFlags.NonPublic | BindingFlags.Instance) is not null;

    private static IEnumerable<string> Members(Type type)
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        if (type.IsEnum)
        {
            foreach (var name in Enum.GetNames(type))
            {
                yield return $"{name} = {Convert.ToInt64(Enum.Parse(type, name))}";
            }

            yield break;
        }

        foreach (var member in type.GetMembers(flags))
        {
            switch (member)
            {
                case ConstructorInfo c when Visible(c):
                    yield return $"{Access(c)}ctor({Parameters(c)})";
                    break;
                case MethodInfo { Name: "<Clone>$" }:
                    // The records' clone method: unspeakable in C#, and covariant only where the runtime supports it.
                    break;
                case MethodInfo m when Visible(m) && !m.IsSpecialName:
                    yield return $"{Access(m)}{Modifiers(m)}{Name(m.ReturnType)} {m.Name}({Parameters(m)})";
                    break;
                case MethodInfo m when Visible(m) && m.Name.StartsWith("op_", StringComparison.Ordinal):
                    yield return $"{Access(m)}static {Name(m.ReturnType)} {m.Name}({Parameters(m)})";
                    break;
                case PropertyInfo p:
                    var accessors = new[] { p.GetMethod, p.SetMethod }.Where(a => a is not null && Visible(a)).ToList();
                    if (accessors.Count > 0)
                    {
                        var first = accessors[0]!;
                        var parts = accessors.Select(a => a == p.GetMethod ? "get;" : IsInit(a!) ? "init;" : "set;");
                        yield return $"{Access(first)}{Modifiers(first)}{Name(p.PropertyType)} {p.Name} {{ {string.Join(" ", parts)} }}";
                    }

                    break;
                case FieldInfo f when (f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly) && !f.IsSpecialName:
                    yield return $"{(f.IsPublic ? "public " : "protected ")}{(f.IsLiteral ? "const " : f.IsStatic ? "static " : string.Empty)}{(f.IsInitOnly ? "readonly " : string.Empty)}{Name(f.FieldType)} {f.Name}{(f.IsLiteral ? " = " + f.GetRawConstantValue() : string.Empty)}";
                    break;
                case EventInfo e when e.AddMethod is { } add && Visible(add):
                    yield return $"{Access(add)}event {Name(e.EventHandlerType!)} {e.Name}";
                    break;
                case Type nested when nested.IsNestedPublic:
                    break;
            }
        }
    }

    private static bool IsInit(MethodInfo setter) =>
        setter.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.FullName == "System.Runtime.CompilerServices.IsExternalInit");

    private static bool Visible(MethodBase m) => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly;

    private static string Access(MethodBase m) => m.IsPublic ? "public " : "protected ";

    private static string Modifiers(MethodInfo m) =>
        m.IsStatic ? "static " : m.IsAbstract ? "abstract " : m.IsVirtual && !m.IsFinal ? (m.GetBaseDefinition() != m ? "override " : "virtual ") : m.GetBaseDefinition() != m ? "override " : string.Empty;

    private static string Parameters(MethodBase m) => string.Join(", ", m.GetParameters().Select(p =>
        $"{(p.GetCustomAttribute<ParamArrayAttribute>() is not null ? "params " : string.Empty)}{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : string.Empty)}"));

    private static string Name(Type type)
    {
        if (type.IsByRef)
        {
            return "ref " + Name(type.GetElementType()!);
        }

        if (type.IsArray)
        {
            return Name(type.GetElementType()!) + "[]";
        }

        if (type.IsGenericParameter)
        {
            return type.Name;
        }

        var name = type.IsNested ? Name(type.DeclaringType!) + "." + type.Name : type.Namespace + "." + type.Name;
        if (type.IsGenericType)
        {
            name = name[..name.IndexOf('`', StringComparison.Ordinal)] + "<" + string.Join(", ", type.GetGenericArguments().Select(Name)) + ">";
        }

        return name;
    }
}
