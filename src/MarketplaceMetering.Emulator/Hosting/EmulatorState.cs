using MarketplaceMetering.Emulator.Api;
using MarketplaceMetering.Emulator.Catalogue;
using MarketplaceMetering.Emulator.Ledger;
using MarketplaceMetering.Emulator.Requests;
using MarketplaceMetering.Emulator.Rules;
using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Emulator.Hosting;

/// <summary>Everything one emulator instance holds, shared by its request handlers.</summary>
internal sealed class EmulatorState
{
    public EmulatorState(MeteringEmulatorOptions options, string token, ILogger logger, CancellationToken stopping)
    {
        TimeProvider = options.TimeProvider;
        MaxRequestBodyBytes = options.MaxRequestBodyBytes;
        TimeStyle = options.TimeStyle;
        Token = new BearerToken(token);
        Catalogue = new ResourceCatalogue(options.Resources);
        Ledger = new EmulatorLedger();
        Reconciliation = new ReconciliationOverrides();
        Faults = new EmulatorFaults(options.Faults, options.Seed);
        Requests = new RequestLog(options.MaxRecordedRequests);
        Rules = new UsageEventRules(Catalogue, Ledger, TimeProvider);
        Shuffler = new BatchResultShuffler(options.ShuffleBatchResults, options.Seed);
        Logger = logger;
        Stopping = stopping;
    }

    public TimeProvider TimeProvider { get; }

    public int MaxRequestBodyBytes { get; }

    /// <summary>How times are written in answers.</summary>
    public WireTimeStyle TimeStyle { get; }

    public BearerToken Token { get; }

    public ResourceCatalogue Catalogue { get; }

    public EmulatorLedger Ledger { get; }

    /// <summary>Reconciliation statuses the usage report gives in place of Accepted (<see cref="MeteringEmulator.SetReconciliation"/>).</summary>
    public ReconciliationOverrides Reconciliation { get; }

    public EmulatorFaults Faults { get; }

    public RequestLog Requests { get; }

    public UsageEventRules Rules { get; }

    public BatchResultShuffler Shuffler { get; }

    public ILogger Logger { get; }

    /// <summary>Cancelled when the emulator stops, ending added latencies.</summary>
    public CancellationToken Stopping { get; }
}
