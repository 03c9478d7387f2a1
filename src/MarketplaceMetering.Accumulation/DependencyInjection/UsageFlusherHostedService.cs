using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MarketplaceMetering;

/// <summary>
/// Runs the registered <see cref="UsageFlusher"/> with the host. It resolves the flusher (and so the ledger and the
/// client) only when the host starts it, after the start-up validation has run: a bad configuration is then reported as
/// that one message naming every bad key, not as whichever construction fails first.
/// </summary>
internal sealed class UsageFlusherHostedService(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var flusher = services.GetRequiredService<UsageFlusher>();
        flusher.ReportStart();
        return flusher.StartAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => services.GetRequiredService<UsageFlusher>().StopAsync(cancellationToken);
}
