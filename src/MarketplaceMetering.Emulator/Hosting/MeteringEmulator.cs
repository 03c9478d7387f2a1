using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Azure.Core;
using MarketplaceMetering.Emulator.Api;
using MarketplaceMetering.Emulator.Hosting;
using MarketplaceMetering.Emulator.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MarketplaceMetering.Emulator;

/// <summary>
/// A local metering service that enforces the real one's rules (hourly duplicates, the 24-hour window, 25-event
/// batches, bearer tokens, catalogue statuses) and answers with its shapes, with deterministic fault injection.
/// Start one per test, point a client at <see cref="Endpoint"/> with <see cref="Credential"/>, and assert on
/// <see cref="Ledger"/> and <see cref="Requests"/>.
/// </summary>
/// <example>
/// <code>
/// await using var emulator = await MeteringEmulator.StartAsync();
/// // POST {emulator.Endpoint}api/usageEvent?api-version=2018-08-31 with "Authorization: Bearer {emulator.Token}"
/// </code>
/// </example>
public sealed class MeteringEmulator : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly WebApplication _app;
    private readonly EmulatorState _state;
    private readonly EmulatorCredential _credential;
    private readonly CancellationTokenSource _stopping;
    private readonly EmulatorCertificate? _certificate;
    private int _disposed;

    private MeteringEmulator(WebApplication app, EmulatorState state, string token, Uri endpoint, EmulatorCertificate? certificate, CancellationTokenSource stopping)
    {
        _app = app;
        _state = state;
        _stopping = stopping;
        _certificate = certificate;
        Token = token;
        Endpoint = endpoint;
        _credential = new EmulatorCredential(token, state.TimeProvider);
    }

    /// <summary>
    /// Gets the service root, e.g. <c>http://127.0.0.1:41234/</c>, or <c>https://127.0.0.1:41234/</c> with
    /// <see cref="MeteringEmulatorOptions.UseHttps"/>; clients append <c>api/usageEvent</c> and so on.
    /// </summary>
    public Uri Endpoint { get; }

    /// <summary>
    /// Gets the SHA-256 hash of the https certificate, as upper-case hex (what
    /// <see cref="System.Security.Cryptography.X509Certificates.X509Certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName)"/>
    /// returns for <see cref="System.Security.Cryptography.HashAlgorithmName.SHA256"/>); <see langword="null"/> without
    /// <see cref="MeteringEmulatorOptions.UseHttps"/>. A client trusts exactly this emulator by comparing the server
    /// certificate's hash with it.
    /// </summary>
    public string? CertificateThumbprint => _certificate?.Thumbprint;

    /// <summary>
    /// Gets the path of a PEM file holding the https certificate (not its private key), for tools that trust a
    /// file (<c>curl --cacert</c>, <c>SSL_CERT_FILE</c>); <see langword="null"/> without
    /// <see cref="MeteringEmulatorOptions.UseHttps"/>. The file is deleted when the emulator stops.
    /// </summary>
    public string? CertificatePemPath => _certificate?.PemPath;

    /// <summary>Gets the bearer token the emulator accepts.</summary>
    public string Token { get; }

    /// <summary>
    /// Gets a credential that returns <see cref="Token"/>, expiring one hour after the emulator's current time,
    /// for any scope.
    /// </summary>
    public TokenCredential Credential => _credential;

    /// <summary>Gets how many times <see cref="Credential"/> was asked for a token.</summary>
    public int TokenRequests => _credential.Requests;

    /// <summary>Gets the events the emulator accepted.</summary>
    public EmulatorLedger Ledger => _state.Ledger;

    /// <summary>Gets the run-time fault controls.</summary>
    public EmulatorFaults Faults => _state.Faults;

    /// <summary>
    /// Gets a snapshot of every <c>/api</c> request received so far, in arrival order, including any still being
    /// answered (their <see cref="RecordedRequest.ResponseStatus"/> is <see langword="null"/>): the latest
    /// <see cref="MeteringEmulatorOptions.MaxRecordedRequests"/> of them.
    /// </summary>
    public IReadOnlyList<RecordedRequest> Requests => _state.Requests.Snapshot();

    /// <summary>Starts an emulator and waits until it listens.</summary>
    /// <param name="options">The options; <see langword="null"/> for the defaults (loopback, a free port, an open catalogue).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running emulator; dispose it to stop it.</returns>
    /// <exception cref="ArgumentException">An option is not valid; the message lists every bad one.</exception>
    /// <exception cref="IOException">The port is in use, or the certificate's PEM file cannot be written.</exception>
    public static async Task<MeteringEmulator> StartAsync(MeteringEmulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new MeteringEmulatorOptions();
        MeteringEmulatorOptionsValidator.ThrowIfInvalid(options);

        var token = options.Token ?? CreateToken();
        var loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        var certificate = options.UseHttps ? EmulatorCertificate.Create() : null;
        var stopping = new CancellationTokenSource();
        var state = new EmulatorState(options, token, loggerFactory.CreateLogger("MarketplaceMetering.Emulator"), stopping.Token);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(MeteringEmulator).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Logging.ClearProviders();
        builder.Services.Replace(ServiceDescriptor.Singleton(loggerFactory));
        builder.Services.Replace(ServiceDescriptor.Singleton<IHostLifetime, NoSignalHostLifetime>());
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = StopTimeout);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes + RequestBodyReader.DrainAllowance;
            kestrel.Listen(
                options.ListenOnAnyAddress ? IPAddress.Any : IPAddress.Loopback,
                options.Port,
                listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    if (certificate is not null)
                    {
                        listen.UseHttps(certificate.HttpsOptions());
                    }
                });
        });

        var app = builder.Build();
        var handler = new EmulatorRequestHandler(state);
        app.Run(handler.HandleAsync);

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var port = BoundPort(app);
            var scheme = certificate is null ? "http" : "https";
            var endpoint = new Uri(string.Create(CultureInfo.InvariantCulture, $"{scheme}://127.0.0.1:{port}/"));
            return new MeteringEmulator(app, state, token, endpoint, certificate, stopping);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            stopping.Dispose();
            certificate?.Dispose();
            throw;
        }
    }

    /// <summary>Forgets the recorded requests.</summary>
    public void ClearRequests() => _state.Requests.Clear();

    /// <summary>
    /// Changes a resource's status at run time, e.g. to <see cref="EmulatedResourceStatus.Suspended"/> so that its
    /// usage is refused with <c>ResourceNotActive</c>. With an open catalogue, any resource id (the resource usage
    /// id for a managed application) can be given a status.
    /// </summary>
    /// <param name="resourceId">The resource id (or resource usage id).</param>
    /// <param name="status">The new status.</param>
    /// <exception cref="ArgumentException">The catalogue is not open and does not hold <paramref name="resourceId"/>.</exception>
    public void SetResourceStatus(Guid resourceId, EmulatedResourceStatus status) => _state.Catalogue.SetStatus(resourceId, status);

    /// <summary>
    /// Makes <c>GET /api/usageEvents</c> report the usage of one resource, dimension and UTC day with another
    /// reconciliation status, as the marketplace does while it processes usage (<c>Submitted</c>), after it refused it
    /// (<c>Rejected</c>), or when it processed another quantity than was submitted (<c>Mismatch</c>). Nothing else
    /// changes: the usage stays in the ledger, and sending the hour again is still a Duplicate. The last call for a
    /// resource, dimension and day wins; <c>Accepted</c> restores the default.
    /// </summary>
    /// <param name="resourceId">The resource id the usage is reported under (the resource usage id for a managed application).</param>
    /// <param name="dimension">The dimension, compared ignoring case.</param>
    /// <param name="day">Any time in the UTC day.</param>
    /// <param name="reconStatus">The status to report, as the service spells it (<c>Submitted</c>, <c>Rejected</c>, <c>Mismatch</c>, <c>Accepted</c>, or any other).</param>
    /// <param name="processedQuantity">The processed quantity to report; by default all of the submitted quantity for <c>Accepted</c> and 0 for any other status.</param>
    /// <exception cref="ArgumentException"><paramref name="dimension"/> or <paramref name="reconStatus"/> is empty, or <paramref name="processedQuantity"/> is negative.</exception>
    public void SetReconciliation(Guid resourceId, string dimension, DateTimeOffset day, string reconStatus, decimal? processedQuantity = null) =>
        _state.Reconciliation.Set(resourceId, dimension, day, reconStatus, processedQuantity);

    /// <summary>Stops listening, ending requests in progress, and releases the port.</summary>
    /// <returns>A task that completes when the emulator has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        using (var timeout = new CancellationTokenSource(StopTimeout))
        {
            try
            {
                await _app.StopAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Connections still open after the timeout are closed by disposal.
            }
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _certificate?.Dispose();
    }

    private static string CreateToken() => "emu_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    private static int BoundPort(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        var address = addresses.First();
        return new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal)).Port;
    }
}
