using MarketplaceMetering.Emulator;
using MarketplaceMetering.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace MarketplaceMetering.Accumulation.Tests;

/// <summary>
/// The recorder and the flusher over a PostgreSQL server of the test's own (<see cref="ThrowawayPostgres"/>) that stops
/// as in a crash and starts again mid-run: what the callers see, and that no usage recorded is lost or billed twice.
/// </summary>
[Collection(AccumulationTelemetryGroup.Name)]
public sealed class PostgreSqlOutageTests
{
    private static readonly Guid Resource = Guid.Parse("6e1d2f3a-4b5c-4d6e-8f7a-8b9c0d1e2f3a");

    [SkippableFact]
    public async Task RecordAsync_PostgreSqlDownThenBack_FailsWhileDownAndUsageRecordedMeanwhileIsWrittenOnceBack()
    {
        await using var server = await ThrowawayPostgres.StartAsync();
        await using var ledger = new PostgreSqlUsageLedger(server.ConnectionString);
        await using var h = await AccumulationHarness.StartAsync(ledger: ledger);
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 1m, h.HourAgo(2));

        await server.StopAsync();
        var whileDown = () => h.Recorder.RecordAsync(Resource, "plan", "calls", 10m, h.HourAgo(2));
        await whileDown.Should().ThrowAsync<Exception>("the caller learns that its usage was not recorded");
        h.Recorder.Record(Resource, "plan", "calls", 100m, h.HourAgo(2));
        await h.Recorder.Invoking(r => r.SaveAsync()).Should().ThrowAsync<Exception>();
        await h.Flusher.Invoking(f => f.FlushAsync()).Should().ThrowAsync<Exception>();
        h.Logs.GetSnapshot().Should().Contain(r => r.Id.Id == 100 && r.Level == LogLevel.Error);

