namespace MarketplaceMetering.Tests;

/// <summary>Waits for another thread to reach a state (a request arriving at the emulator, say). Not a timing assertion: it only orders steps.</summary>
internal static class Eventually
{
    public static async Task HoldsAsync(Func<bool> condition, string what)
    {
        var deadline = Environment.TickCount64 + 20_000;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                throw new TimeoutException("Never happened: " + what);
            }

            await Task.Delay(5);
        }
    }
}
