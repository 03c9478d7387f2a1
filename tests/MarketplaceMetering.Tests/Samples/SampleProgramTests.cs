namespace MarketplaceMetering.Tests.Samples;

/// <summary>
/// Each sample runs as a program, as <c>dotnet run --project samples/X</c> runs it: against the emulator by default,
/// exit code 0 and the lines its README promises; and with the real service selected but not configured, a clear
/// start-up error.
/// </summary>
public class SampleProgramTests
{
    [Fact]
    public async Task SaasClientSecret_Default_SendsTheLastClosedHourToTheEmulatorAndExits0()
    {
        var (exitCode, output) = await RunAsync("SaasClientSecret");

        exitCode.Should().Be(0, output);
        output.Should().Contain("Metering emulator running in this process");
        output.Should().MatchRegex(@"Hour \d{4}-\d\d-\d\dT\d\d:00Z: 6 events: 6 delivered \(6 accepted, 0 replays\); delivered emails \d+, sms \d+");
    }

    [Fact]
    public async Task SaasClientSecret_RealServiceWithoutCredential_FailsAtStartNamingTheMissingKeys()
    {
        var (exitCode, output) = await RunAsync("SaasClientSecret", ("Sample__UseEmulator", "false"));

        exitCode.Should().NotBe(0);
        output.Should().Contain("MarketplaceMetering:Credential:TenantId is required")
            .And.Contain("MarketplaceMetering:Credential:ClientId is required")
            .And.Contain("MarketplaceMetering:Credential:ClientSecret is required");
    }

    [Fact]
    public async Task ManagedAppManagedIdentity_Default_ReportsEachDimensionByResourceUriAndExits0()
    {
        var (exitCode, output) = await RunAsync("ManagedAppManagedIdentity");

        exitCode.Should().Be(0, output);
        output.Should().MatchRegex(@"gb-processed\s+12\.5 Accepted\s+usage event [0-9a-f-]{36}, resource usage id 3e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c0b");
        output.Should().MatchRegex(@"nodes\s+3 Accepted");
        output.Should().Contain("All usage delivered.");
    }

    [Fact]
    public async Task ManagedAppManagedIdentity_NoResourceUri_Exits2SayingWhatToSet()
    {
        var (exitCode, output) = await RunAsync("ManagedAppManagedIdentity", ("ManagedApp__ResourceUri", string.Empty));

        exitCode.Should().Be(2, output);
        output.Should().Contain("Set ManagedApp:ResourceUri");
    }

    private static Task<(int ExitCode, string Output)> RunAsync(string sample, params (string Name, string Value)[] environment) =>
        ProgramRunner.RunAsync(Path.Combine(ProgramRunner.BuildOutput("samples", sample), sample + ".dll"), [], TimeSpan.FromSeconds(90), environment);
}
