namespace MarketplaceMetering.Tests;

/// <summary>Waits for another thread to reach a state (a request arriving at the emulator, say). Not a timing assertion: it only orders steps.</summary>
internal static class Eventually
{
    public static Task HoldsAsync(Func<bool> condition, string what) => HoldsAsync(condition, what, TimeSpan.FromSeconds(20));

    /// <summary>As the other overload, with a longer wait for what starts a process (a sample, a child): on a shared machine running every test project at once, a cold start can take most of a minute.</summary>
    public static async Task HoldsAsync(Func<bool> condition, string what, TimeSpan within)
    {
        var deadline = Environment.TickCount64 + (long)within.TotalMilliseconds;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException("Never happened within " + within.TotalSeconds + " s: " + what);
            }

            await Task.Delay(5);
        }
    }
}
