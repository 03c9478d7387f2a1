using MarketplaceMetering.Emulator;
using Microsoft.Data.Sqlite;
using MarketplaceMetering.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace MarketplaceMetering.Accumulation.Tests;

public sealed class AccumulationRegistrationTests
{
    private static readonly Guid Resource = Guid.Parse("9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4");

    [Fact]
    public async Task Host_FromConfiguration_RecordsAndItsHostedFlusherSendsClosedHours()
    {
        var clock = new TestClock();
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { TimeProvider = clock });
        var folder = Directory.CreateTempSubdirectory("mm-di-").FullName;
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MarketplaceMetering:Endpoint"] = emulator.Endpoint.ToString(),
            ["MarketplaceMetering:Credential:Kind"] = "TokenCredential",
            ["MarketplaceMetering:Accumulation:Ledger"] = "Sqlite",
            ["MarketplaceMetering:Accumulation:ConnectionString"] = "Data Source=" + Path.Combine(folder, "usage.db"),
            ["MarketplaceMetering:Accumulation:Grace"] = "00:00:00",
            ["MarketplaceMetering:Accumulation:FlushInterval"] = "00:00:01",
        });
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddSingleton(emulator.Credential);
        builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("MarketplaceMetering"));
        builder.Services.AddMarketplaceMeteringAccumulation(builder.Configuration.GetSection("MarketplaceMetering:Accumulation"));
        using var host = builder.Build();

        await host.StartAsync();
        var recorder = host.Services.GetRequiredService<UsageRecorder>();
        await recorder.RecordAsync(Resource, "plan", "calls", 12m, clock.GetUtcNow().AddHours(-1));
        clock.Advance(TimeSpan.FromSeconds(1)); // the flusher's next round
        await MarketplaceMetering.Tests.Eventually.HoldsAsync(() => emulator.Ledger.Count == 1, "the hosted flusher sends the closed hour");
        await host.StopAsync();

        emulator.Ledger.Entries.Single().Quantity.Should().Be(12m);
        recorder.Ledger.Should().BeOfType<SqliteUsageLedger>().Which.Path.Should().Be(Path.Combine(folder, "usage.db"));
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task ServiceProvider_DisposedSynchronously_WritesTheRecordersUsageToTheLedgerFile()
    {
        var folder = Directory.CreateTempSubdirectory("mm-di-").FullName;
        var path = Path.Combine(folder, "usage.db");
        var clock = new TestClock();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddSingleton(_ => new MeteringClient(Azure.Core.DelegatedTokenCredential.Create((_, _) => new Azure.Core.AccessToken("t", DateTimeOffset.MaxValue)), new MeteringClientOptions { Endpoint = new Uri("http://127.0.0.1:1/") }));
        services.AddMarketplaceMeteringAccumulation(o => o.DurabilityInterval = TimeSpan.FromHours(1), ledger => ledger.ConnectionString = path);
        var provider = services.BuildServiceProvider();
        var recorder = provider.GetRequiredService<UsageRecorder>();
        recorder.Record(Resource, "plan", "calls", 3m);
        recorder.Record(Resource, "plan", "calls", 0.25m);
        recorder.Record(Resource, "plan", "gigabytes", 7.5m, clock.GetUtcNow().AddHours(-2));

        // As `using var provider = ...` ends in a console app: only in memory until now (the durability interval is an hour).
        var dispose = () => provider.Dispose();

        dispose.Should().NotThrow();
        await using var reopened = new SqliteUsageLedger(path);
        var rows = await reopened.GetEntriesAsync(clock.GetUtcNow().AddDays(-2), clock.GetUtcNow().AddDays(2));
        rows.Select(r => (r.Resource, r.PlanId, r.Dimension, r.Hour, r.Quantity, r.State)).Should().BeEquivalentTo(
        [
            (UsageResource.FromId(Resource), "plan", "calls", AccumulationRules.HourOf(clock.GetUtcNow()), 3.25m, UsageLedgerState.Open),
            (UsageResource.FromId(Resource), "plan", "gigabytes", AccumulationRules.HourOf(clock.GetUtcNow().AddHours(-2)), 7.5m, UsageLedgerState.Open),
        ]);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Host_DefaultLeaseAndDefaultClientSettings_Starts()
    {
        var folder = Directory.CreateTempSubdirectory("mm-di-").FullName;
        using var host = LeaseHost(folder, new Dictionary<string, string?>());

        await host.StartAsync(); // the lease check passes: nothing to send, so nothing is sent
        await host.StopAsync();

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Host_ClientSendCanOutlastHalfTheDefaultLease_FailsAtStartNamingLeaseDurationAndNetworkTimeout()
    {
        var folder = Directory.CreateTempSubdirectory("mm-di-").FullName;
        using var host = LeaseHost(folder, new Dictionary<string, string?>
        {
            ["MarketplaceMetering:NetworkTimeout"] = "00:02:00",
            ["MarketplaceMetering:Retry:MaxRetries"] = "5",
        });

        var act = () => host.StartAsync();

        // 6 attempts of 2 minutes, and 5 waits of up to Retry.MaxDelay (30 s): 14 min 30 s, against a 20-minute lease.
        var message = (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message;
        message.Should().Contain("MarketplaceMetering:Accumulation:LeaseDuration is 0:20:00")
            .And.Contain("NetworkTimeout 0:02:00")
            .And.Contain("Retry.MaxRetries 5")
            .And.Contain("0:14:30")
            .And.Contain("longer than 0:29:00");
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task Host_ClientSendCanOutlastHalfTheLongestLeaseAllowed_FailsAtStartSayingOnlyTheClientCanChange()
    {
        // 4 attempts of 10 minutes and 3 waits of 30 s: 41 min 30 s. No lease outlasts twice that: LeaseDuration is at
        // most 1 hour, so "make LeaseDuration longer than 1:23:00" would only send the operator into the next refusal.
        var folder = Directory.CreateTempSubdirectory("mm-di-").FullName;
        using var host = LeaseHost(folder, new Dictionary<string, string?>
        {
            ["MarketplaceMetering:NetworkTimeout"] = "00:10:00",
            ["MarketplaceMetering:Accumulation:LeaseDuration"] = "01:00:00",
        });

        var act = () => host.StartAsync();

        var message = (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message;
        message.Should().Contain("MarketplaceMetering:Accumulation:LeaseDuration is 1:00:00")
            .And.Contain("0:41:30")
            .And.Contain("at most 1:00:00")
            .And.Contain("less than 0:30:00")
            .And.NotContain("longer than 1:23:00");
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>A host with the client and the accumulation layer from configuration, on a test clock, its ledger in <paramref name="folder"/>.</summary>
    private static IHost LeaseHost(string folder, Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        settings["MarketplaceMetering:Endpoint"] = "http://127.0.0.1:1/";
        settings["MarketplaceMetering:Accumulation:ConnectionString"] = Path.Combine(folder, "usage.db");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton<TimeProvider>(new TestClock());
        builder.Services.AddSingleton<Azure.Core.TokenCredential>(Azure.Core.DelegatedTokenCredential.Create((_, _) => new Azure.Core.AccessToken("t", DateTimeOffset.MaxValue)));
        builder.Services.AddMarketplaceMeteringClient(builder.Configuration.GetSection("MarketplaceMetering"));
        builder.Services.AddMarketplaceMeteringAccumulation(builder.Configuration.GetSection("MarketplaceMetering:Accumulation"));
        return builder.Build();
    }

    [Fact]
    public async Task Host_SqliteConnectionStringWithAnotherSetting_FailsAtStartNamingItInsteadOfUsingAnotherFile()
    {
        var folder = Directory.CreateTempSubdirectory("mm-di-").FullName;
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MarketplaceMetering:Accumulation:ConnectionString"] = "Data Source=" + Path.Combine(folder, "usage.db") + ";Cache=Shared",
        });
        builder.Services.AddMarketplaceMeteringAccumulation(builder.Configuration.GetSection("MarketplaceMetering:Accumulation"));
        using var host = builder.Build();

        var act = () => host.StartAsync();

        (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message
            .Should().Contain("MarketplaceMetering:Accumulation:ConnectionString").And.ContainEquivalentOf("cache");
        Directory.GetFiles(folder).Should().BeEmpty("no ledger file is created under a name made of the connection string");
        Directory.Delete(folder, recursive: true);
    }

    [Theory]
    [InlineData("Host=db.internal;Username=metering;Password=hunter2;Database=usage")]
    [InlineData("Uid=hunter2")] // Npgsql reads Uid as the user name; the CLI's --ledger knows it too
    public async Task Host_PostgreSqlConnectionStringWithoutTheLedgerKey_FailsAtStartWithoutThePasswordInsteadOfMakingAFileOfIt(string connectionString)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            // "Ledger": "PostgreSql" forgotten: the default is SQLite, and a SQLite connection string is a file's path, so
            // the ledger would be a file in the working directory named after the password.
            ["MarketplaceMetering:Accumulation:ConnectionString"] = connectionString,
        });
        builder.Services.AddMarketplaceMeteringAccumulation(builder.Configuration.GetSection("MarketplaceMetering:Accumulation"));
        using var host = builder.Build();

        var act = () => host.StartAsync();

        var message = (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message;
        message.Should().Contain("MarketplaceMetering:Accumulation:ConnectionString").And.ContainEquivalentOf("PostgreSql").And.NotContain("hunter2");
    }

    [Fact]
    public async Task SqliteLedger_DataSourceQuoted_OpensThePathWithoutTheQuotes()
    {
        var path = Path.Combine(Path.GetTempPath(), "mm di " + Guid.NewGuid().ToString("N"), "usage;1.db");
        var services = new ServiceCollection();
        services.AddMarketplaceMeteringAccumulation(_ => { }, ledger => ledger.ConnectionString = "Data Source=\"" + path + "\";");
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredKeyedService<UsageLedger>(UsageLedgerKind.Sqlite).Should().BeOfType<SqliteUsageLedger>().Which.Path.Should().Be(path);
    }

    [Theory]
    [InlineData("configuration", "configuration")]
    [InlineData("configuration", "code")]
    [InlineData("code", "configuration")]
    public async Task AddMarketplaceMeteringAccumulation_CalledTwice_TheLastCallWinsEntirely(string first, string second)
    {
        // The first call describes production (a PostgreSQL ledger, its password, a long grace); the second a local file and
        // nothing else. Nothing of the first may survive where the second leaves a setting out: above all not the ledger.
        var path = Path.Combine(Path.GetTempPath(), "mm-twice-" + Guid.NewGuid().ToString("N") + ".db");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Production:Ledger"] = "PostgreSql",
            ["Production:ConnectionString"] = "Host=prod.example;Username=mm;Password=hunter2",
            ["Production:Schema"] = "production",
            ["Production:Grace"] = "00:30:00",
            ["Production:InstanceName"] = "prod-1",
            ["Staging:ConnectionString"] = "Data Source=" + path,
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton(_ => new MeteringClient(Azure.Core.DelegatedTokenCredential.Create((_, _) => new Azure.Core.AccessToken("t", DateTimeOffset.MaxValue)), new MeteringClientOptions { Endpoint = new Uri("http://127.0.0.1:1/") }));
        if (first == "configuration")
        {
            services.AddMarketplaceMeteringAccumulation(configuration.GetSection("Production"));
        }
        else
        {
            services.AddMarketplaceMeteringAccumulation(
                o => (o.Grace, o.InstanceName) = (TimeSpan.FromMinutes(30), "prod-1"),
                l => (l.Ledger, l.ConnectionString, l.Schema) = (UsageLedgerKind.PostgreSql, "Host=prod.example;Username=mm;Password=hunter2", "production"));
        }

        services.Configure<UsageAccumulationOptions>(o => o.MaxRowsPerClaim = 77); // the app's own setting: it stays
        if (second == "configuration")
        {
            services.AddMarketplaceMeteringAccumulation(configuration.GetSection("Staging"));
        }
        else
        {
            services.AddMarketplaceMeteringAccumulation(_ => { }, l => l.ConnectionString = "Data Source=" + path);
        }

        await using var provider = services.BuildServiceProvider();

        var defaults = new UsageAccumulationOptions();
        var options = provider.GetRequiredService<IOptions<UsageAccumulationOptions>>().Value;
        (options.Grace, options.InstanceName, options.MaxRowsPerClaim).Should().Be((defaults.Grace, defaults.InstanceName, 77));
        var ledgerOptions = provider.GetRequiredService<IOptions<UsageLedgerOptions>>().Value;
        (ledgerOptions.Ledger, ledgerOptions.ConnectionString, ledgerOptions.Schema).Should().Be((UsageLedgerKind.Sqlite, "Data Source=" + path, new UsageLedgerOptions().Schema));
        provider.GetRequiredService<UsageRecorder>().Ledger.Should().BeOfType<SqliteUsageLedger>().Which.Path.Should().Be(path);
    }

    [Fact]
    public async Task Host_BadConfiguration_FailsAtStartNamingEveryBadKey()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MarketplaceMetering:Accumulation:Ledger"] = "Oracle",
            ["MarketplaceMetering:Accumulation:Grace"] = "five minutes",
            ["MarketplaceMetering:Accumulation:DurabilityInterval"] = "02:00:00",
            ["MarketplaceMetering:Accumulation:MaxRowsPerClaim"] = "many",
            ["MarketplaceMetering:Accumulation:FlushIntervall"] = "00:01:00",
        });
        builder.Services.AddMarketplaceMeteringAccumulation(builder.Configuration.GetSection("MarketplaceMetering:Accumulation"));
        using var host = builder.Build();

        var act = () => host.StartAsync();

        var message = (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message;
        message.Should().Contain("MarketplaceMetering:Accumulation:Ledger is 'Oracle'")
            .And.Contain("MarketplaceMetering:Accumulation:Grace is 'five minutes'")
            .And.Contain("MarketplaceMetering:Accumulation:DurabilityInterval must be between")
            .And.Contain("MarketplaceMetering:Accumulation:MaxRowsPerClaim is 'many'")
            .And.Contain("MarketplaceMetering:Accumulation:FlushIntervall is not a setting")
            .And.Contain("No MeteringClient is registered");
    }

    [Fact]
    public async Task UsageFlusher_EverySettingOutOfRange_OneArgumentExceptionNamesEachBeforeAnythingRuns()
    {
        await using var ledger = new SqliteUsageLedger(Path.Combine(Path.GetTempPath(), "mm-options-" + Guid.NewGuid() + ".db"));
        using var client = new MeteringClient(Azure.Core.DelegatedTokenCredential.Create((_, _) => new Azure.Core.AccessToken("t", DateTimeOffset.MaxValue)), new MeteringClientOptions { Endpoint = new Uri("http://127.0.0.1:1/") });
        var options = new UsageAccumulationOptions
        {
            Grace = TimeSpan.FromHours(13),
            DurabilityInterval = TimeSpan.FromMilliseconds(1),
            FlushInterval = TimeSpan.FromHours(2),
            LeaseDuration = TimeSpan.Zero,
            DeadlineWarningMargin = TimeSpan.FromHours(-1),
            MaxRowsPerClaim = 0,
            InstanceName = " ",
            TimeProvider = null!,
        };

        var flusher = () => new UsageFlusher(ledger, client, options);
        var recorder = () => new UsageRecorder(ledger, options);

        foreach (var act in new Func<object>[] { flusher, recorder })
        {
            var e = act.Should().Throw<ArgumentException>().Which;
            e.ParamName.Should().Be("options");
            foreach (var setting in new[] { "Grace", "DurabilityInterval", "FlushInterval", "LeaseDuration", "DeadlineWarningMargin", "MaxRowsPerClaim", "InstanceName", "TimeProvider" })
            {
                e.Message.Should().Contain(setting);
            }
        }

        File.Exists(ledger.Path).Should().BeFalse("nothing ran: the ledger was not even created");
    }

    [Fact]
    public async Task Host_PostgreSqlConfiguredWithoutItsPackage_FailsAtStartSayingWhatToCall()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Accumulation:Ledger"] = "PostgreSql" });
        builder.Services.AddMarketplaceMeteringAccumulation(builder.Configuration.GetSection("Accumulation"));
        using var host = builder.Build();

        var act = () => host.StartAsync();

        var message = (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message;
        message.Should().Contain("Accumulation:Ledger is PostgreSql, but that ledger is not registered").And.Contain("UsePostgreSqlLedger()")
            .And.Contain("Accumulation:ConnectionString is required");
    }

    [Fact]
    public async Task Host_PostgreSqlBadSchemaAndMalformedConnectionString_FailsAtStartNamingBothKeysWithoutThePassword()
    {
        await using var emulator = await MeteringEmulator.StartAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Accumulation:Ledger"] = "PostgreSql",
            ["Accumulation:ConnectionString"] = "Host=db.internal;Username=metering;Password=hunter2;Prot=5432",
            ["Accumulation:Schema"] = "Usage-Ledger",
        });
        builder.Services.AddSingleton(emulator.Credential);
        builder.Services.AddMarketplaceMeteringClient(o => o.Endpoint = emulator.Endpoint);
        builder.Services.AddMarketplaceMeteringAccumulation(builder.Configuration.GetSection("Accumulation")).UsePostgreSqlLedger();
        using var host = builder.Build();

        var act = () => host.StartAsync();

        var message = (await act.Should().ThrowAsync<OptionsValidationException>()).Which.Message;
        message.Should().Contain("Accumulation:ConnectionString").And.Contain("Accumulation:Schema").And.NotContain("hunter2");
    }

    [SkippableFact]
    public async Task Host_UsePostgreSqlLedger_RecorderWritesToPostgreSql()
    {
        var connection = PostgresServer.ConnectionString();
        var schema = "t_" + Guid.NewGuid().ToString("N");
        await using var emulator = await MeteringEmulator.StartAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(emulator.Credential);
        builder.Services.AddMarketplaceMeteringClient(o => o.Endpoint = emulator.Endpoint);
        builder.Services.AddMarketplaceMeteringAccumulation(_ => { }, l => (l.ConnectionString, l.Schema) = (connection, schema)).UsePostgreSqlLedger();
        using (var host = builder.Build())
        {
            await host.StartAsync();
            await host.Services.GetRequiredService<UsageRecorder>().RecordAsync(Resource, "plan", "calls", 2m);
            var rows = await host.Services.GetRequiredService<UsageLedger>().GetEntriesAsync(DateTimeOffset.UnixEpoch, DateTimeOffset.MaxValue);
            rows.Should().ContainSingle().Which.Quantity.Should().Be(2m);
            host.Services.GetRequiredService<UsageLedger>().Should().BeOfType<PostgreSqlUsageLedger>().Which.Schema.Should().Be(schema);
            await host.StopAsync();
        }

        await PostgresServer.DropAsync(schema);
    }

    [Theory]
    [InlineData(8, 8)]
    [InlineData(1, 1)]
    [InlineData(null, 4)] // a client the app built and registered: its options cannot be seen, so the client's default
    public async Task Host_RegisteredClientsMaxConcurrency_IsHowManyBatchesTheFlusherSendsAtOnce(int? maxConcurrency, int expected)
    {
        await using var emulator = await MeteringEmulator.StartAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(emulator.Credential);
        if (maxConcurrency is { } concurrency)
        {
            builder.Services.AddMarketplaceMeteringClient(o => (o.Endpoint, o.MaxConcurrency) = (emulator.Endpoint, concurrency));
        }
        else
        {
            builder.Services.AddSingleton(new MeteringClient(emulator.Credential, new MeteringClientOptions { Endpoint = emulator.Endpoint, MaxConcurrency = 8 }));
        }

        var path = Path.Combine(Path.GetTempPath(), "mm-concurrency-" + Guid.NewGuid().ToString("N") + ".db");
        builder.Services.AddMarketplaceMeteringAccumulation(_ => { }, l => l.ConnectionString = path);
        using var host = builder.Build();

        var flusher = host.Services.GetRequiredService<UsageFlusher>();

        (flusher.BatchesAtOnce, flusher.RowsPerSubmission).Should().Be((expected, expected * MeteringClient.MaxBatchSize));
        await host.Services.GetRequiredService<UsageLedger>().DisposeAsync();
        SqliteConnection.ClearAllPools();
        File.Delete(path);
    }

    [Theory]
    [InlineData("instance", true)] // the app built the client and registered the instance
    [InlineData("factory", true)] // ... or a factory
    [InlineData("AddMarketplaceMeteringClient", false)]
    [InlineData("factory and Configure<MeteringClientOptions>", false)] // the app's own options, which the flusher reads
    public async Task Host_ClientTheFlusherCannotSee_WarnsAtStartWhatItAssumesAndHowToShowIt(string registration, bool warns)
    {
        var clock = new TestClock();
        await using var emulator = await MeteringEmulator.StartAsync(new MeteringEmulatorOptions { TimeProvider = clock });
        var logs = new FakeLogCollector();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.AddProvider(new FakeLoggerProvider(logs));
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddSingleton(emulator.Credential);
        var clientOptions = new MeteringClientOptions { Endpoint = emulator.Endpoint, MaxConcurrency = 8 };
        switch (registration)
        {
            case "instance":
                builder.Services.AddSingleton(new MeteringClient(emulator.Credential, clientOptions));
                break;
            case "factory":
                builder.Services.AddSingleton(_ => new MeteringClient(emulator.Credential, clientOptions));
                break;
            case "AddMarketplaceMeteringClient":
                builder.Services.AddMarketplaceMeteringClient(o => (o.Endpoint, o.MaxConcurrency) = (emulator.Endpoint, 8));
                break;
            default:
                builder.Services.Configure<MeteringClientOptions>(o => (o.Endpoint, o.MaxConcurrency) = (emulator.Endpoint, 8));
                builder.Services.AddSingleton(provider => new MeteringClient(emulator.Credential, provider.GetRequiredService<IOptions<MeteringClientOptions>>().Value));
                break;
        }

        var path = Path.Combine(Path.GetTempPath(), "mm-unseen-" + Guid.NewGuid().ToString("N") + ".db");
        builder.Services.AddMarketplaceMeteringAccumulation(_ => { }, l => l.ConnectionString = path);
        using var host = builder.Build();

        await host.StartAsync();
        await host.StopAsync();

        var warnings = logs.GetSnapshot().Where(r => r.Id.Id == 117).ToList();
        if (warns)
        {
            warnings.Should().ContainSingle().Which.Should().Match<FakeLogRecord>(r =>
                r.Level == LogLevel.Warning
                && r.Message.Contains("assumes MaxConcurrency 4 (the client's default)", StringComparison.Ordinal)
                && r.Message.Contains("did not check at start-up that LeaseDuration 00:20:00", StringComparison.Ordinal)
                && r.Message.Contains("register the client with AddMarketplaceMeteringClient, or configure the options it is built with through services.Configure<MeteringClientOptions>", StringComparison.Ordinal));
            host.Services.GetRequiredService<UsageFlusher>().BatchesAtOnce.Should().Be(4);
        }
        else
        {
            warnings.Should().BeEmpty();
            host.Services.GetRequiredService<UsageFlusher>().BatchesAtOnce.Should().Be(8, "the flusher sees the client's settings");
        }

        SqliteConnection.ClearAllPools();
        File.Delete(path);
    }
}
