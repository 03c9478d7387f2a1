namespace MarketplaceMetering.Tests;

/// <summary>Finds checked-in files (docs, sources, project files) from the test binaries, wherever they were built.</summary>
internal static class Repository
{
    /// <summary>The folder holding MarketplaceMetering.sln, found by walking up from the test binaries.</summary>
    public static string Root()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "MarketplaceMetering.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("MarketplaceMetering.sln not found above " + AppContext.BaseDirectory);
    }
}
