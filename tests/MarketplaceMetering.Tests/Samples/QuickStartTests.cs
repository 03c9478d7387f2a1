using System.Reflection;

namespace MarketplaceMetering.Tests.Samples;

/// <summary>README's first command, <c>dotnet run --project samples/QuickStart</c>, keeps working and shows every outcome it promises.</summary>
[Collection(ConsoleOutput.Name)]
public class QuickStartTests
{
    [Fact]
    public async Task QuickStart_NoArguments_ShowsEachOutcomeOnTheEmbeddedEmulator()
    {
        var entryPoint = typeof(QuickStart.Settings).Assembly.EntryPoint!;
        var output = new StringWriter();
        var original = Console.Out;
        Console.SetOut(output);
        int exitCode;
        try
        {
            exitCode = await Task.Run(() => (int)entryPoint.Invoke(null, [Array.Empty<string>()])!);
        }
        finally
        {
            Console.SetOut(original);
        }

        var text = output.ToString();
        exitCode.Should().Be(0, text);
        var rows = text.Split('\n').Where(l => l.StartsWith("1.") || l.StartsWith("2.") || l.StartsWith("3.") || l.StartsWith("4.")).ToList();
        rows.Should().HaveCount(9, text);
        rows[0].Should().Contain("Accepted");
        rows[1].Should().Contain("Duplicate").And.Contain("replay");
        rows[2].Should().Contain("Expired");
        rows.Skip(3).Select(Outcome).Should().Equal("Accepted", "Duplicate", "InvalidDimension", "ResourceNotActive", "ResourceNotFound", "Accepted");
        text.Should().Contain("ledger holds 3 accepted events");
    }

    [Fact]
    public async Task QuickStart_PartialRealServiceSettings_ExplainsWhatIsMissing()
    {
        var entryPoint = typeof(QuickStart.Settings).Assembly.EntryPoint!;
        var error = new StringWriter();
        var original = Console.Error;
        Console.SetError(error);
        int exitCode;
        try
        {
            exitCode = await Task.Run(() => (int)entryPoint.Invoke(null, [new[] { "--tenant-id", "t" }])!);
        }
        finally
        {
            Console.SetError(original);
        }

        exitCode.Should().Be(2);
        error.ToString().Should().Contain("--client-id").And.Contain("--client-secret").And.Contain("--resource-id");
    }

    private static string Outcome(string row) =>
        row.Split("  ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[5];
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleOutput
{
    public const string Name = "Console";
}
