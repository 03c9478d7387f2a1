namespace MarketplaceMetering.Cli.Input;

/// <summary>
/// What reading a checked file again found: whether it no longer reads as it did when it was checked, and, when that
/// is because it could no longer be read at all (deleted, replaced by a folder, its permission removed, a device
/// error), why.
/// </summary>
internal sealed class FileChange
{
    /// <summary>Whether the file no longer reads as it did when it was checked (changed, or no longer readable).</summary>
    public bool Changed { get; set; }

    /// <summary>
    /// Why the file could no longer be read, one line (the system's reason, such as "Could not find file '…'", or "it
    /// is now a folder"), when that is what was seen first; <see langword="null"/> when it was read and read otherwise.
    /// </summary>
    public string? Unreadable { get; set; }
}
