using Microsoft.Extensions.Logging;

namespace MarketplaceMetering.Emulator;

/// <summary>How a <see cref="MeteringEmulator"/> starts. Checked once, by <see cref="MeteringEmulator.StartAsync"/>.</summary>
public sealed class MeteringEmulatorOptions
{
    /// <summary>Gets or sets the TCP port to listen on; 0 picks a free one. <value>The default is 0.</value></summary>
    public int Port { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether to listen on every network address instead of 127.0.0.1 only.
    /// <value>The default is <see langword="false"/>.</value>
    /// </summary>
    public bool ListenOnAnyAddress { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether to serve https instead of http, with a self-signed certificate made
    /// up at start for <c>127.0.0.1</c> and <c>localhost</c> (TLS 1.2 or later). Clients that refuse to send a bearer
    /// token over plain http (Azure.Core's <c>BearerTokenAuthenticationPolicy</c>, and so every Azure-SDK-style client)
    /// need it. Trust the certificate through <see cref="MeteringEmulator.CertificateThumbprint"/> or
    /// <see cref="MeteringEmulator.CertificatePemPath"/>. <value>The default is <see langword="false"/>.</value>
    /// </summary>
    public bool UseHttps { get; set; }

    /// <summary>
    /// Gets or sets the bearer token the emulator accepts; <see langword="null"/> makes up a random one.
    /// <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public string? Token { get; set; }

    /// <summary>
    /// Gets or sets the emulator's clock: "now" for the 24-hour window, the hour of duplicates and
    /// <c>messageTime</c>. Tests pass a fake one to move time without waiting.
    /// <value>The default is <see cref="TimeProvider.System"/>.</value>
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Gets the catalogue of resources. When empty (the default), any resource, plan and dimension is accepted.
    /// </summary>
    public IList<EmulatedResource> Resources { get; } = [];

    /// <summary>
    /// Gets or sets the seed of the random fault draws and batch result order, to make a run reproducible;
    /// <see langword="null"/> seeds from the system. <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether batch results come back out of order, as the real service's do.
    /// <value>The default is <see langword="true"/>.</value>
    /// </summary>
    public bool ShuffleBatchResults { get; set; } = true;

    /// <summary>
    /// Gets or sets how times are written in answers (<c>messageTime</c>, <c>effectiveStartTime</c>,
    /// <c>usageDate</c>): with a <c>Z</c>, as recorded from the real service, or without an offset, as in its
    /// documentation. Both are UTC. <value>The default is <see cref="WireTimeStyle.UtcDesignator"/>.</value>
    /// </summary>
    public WireTimeStyle TimeStyle { get; set; } = WireTimeStyle.UtcDesignator;

    /// <summary>
    /// Gets or sets the largest request body accepted; a longer one is answered with a 400.
    /// <value>The default is 1 MiB.</value>
    /// </summary>
    public int MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Gets or sets how many of the latest <c>/api</c> requests <see cref="MeteringEmulator.Requests"/> keeps; older ones
    /// are forgotten, so an emulator left running (a demo, a throughput test) does not grow without limit. 0 keeps none.
    /// The billing state (<see cref="MeteringEmulator.Ledger"/>) is never trimmed.
    /// <value>The default is 10,000.</value>
    /// </summary>
    public int MaxRecordedRequests { get; set; } = 10_000;

    /// <summary>Gets the fault probabilities in force at start; all zero by default. Change them later through <see cref="MeteringEmulator.Faults"/>.</summary>
    public EmulatorFaultSettings Faults { get; } = new();

    /// <summary>
    /// Gets or sets where the emulator (and its web server) logs; <see langword="null"/> logs nothing.
    /// The emulator does not dispose it. <value>The default is <see langword="null"/>.</value>
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}
