using Microsoft.Extensions.Hosting;

namespace MarketplaceMetering.Emulator.Hosting;

/// <summary>
/// A host lifetime that does not listen to Ctrl+C or SIGTERM: an emulator inside a test process must not stop, or
/// stop the process, on a console signal. The program handles signals itself.
/// </summary>
internal sealed class NoSignalHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
