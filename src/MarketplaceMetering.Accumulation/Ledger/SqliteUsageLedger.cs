using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace MarketplaceMetering;

/// <summary>
/// The ledger in one SQLite file (Microsoft.Data.Sqlite): write-ahead logging, and <c>synchronous=FULL</c> so that a
/// committed write survives a crash of the process and of the machine. The default ledger, for one app instance (or
/// several processes on one machine sharing the file).
/// </summary>
/// <remarks>
/// Quantities are stored as decimal text and summed in .NET <see cref="decimal"/> inside the write transaction
/// (SQLite has no exact decimal type; its numbers are binary doubles). Plan ids and dimensions compare ignoring ASCII
/// case, as the service does. Connections, commands and readers are disposed synchronously: Microsoft.Data.Sqlite's
/// disposal does no I/O that an asynchronous one would avoid.
/// </remarks>
public sealed class SqliteUsageLedger : UsageLedger
{
    private const string Columns =
        "id, resource, resource_is_uri, plan_id, dimension, hour, quantity, state, usage_event_id, detail, attempts, created_at, updated_at, submitted_at, completed_at, claim_id, resource_usage_id";

    private static readonly string[] Migrations =
    [
        // Version 1.
        """
        CREATE TABLE mm_usage (
            id INTEGER PRIMARY KEY,
            resource TEXT NOT NULL COLLATE NOCASE,
            resource_is_uri INTEGER NOT NULL,
            plan_id TEXT NOT NULL COLLATE NOCASE,
            dimension TEXT NOT NULL COLLATE NOCASE,
            hour INTEGER NOT NULL,
            quantity TEXT NOT NULL,
            state INTEGER NOT NULL,
            usage_event_id TEXT NULL,
            detail TEXT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            claim_owner TEXT NULL,
            claim_id TEXT NULL,
            lease_until INTEGER NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            submitted_at INTEGER NULL,
            completed_at INTEGER NULL,
            UNIQUE (resource, plan_id, dimension, hour)
        );
        CREATE INDEX mm_usage_state_hour ON mm_usage (state, hour);
        CREATE INDEX mm_usage_hour ON mm_usage (hour);
        CREATE TABLE mm_carry_forward (
            id INTEGER PRIMARY KEY,
            resource TEXT NOT NULL,
            resource_is_uri INTEGER NOT NULL,
            plan_id TEXT NOT NULL,
            dimension TEXT NOT NULL,
            from_hour INTEGER NOT NULL,
            into_hour INTEGER NOT NULL,
            quantity TEXT NOT NULL,
            recorded_at INTEGER NOT NULL
        );
        CREATE INDEX mm_carry_forward_from ON mm_carry_forward (from_hour);
        """,

        // Version 2: the id the service recorded the resource under (for a managed application sent by URI, the
        // resource usage id of its answer), so that usage recorded by URI can be reconciled; and the oldest schema
        // version whose library may still use the ledger (see OldestCompatibleVersion).
        """
        ALTER TABLE mm_usage ADD COLUMN resource_usage_id TEXT NULL;
        ALTER TABLE mm_schema ADD COLUMN compatible_from INTEGER NULL;
        """,
    ];

    /// <summary>
    /// The oldest schema version whose library may still read and write a ledger at this library's version, stored with
    /// the version: a change that older code can live with (a new nullable column it never touches) keeps the older
    /// number, so instances of the previous release keep working during a rolling upgrade; a change it cannot live with
    /// raises it.
    /// </summary>
    private const int OldestCompatibleVersion = 1;

    private readonly string _connectionString;