        await server.StartAgainAsync();
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 1000m, h.HourAgo(2));
        await h.Recorder.SaveAsync();
        var flush = await h.Flusher.FlushAsync();

        (flush.Claimed, flush.Delivered).Should().Be((1, 1));
        h.Emulator.Ledger.Entries.Should().ContainSingle().Which.Quantity.Should().Be(1101m, "what Record took while the server was down stayed in memory and was written once it was back; the RecordAsync that failed was not recorded");
    }

    [SkippableFact]
    public async Task RecordAsync_PostgreSqlRestartedBetweenWrites_FirstCallAfterItSucceeds()
    {
        // The pool holds connections to the server as it was before the restart; the first one used fails. The server is
        // up again, and nothing was committed on the broken connection: the call must not fail for it.
        await using var server = await ThrowawayPostgres.StartAsync();
        await using var ledger = new PostgreSqlUsageLedger(server.ConnectionString);
        await using var h = await AccumulationHarness.StartAsync(ledger: ledger);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => h.Recorder.RecordAsync(Resource, "plan", "calls", 1m, h.HourAgo(2))));

        await server.StopAsync();
        await server.StartAgainAsync();
        await h.Recorder.RecordAsync(Resource, "plan", "calls", 10m, h.HourAgo(2));

        (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(14m, "the usage is added once");
        h.Logs.GetSnapshot().Should().NotContain(r => r.Id.Id == 100);
    }

    [SkippableFact]
    public async Task FlushAsync_PostgreSqlStopsWhileAClaimIsSent_ThrowsAndTheRowsAreSentAgainAfterTheLeaseAndBilledOnce()
    {
        await using var server = await ThrowawayPostgres.StartAsync();
        await using var ledger = new PostgreSqlUsageLedger(server.ConnectionString);
        await using var h = await AccumulationHarness.StartAsync(o => o.LeaseDuration = TimeSpan.FromMinutes(5), ledger: ledger);
        for (var i = 1; i <= 30; i++)
        {
            await h.Recorder.RecordAsync(Guid.Parse($"00000000-0000-4000-8000-{i:D12}"), "plan", "calls", i, h.HourAgo(2));
        }

        // The server stops (a crash) while the claimed rows are sent: the service answers, the outcomes cannot be saved.
        var options = new MeteringClientOptions { Endpoint = h.Emulator.Endpoint, TimeProvider = h.Clock };
        using var client = new MeteringClient(new HttpClient(new BeforeFirstCall(server.StopAsync)), h.Emulator.Credential, options);
        using var flusher = new UsageFlusher(h.Ledger, client, h.Options);
        await flusher.Invoking(f => f.FlushAsync()).Should().ThrowAsync<Exception>();
        h.Emulator.Ledger.Count.Should().Be(30);

        await server.StartAgainAsync();
        var beforeTheLeaseEnds = await flusher.FlushAsync();
        beforeTheLeaseEnds.Claimed.Should().Be(0, "the rows are still claimed by the flush that could not save its outcomes");
        h.Clock.Advance(TimeSpan.FromMinutes(5));
        var afterIt = await flusher.FlushAsync();

        (afterIt.Claimed, afterIt.Delivered).Should().Be((30, 30));
        (await h.EntriesAsync()).Should().HaveCount(30).And.OnlyContain(r => r.State == UsageLedgerState.Replayed, "the service held each hour already: the resend is a replay");
        h.Emulator.Ledger.Count.Should().Be(30, "each hour is billed once");
        h.Emulator.Ledger.Entries.Sum(e => e.Quantity).Should().Be(Enumerable.Range(1, 30).Sum());
    }

    [SkippableFact]
    public async Task RecordAsync_RoleWithoutWriteRights_FailsUntilGrantedAndUsageRecordedMeanwhileIsWrittenThen()
    {
        var connectionString = PostgresServer.ConnectionString();
        var schema = "t_" + Guid.NewGuid().ToString("N");
        var role = "r_" + Guid.NewGuid().ToString("N");
        await using var admin = Npgsql.NpgsqlDataSource.Create(connectionString);
        await using (var owner = new PostgreSqlUsageLedger(connectionString, schema))
        {
            await owner.InitializeAsync();
        }

        await ExecuteAsync(admin, $"CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA {schema} TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role};");
        try
        {
            var asRole = new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { Username = role }.ConnectionString;
            await using var ledger = new PostgreSqlUsageLedger(asRole, schema);
            await using var h = await AccumulationHarness.StartAsync(ledger: ledger);

            var readOnly = () => h.Recorder.RecordAsync(Resource, "plan", "calls", 10m, h.HourAgo(2));
            (await readOnly.Should().ThrowAsync<Exception>("the caller learns that its usage was not recorded")).Which.Message.Should().Contain("permission denied");
            h.Recorder.Record(Resource, "plan", "calls", 100m, h.HourAgo(2));
            await h.Recorder.Invoking(r => r.SaveAsync()).Should().ThrowAsync<Exception>();
            await h.Flusher.Invoking(f => f.FlushAsync()).Should().ThrowAsync<Exception>();

            await ExecuteAsync(admin, $"GRANT INSERT, UPDATE ON ALL TABLES IN SCHEMA {schema} TO {role}; GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {role};");
            await h.Recorder.SaveAsync();
            await h.Recorder.RecordAsync(Resource, "plan", "calls", 1000m, h.HourAgo(2));

            (await h.EntriesAsync()).Should().ContainSingle().Which.Quantity.Should().Be(1100m, "what Record took meanwhile was kept in memory and written once the role could write");
            (await h.Flusher.FlushAsync()).Delivered.Should().Be(1);
        }
        finally
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            await PostgresServer.DropAsync(schema);
            await ExecuteAsync(admin, $"DROP ROLE IF EXISTS {role};");
        }
    }

    private static async Task ExecuteAsync(Npgsql.NpgsqlDataSource source, string sql)
    {
        await using var command = source.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Host_PostgreSqlUnreachable_FlushesFailAndAreLoggedWhileTheHostKeepsRunning()
    {
        // Nothing listens on the ledger's port: every ledger call fails. The hosted flusher logs each failed flush and
        // tries again at the next interval; the host is not stopped.
        var clock = new TestClock();
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { TimeProvider = clock });
        var logs = new FakeLogCollector();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.AddProvider(new FakeLoggerProvider(logs));
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddSingleton(emulator.Credential);
        builder.Services.AddMarketplaceMeteringClient(o => o.Endpoint = emulator.Endpoint);
        builder.Services.AddMarketplaceMeteringAccumulation(o => o.FlushInterval = TimeSpan.FromMinutes(1), l => (l.Ledger, l.ConnectionString) = (UsageLedgerKind.PostgreSql, "Host=127.0.0.1;Port=1;Username=mm;Timeout=5")).UsePostgreSqlLedger();
        using var host = builder.Build();
        var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;

        await host.StartAsync();
        await MarketplaceMetering.Tests.Eventually.HoldsAsync(() => logs.GetSnapshot().Count(r => r.Id.Id == 108) == 1, "the first flush fails");
        clock.Advance(TimeSpan.FromMinutes(1));
        await MarketplaceMetering.Tests.Eventually.HoldsAsync(() => logs.GetSnapshot().Count(r => r.Id.Id == 108) == 2, "the next flush is tried, and fails too");

        stopping.IsCancellationRequested.Should().BeFalse("a ledger that cannot be reached does not stop the host");
        logs.GetSnapshot().Where(r => r.Id.Id == 108).Should().OnlyContain(r => r.Level == LogLevel.Error && r.Exception != null);
        await host.StopAsync();
    }

    /// <summary>Runs an action before the first call goes to the service, then lets every call through.</summary>
    private sealed class BeforeFirstCall(Func<Task> first) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _calls;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                await first();
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
