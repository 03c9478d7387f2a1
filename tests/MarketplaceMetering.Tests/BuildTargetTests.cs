using System.Reflection;
using System.Runtime.Versioning;

namespace MarketplaceMetering.Tests;

public class BuildTargetTests
{
    [Fact]
    public void LibraryUnderTest_IsTheBuildThisProjectTargets()
    {
        var framework = typeof(MeteringClient).Assembly.GetCustomAttribute<TargetFrameworkAttribute>()!.FrameworkName;

#if NETSTANDARD_BUILD
        framework.Should().Be(".NETStandard,Version=v2.0", "MarketplaceMetering.NetStandard.Tests runs every test against the netstandard2.0 build");
#else
        framework.Should().Be(".NETCoreApp,Version=v10.0");
#endif
    }
}