    /// <summary>Initializes a new instance of the <see cref="SqliteUsageLedger"/> class over a file, created if missing.</summary>
    /// <param name="path">The database file's path; its folder must exist.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    public SqliteUsageLedger(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException("The ledger's file path must not be empty.", nameof(path));
        }

        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>Gets the database file's path.</summary>
    public string Path { get; }

    /// <summary>Gets the schema version this library writes.</summary>
    public static int SchemaVersion => Migrations.Length;

    /// <inheritdoc/>
    protected override async Task InitializeCoreAsync(CancellationToken cancellationToken)
    {
        using var connection = await OpenCoreAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL;", cancellationToken).ConfigureAwait(false);
        using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS mm_schema (version INTEGER NOT NULL);", cancellationToken).ConfigureAwait(false);
        var current = Convert.ToInt32(
            await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM mm_schema;", cancellationToken).ConfigureAwait(false),
            CultureInfo.InvariantCulture);
        if (current > Migrations.Length)
        {
            // A newer library migrated the ledger. Its schema says which libraries may still use it.
            var compatibleFrom = Convert.ToInt32(
                await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(compatible_from), MAX(version)) FROM mm_schema;", cancellationToken).ConfigureAwait(false),
                CultureInfo.InvariantCulture);
            if (compatibleFrom > Migrations.Length)
            {
                throw new InvalidOperationException(string.Format(
                    CultureInfo.InvariantCulture,
                    "The ledger '{0}' has schema version {1}, written by a newer MarketplaceMetering.Accumulation, which needs schema version {2} or later; this version knows up to {3}. Upgrade the package.",
                    Path,
                    current,
                    compatibleFrom,
                    Migrations.Length));
            }
        }

        if (current < Migrations.Length)
        {
            for (var version = current + 1; version <= Migrations.Length; version++)
            {
                await ExecuteAsync(connection, transaction, Migrations[version - 1], cancellationToken).ConfigureAwait(false);
            }

            // Written once, in the migrations' transaction: the version reached and the oldest one that may still use it.
            await ExecuteAsync(
                connection,
                transaction,
                string.Format(CultureInfo.InvariantCulture, "DELETE FROM mm_schema; INSERT INTO mm_schema (version, compatible_from) VALUES ({0}, {1});", Migrations.Length, OldestCompatibleVersion),
                cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async Task<IReadOnlyList<UsageLedgerEntry>> GetEntriesAsync(DateTimeOffset fromHour, DateTimeOffset untilHour, UsageLedgerState? state = null, CancellationToken cancellationToken = default)
    {
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT " + Columns + " FROM mm_usage WHERE hour >= $from AND hour < $to" + (state is null ? string.Empty : " AND state = $state") + " ORDER BY hour, id;";
        command.Parameters.AddWithValue("$from", Time(fromHour));
        command.Parameters.AddWithValue("$to", Time(untilHour));
        if (state is { } s)
        {
            command.Parameters.AddWithValue("$state", (int)s);
        }

        return await ReadEntriesAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public override async Task<IReadOnlyList<UsageCarryForward>> GetCarryForwardsAsync(DateTimeOffset fromHour, DateTimeOffset untilHour, CancellationToken cancellationToken = default)
    {
        using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT resource, resource_is_uri, plan_id, dimension, from_hour, into_hour, quantity, recorded_at FROM mm_carry_forward WHERE from_hour >= $from AND from_hour < $to ORDER BY id;";
        command.Parameters.AddWithValue("$from", Time(fromHour));
        command.Parameters.AddWithValue("$to", Time(untilHour));
        var moves = new List<UsageCarryForward>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            moves.Add(new UsageCarryForward(
                UsageResource.FromKey(reader.GetString(0), reader.GetInt64(1) != 0),
                reader.GetString(2),
                reader.GetString(3),
                FromTime(reader.GetInt64(4)),
                FromTime(reader.GetInt64(5)),
                ParseQuantity(reader.GetString(6)),
                FromTime(reader.GetInt64(7))));
        }

        return moves;
    }

    /// <inheritdoc/>
    protected internal override async Task<IReadOnlyList<UsageCarryForward>> AddAsync(IReadOnlyList<UsageDelta> deltas, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        if (deltas.Count == 0)
        {
            return [];
        }

        using var connection = await OpenToWriteAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        using var find = connection.CreateCommand();
        find.Transaction = transaction;
        // Every plan's row of the resource, dimension and hour: the service keeps one event for them whatever the plan.
        find.CommandText = "SELECT id, state, quantity, attempts, plan_id = $plan FROM mm_usage WHERE resource = $resource AND dimension = $dimension AND hour = $hour;";
        var findResource = find.Parameters.Add("$resource", SqliteType.Text);
        var findPlan = find.Parameters.Add("$plan", SqliteType.Text);
        var findDimension = find.Parameters.Add("$dimension", SqliteType.Text);
        var findHour = find.Parameters.Add("$hour", SqliteType.Integer);

        using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE mm_usage SET quantity = $quantity, updated_at = $now WHERE id = $id;";
        var updateQuantity = update.Parameters.Add("$quantity", SqliteType.Text);
        var updateId = update.Parameters.Add("$id", SqliteType.Integer);
        update.Parameters.AddWithValue("$now", Time(now));

        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText =
            "INSERT INTO mm_usage (resource, resource_is_uri, plan_id, dimension, hour, quantity, state, created_at, updated_at) " +
            "VALUES ($resource, $isUri, $plan, $dimension, $hour, $quantity, 0, $now, $now);";
        var insertResource = insert.Parameters.Add("$resource", SqliteType.Text);
        var insertIsUri = insert.Parameters.Add("$isUri", SqliteType.Integer);
        var insertPlan = insert.Parameters.Add("$plan", SqliteType.Text);
        var insertDimension = insert.Parameters.Add("$dimension", SqliteType.Text);
        var insertHour = insert.Parameters.Add("$hour", SqliteType.Integer);
        var insertQuantity = insert.Parameters.Add("$quantity", SqliteType.Text);
        insert.Parameters.AddWithValue("$now", Time(now));

        using var carry = connection.CreateCommand();
        carry.Transaction = transaction;
        carry.CommandText =
            "INSERT INTO mm_carry_forward (resource, resource_is_uri, plan_id, dimension, from_hour, into_hour, quantity, recorded_at) " +
            "VALUES ($resource, $isUri, $plan, $dimension, $from, $into, $quantity, $now);";
        var carryResource = carry.Parameters.Add("$resource", SqliteType.Text);
        var carryIsUri = carry.Parameters.Add("$isUri", SqliteType.Integer);
        var carryPlan = carry.Parameters.Add("$plan", SqliteType.Text);
        var carryDimension = carry.Parameters.Add("$dimension", SqliteType.Text);
        var carryFrom = carry.Parameters.Add("$from", SqliteType.Integer);
        var carryInto = carry.Parameters.Add("$into", SqliteType.Integer);
        var carryQuantity = carry.Parameters.Add("$quantity", SqliteType.Text);
        carry.Parameters.AddWithValue("$now", Time(now));

        List<UsageCarryForward>? moves = null;
        var currentHour = HourOf(now);
        foreach (var delta in deltas)
        {
            var resource = delta.Resource.Key;
            findResource.Value = resource;
            findPlan.Value = delta.PlanId;
            findDimension.Value = delta.Dimension;

            var hour = delta.Hour;
            while (true)
            {
                findHour.Value = Time(hour);
                long? id = null;
                var open = false;
                var otherPlan = false;
                var quantity = 0m;
                using (var reader = await find.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        if (reader.GetInt32(4) == 0)
                        {
                            // Another plan has the hour (the plan changed during it): the service would answer this
                            // plan's event as a Duplicate of that one, and the usage would never be billed.
                            otherPlan = true;
                            continue;
                        }

                        id = reader.GetInt64(0);
                        // Open and never claimed: once a send was tried, the service may hold the hour with the quantity
                        // sent (an answer lost, a batch failed after others got through), so the row no longer grows.
                        open = reader.GetInt32(1) == (int)UsageLedgerState.Open && reader.GetInt32(3) == 0;
                        quantity = ParseQuantity(reader.GetString(2));
                    }
                }

                if (otherPlan)
                {
                    // Taken by another plan: the usage moves to a later hour, as below.
                    hour = hour < currentHour ? currentHour : hour.AddHours(1);
                    continue;
                }

                if (id is null)
                {
                    insertResource.Value = resource;
                    insertIsUri.Value = delta.Resource.Uri is null ? 0 : 1;
                    insertPlan.Value = delta.PlanId;
                    insertDimension.Value = delta.Dimension;
                    insertHour.Value = Time(hour);
                    insertQuantity.Value = FormatQuantity(delta.Quantity);
                    await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                else if (open && quantity <= decimal.MaxValue - delta.Quantity)
                {
                    updateId.Value = id.Value;
                    updateQuantity.Value = FormatQuantity(quantity + delta.Quantity);
                    await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    // Taken (claimed, sent or tried, expired), or full (its sum would pass decimal.MaxValue, and the
                    // transaction would fail for every other delta in it, again at each save): the usage moves to a
                    // later hour, the current one when it is later.
                    hour = hour < currentHour ? currentHour : hour.AddHours(1);
                    continue;
                }

                if (hour != delta.Hour)
                {
                    carryResource.Value = resource;
                    carryIsUri.Value = delta.Resource.Uri is null ? 0 : 1;
                    carryPlan.Value = delta.PlanId;
                    carryDimension.Value = delta.Dimension;
                    carryFrom.Value = Time(delta.Hour);
                    carryInto.Value = Time(hour);
                    carryQuantity.Value = FormatQuantity(delta.Quantity);
                    await carry.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    (moves ??= []).Add(new UsageCarryForward(delta.Resource, delta.PlanId, delta.Dimension, delta.Hour, hour, delta.Quantity, now));
                }

                break;
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (IReadOnlyList<UsageCarryForward>?)moves ?? [];
    }

    /// <inheritdoc/>
    protected internal override async Task<IReadOnlyList<UsageLedgerEntry>> ClaimAsync(string owner, DateTimeOffset latestHour, DateTimeOffset now, DateTimeOffset leaseUntil, int maxEntries, CancellationToken cancellationToken)
    {
        using var connection = await OpenToWriteAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText =
            "UPDATE mm_usage SET state = 1, claim_id = $claim, claim_owner = $owner, lease_until = $lease, attempts = attempts + 1, submitted_at = $now, updated_at = $now " +
            "WHERE id IN (SELECT id FROM mm_usage WHERE hour > $expiredUpTo AND ((state = 0 AND hour <= $latest) OR (state = 1 AND lease_until <= $now)) ORDER BY hour, id LIMIT $max) " +
            "RETURNING " + Columns + ";";
        command.Parameters.AddWithValue("$claim", Guid.NewGuid().ToString("D"));
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$lease", Time(leaseUntil));
        command.Parameters.AddWithValue("$now", Time(now));
        command.Parameters.AddWithValue("$latest", Time(latestHour));
        command.Parameters.AddWithValue("$expiredUpTo", Time(ExpiredThrough(now)));
        command.Parameters.AddWithValue("$max", maxEntries);
        var unreadable = new List<(long Id, string Problem)>();
        var claimed = await ReadEntriesAsync(command, cancellationToken, unreadable).ConfigureAwait(false);
        await FailUnreadableAsync(connection, transaction, unreadable, now, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        unreadable.ForEach(row => ReportUnreadableRow(row.Problem));
        return [.. claimed.OrderBy(e => e.Hour).ThenBy(e => e.Id)];
    }

    /// <inheritdoc/>
    protected internal override async Task<int> CompleteAsync(IReadOnlyList<UsageOutcome> outcomes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        using var connection = await OpenToWriteAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText =
            "UPDATE mm_usage SET state = $state, usage_event_id = COALESCE($event, usage_event_id), resource_usage_id = COALESCE($usage, resource_usage_id), detail = $detail, updated_at = $now, " +
            "completed_at = CASE WHEN $state = 0 THEN NULL ELSE $now END, " +
            "claim_id = CASE WHEN $state = 0 THEN NULL ELSE claim_id END, claim_owner = CASE WHEN $state = 0 THEN NULL ELSE claim_owner END, lease_until = NULL " +
            "WHERE id = $id AND claim_id = $claim AND state = 1;";
        var state = command.Parameters.Add("$state", SqliteType.Integer);
        var usageEventId = command.Parameters.Add("$event", SqliteType.Text);
        var resourceUsageId = command.Parameters.Add("$usage", SqliteType.Text);
        var detail = command.Parameters.Add("$detail", SqliteType.Text);
        var id = command.Parameters.Add("$id", SqliteType.Integer);
        var claim = command.Parameters.Add("$claim", SqliteType.Text);
        command.Parameters.AddWithValue("$now", Time(now));
        var changed = 0;
        foreach (var outcome in outcomes)
        {
            state.Value = (int)outcome.State;
            usageEventId.Value = (object?)outcome.UsageEventId?.ToString("D") ?? DBNull.Value;
            resourceUsageId.Value = (object?)outcome.ResourceUsageId?.ToString("D") ?? DBNull.Value;
            detail.Value = (object?)outcome.Detail ?? DBNull.Value;
            id.Value = outcome.EntryId;
            claim.Value = outcome.ClaimId.ToString("D");
            changed += await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return changed;
    }

    /// <inheritdoc/>
    protected internal override async Task<IReadOnlyList<UsageLedgerEntry>> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var connection = await OpenToWriteAsync(cancellationToken).ConfigureAwait(false);
        using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText =
            "UPDATE mm_usage SET state = 5, completed_at = $now, updated_at = $now, claim_id = NULL, claim_owner = NULL, lease_until = NULL, " +
            "detail = COALESCE(detail || ' ', '') || '(expired: not delivered before the deadline)' " +
            "WHERE hour <= $expiredUpTo AND (state = 0 OR (state = 1 AND lease_until <= $now)) RETURNING " + Columns + ";";
        command.Parameters.AddWithValue("$now", Time(now));
        command.Parameters.AddWithValue("$expiredUpTo", Time(ExpiredThrough(now)));
        var unreadable = new List<(long Id, string Problem)>();
        var expired = await ReadEntriesAsync(command, cancellationToken, unreadable).ConfigureAwait(false);
        await FailUnreadableAsync(connection, transaction, unreadable, now, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        unreadable.ForEach(row => ReportUnreadableRow(row.Problem));
        return [.. expired.OrderBy(e => e.Hour).ThenBy(e => e.Id)];
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        if (!File.Exists(Path))
        {
            // Deleted or moved while in use (a clean-up job, a volume swapped). A pooled connection would still commit into
            // the unlinked file, which no path reaches (usage reported durable, gone at the next start), and a new one
            // would make an empty file without the schema. Nothing is written until the file is back, or the app restarts
            // and a new ledger is made.
            throw new InvalidOperationException(string.Format(CultureInfo.InvariantCulture, "The usage ledger '{0}' no longer exists: it was deleted or moved while in use. Nothing more is written to it; restore the file, or restart to begin a new ledger (usage recorded since the file went may be lost).", Path));
        }

        return await OpenCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A connection to write with. SQLite opens a file it cannot write (its permissions, a read-only volume) read-only,
    /// without an error, and a pooled connection opened so stayed read-only once the file could be written again: every
    /// write failed ("attempt to write a readonly database") until the process restarted, the recorder holding
    /// <see cref="UsageRecorder.Record"/>'s usage in memory, lost when the app stopped. Such a connection serves this
    /// write (which fails, as it must) and is then discarded, so a later write opens the file afresh.
    /// </summary>
    private async Task<SqliteConnection> OpenToWriteAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (SQLitePCL.raw.sqlite3_db_readonly(connection.Handle, "main") == 1)
        {
            SqliteConnection.ClearPool(connection);
        }

        return connection;
    }

    private async Task<SqliteConnection> OpenCoreAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            try
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (SqliteException e)
            {
                throw new InvalidOperationException(string.Format(CultureInfo.InvariantCulture, "Cannot open the usage ledger '{0}': {1}", Path, e.Message), e);
            }

            // Per connection: a commit is on disk before it returns (FULL), and a writer waits for another rather than failing.
            await ExecuteAsync(connection, null, "PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;", cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the rows <paramref name="command"/> returns. A row that cannot be read (a resource that is not a GUID, a
    /// quantity that is not a number: a row edited by hand, say) is collected in <paramref name="unreadable"/> when
    /// given, else it throws <see cref="InvalidDataException"/> naming the row.
    /// </summary>
    private static async Task<List<UsageLedgerEntry>> ReadEntriesAsync(SqliteCommand command, CancellationToken cancellationToken, List<(long Id, string Problem)>? unreadable = null)
    {
        var entries = new List<UsageLedgerEntry>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                entries.Add(ReadEntry(reader));
            }
            catch (Exception e) when (e is FormatException or OverflowException or InvalidCastException)
            {
                var problem = DescribeUnreadableRow(reader.GetInt64(0), e);
                if (unreadable is null)
                {
                    throw new InvalidDataException(problem, e);
                }

                unreadable.Add((reader.GetInt64(0), problem));
            }
        }

        return entries;
    }

    /// <summary>Marks rows that cannot be read Failed, with what is wrong, so that no flush claims them again.</summary>
    private static async Task FailUnreadableAsync(SqliteConnection connection, SqliteTransaction transaction, List<(long Id, string Problem)> unreadable, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var (id, problem) in unreadable)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText =
                "UPDATE mm_usage SET state = 6, detail = $detail, claim_id = NULL, claim_owner = NULL, lease_until = NULL, completed_at = $now, updated_at = $now WHERE id = $id;";
            command.Parameters.AddWithValue("$detail", "InvalidRow: " + problem);
            command.Parameters.AddWithValue("$now", Time(now));
            command.Parameters.AddWithValue("$id", id);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static UsageLedgerEntry ReadEntry(DbDataReader reader) => new()
    {
        Id = reader.GetInt64(0),
        Resource = UsageResource.FromKey(reader.GetString(1), reader.GetInt64(2) != 0),
        PlanId = reader.GetString(3),
        Dimension = reader.GetString(4),
        Hour = FromTime(reader.GetInt64(5)),
        Quantity = ParseQuantity(reader.GetString(6)),
        State = (UsageLedgerState)reader.GetInt32(7),
        UsageEventId = reader.IsDBNull(8) ? null : Guid.Parse(reader.GetString(8)),
        Detail = reader.IsDBNull(9) ? null : reader.GetString(9),
        Attempts = reader.GetInt32(10),
        CreatedAt = FromTime(reader.GetInt64(11)),
        UpdatedAt = FromTime(reader.GetInt64(12)),
        SubmittedAt = reader.IsDBNull(13) ? null : FromTime(reader.GetInt64(13)),
        CompletedAt = reader.IsDBNull(14) ? null : FromTime(reader.GetInt64(14)),
        ClaimId = reader.IsDBNull(15) ? null : Guid.Parse(reader.GetString(15)),
        ResourceUsageId = reader.IsDBNull(16) ? null : Guid.Parse(reader.GetString(16)),
    };

    private static long Time(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    private static DateTimeOffset FromTime(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    private static string FormatQuantity(decimal quantity) => quantity.ToString(CultureInfo.InvariantCulture);

    private static decimal ParseQuantity(string text) => decimal.Parse(text, NumberStyles.Number, CultureInfo.InvariantCulture);
}
