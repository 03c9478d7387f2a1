using System.Data.Common;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using NpgsqlTypes;

namespace MarketplaceMetering;

/// <summary>
/// The ledger in PostgreSQL (Npgsql), shared by every instance of a scaled-out backend: usage recorded by all of them
/// is summed in one row per resource, plan, dimension and hour, and each row is sent by exactly one instance. There is
/// no coordinator: PostgreSQL is the coordination (atomic upserts for recording; <c>FOR UPDATE SKIP LOCKED</c> claims
/// with a lease for sending).
/// </summary>
/// <remarks>
/// Tables live in their own schema (<c>marketplace_metering</c> unless told otherwise), created on first use; schema
/// migrations run under a transaction-scoped advisory lock, so instances starting together migrate once. Quantities
/// are <c>numeric</c> (exact); plan ids, dimensions and resource URIs compare ignoring case, as the service does.
/// </remarks>
public sealed partial class PostgreSqlUsageLedger : UsageLedger
{
    private const string Columns =
        "id, resource, resource_is_uri, plan_id, dimension, hour, quantity, state, usage_event_id, detail, attempts, created_at, updated_at, submitted_at, completed_at, claim_id, resource_usage_id";

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly string _schema;

    /// <summary>Initializes a new instance of the <see cref="PostgreSqlUsageLedger"/> class from a connection string.</summary>
    /// <param name="connectionString">An Npgsql connection string.</param>
    /// <param name="schema">The schema that holds the ledger's tables: lower-case letters, digits and underscores.</param>
    /// <exception cref="ArgumentException">The connection string is empty or malformed, or the schema name is not a plain identifier.</exception>
    public PostgreSqlUsageLedger(string connectionString, string schema = DefaultSchema)
        : this(CreateDataSource(connectionString), schema, ownsDataSource: true)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PostgreSqlUsageLedger"/> class over a data source the caller owns (and disposes).</summary>
    /// <param name="dataSource">The data source (for example one registered in dependency injection).</param>
    /// <param name="schema">The schema that holds the ledger's tables: lower-case letters, digits and underscores.</param>
    /// <exception cref="ArgumentException">The schema name is not a plain identifier.</exception>
    public PostgreSqlUsageLedger(NpgsqlDataSource dataSource, string schema = DefaultSchema)
        : this(dataSource, schema, ownsDataSource: false)
    {
    }

    private PostgreSqlUsageLedger(NpgsqlDataSource dataSource, string schema, bool ownsDataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        if (schema is null || !Identifier().IsMatch(schema))
        {
            throw new ArgumentException("The schema name must be a plain identifier: a lower-case letter or underscore, then lower-case letters, digits or underscores (at most 63).", nameof(schema));
        }

        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _schema = schema;
    }

    /// <summary>The schema used unless another is given.</summary>
    public const string DefaultSchema = "marketplace_metering";

    /// <summary>Gets the schema version this library writes.</summary>
    public static int SchemaVersion => Migrations.Length;

    /// <summary>Gets the schema that holds the ledger's tables.</summary>
    public string Schema => _schema;

    /// <summary>
    /// The oldest schema version whose library may still read and write a ledger at this library's version, stored with
    /// the version: a change that older code can live with (a new nullable column it never touches) keeps the older
    /// number, so instances of the previous release keep working during a rolling upgrade; a change it cannot live with
    /// raises it.
    /// </summary>
    private const int OldestCompatibleVersion = 1;

    private static readonly string[] Migrations =
    [
        // Version 1.
        """
        CREATE TABLE {0}.usage (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            resource text NOT NULL,
            resource_is_uri boolean NOT NULL,
            plan_id text NOT NULL,
            dimension text NOT NULL,
            hour timestamptz NOT NULL,
            quantity numeric NOT NULL,
            state smallint NOT NULL,
            usage_event_id uuid NULL,
            detail text NULL,
            attempts integer NOT NULL DEFAULT 0,
            claim_owner text NULL,
            claim_id uuid NULL,
            lease_until timestamptz NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            submitted_at timestamptz NULL,
            completed_at timestamptz NULL
        );
        CREATE UNIQUE INDEX usage_key ON {0}.usage (lower(resource), lower(plan_id), lower(dimension), hour);
        CREATE INDEX usage_state_hour ON {0}.usage (state, hour);
        CREATE INDEX usage_hour ON {0}.usage (hour);
        CREATE TABLE {0}.carry_forward (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            resource text NOT NULL,
            resource_is_uri boolean NOT NULL,
            plan_id text NOT NULL,
            dimension text NOT NULL,
            from_hour timestamptz NOT NULL,
            into_hour timestamptz NOT NULL,
            quantity numeric NOT NULL,
            recorded_at timestamptz NOT NULL
        );
        CREATE INDEX carry_forward_from ON {0}.carry_forward (from_hour);
        """,

        // Version 2: the id the service recorded the resource under (for a managed application sent by URI, the
        // resource usage id of its answer), so that usage recorded by URI can be reconciled; and the oldest schema
        // version whose library may still use the ledger (see OldestCompatibleVersion).
        """
        ALTER TABLE {0}.usage ADD COLUMN resource_usage_id uuid NULL;
        ALTER TABLE {0}.schema_version ADD COLUMN compatible_from integer NULL;
        """,
    ];

    /// <inheritdoc/>
    protected override async Task InitializeCoreAsync(CancellationToken cancellationToken)
    {
        var connection = await OpenCoreAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // A ledger already at this version (or a newer one this version may use) needs nothing created or locked, so
            // a role with only USAGE on the schema and SELECT on its tables (an operator reconciling) can read it.
            var readOnly = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (readOnly.ConfigureAwait(false))
            {
                var exists = await ScalarAsync(connection, readOnly, Sql("SELECT to_regclass('{0}.schema_version') IS NOT NULL;"), cancellationToken).ConfigureAwait(false) is true;
                if (exists && await CurrentVersionAsync(connection, readOnly, cancellationToken).ConfigureAwait(false) >= Migrations.Length)
                {
                    return;
                }
            }

            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                // One migrator at a time across every instance: the lock ends with the transaction.
                await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(hashtext('marketplace_metering.ledger:' || @schema));", cancellationToken, ("schema", _schema)).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, Sql("CREATE SCHEMA IF NOT EXISTS {0}; CREATE TABLE IF NOT EXISTS {0}.schema_version (version integer NOT NULL);"), cancellationToken).ConfigureAwait(false);
                var current = await CurrentVersionAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
                if (current < Migrations.Length)
                {
                    for (var version = current + 1; version <= Migrations.Length; version++)
                    {
                        await ExecuteAsync(connection, transaction, Sql(Migrations[version - 1]), cancellationToken).ConfigureAwait(false);
                    }

                    // Written once, in the migrations' transaction: the version reached and the oldest one that may still use it.
                    await ExecuteAsync(connection, transaction, Sql("DELETE FROM {0}.schema_version; INSERT INTO {0}.schema_version (version, compatible_from) VALUES (@version, @compatible);"), cancellationToken, ("version", Migrations.Length), ("compatible", OldestCompatibleVersion)).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The stored schema version; for one newer than this library knows, first checks that the schema says this library
    /// may still use it (<see cref="InvalidOperationException"/> otherwise).
    /// </summary>
    private async Task<int> CurrentVersionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var current = Convert.ToInt32(await ScalarAsync(connection, transaction, Sql("SELECT COALESCE(MAX(version), 0) FROM {0}.schema_version;"), cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (current > Migrations.Length)
        {
            // A newer library migrated the ledger. Its schema says which libraries may still use it.
            var compatibleFrom = Convert.ToInt32(await ScalarAsync(connection, transaction, Sql("SELECT COALESCE(MAX(compatible_from), MAX(version)) FROM {0}.schema_version;"), cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
            if (compatibleFrom > Migrations.Length)
            {
                throw new InvalidOperationException(string.Format(
                    CultureInfo.InvariantCulture,
                    "The ledger in schema '{0}' has schema version {1}, written by a newer MarketplaceMetering.Accumulation.PostgreSql, which needs schema version {2} or later; this version knows up to {3}. Upgrade the package.",
                    _schema,
                    current,
                    compatibleFrom,
                    Migrations.Length));
            }
        }

        return current;
    }

    /// <inheritdoc/>
    public override async Task<IReadOnlyList<UsageLedgerEntry>> GetEntriesAsync(DateTimeOffset fromHour, DateTimeOffset untilHour, UsageLedgerState? state = null, CancellationToken cancellationToken = default)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var command = new NpgsqlCommand(Sql("SELECT " + Columns + " FROM {0}.usage WHERE hour >= @from AND hour < @until" + (state is null ? string.Empty : " AND state = @state") + " ORDER BY hour, id;"), connection);
            await using (command.ConfigureAwait(false))
            {
                command.Parameters.AddWithValue("from", NpgsqlDbType.TimestampTz, fromHour.ToUniversalTime());
                command.Parameters.AddWithValue("until", NpgsqlDbType.TimestampTz, untilHour.ToUniversalTime());
                if (state is { } s)
                {
                    command.Parameters.AddWithValue("state", (short)s);
                }

                return await ReadEntriesAsync(command, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc/>
    public override async Task<IReadOnlyList<UsageCarryForward>> GetCarryForwardsAsync(DateTimeOffset fromHour, DateTimeOffset untilHour, CancellationToken cancellationToken = default)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var command = new NpgsqlCommand(Sql("SELECT resource, resource_is_uri, plan_id, dimension, from_hour, into_hour, quantity, recorded_at FROM {0}.carry_forward WHERE from_hour >= @from AND from_hour < @until ORDER BY id;"), connection);
            await using (command.ConfigureAwait(false))
            {
                command.Parameters.AddWithValue("from", NpgsqlDbType.TimestampTz, fromHour.ToUniversalTime());
                command.Parameters.AddWithValue("until", NpgsqlDbType.TimestampTz, untilHour.ToUniversalTime());
                var moves = new List<UsageCarryForward>();
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        moves.Add(new UsageCarryForward(
                            ResourceOf(reader.GetString(0), reader.GetBoolean(1)),
                            reader.GetString(2),
                            reader.GetString(3),
                            reader.GetFieldValue<DateTimeOffset>(4),
                            reader.GetFieldValue<DateTimeOffset>(5),
                            reader.GetDecimal(6),
                            reader.GetFieldValue<DateTimeOffset>(7)));
                    }
                }

                return moves;
            }
        }
    }

    /// <inheritdoc/>
    protected override async Task<IReadOnlyList<UsageCarryForward>> AddAsync(IReadOnlyList<UsageDelta> deltas, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        if (deltas.Count == 0)
        {
            return [];
        }

        // Instances adding to the same rows lock them in one order (resource, plan, dimension, hour, as the unique index
        // compares them), so their transactions wait for each other instead of deadlocking. Should PostgreSQL still pick
        // this transaction as a deadlock victim (a carry-forward reaching a later row), it is rolled back whole and run again.
        var ordered = deltas
            .OrderBy(d => d.Resource.ToString(), StringComparer.OrdinalIgnoreCase)
            .ThenBy(d => d.PlanId, StringComparer.OrdinalIgnoreCase)
            .ThenBy(d => d.Dimension, StringComparer.OrdinalIgnoreCase)
            .ThenBy(d => d.Hour)
            .ToList();
        for (var attempt = 1; ; attempt++)
        {
            var commit = new CommitState();
            try
            {
                return await AddOnceAsync(ordered, now, commit, cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure && attempt < 5)
            {
                // The other transaction has gone on (PostgreSQL chose this one as the victim): try again at once.
            }
            catch (NpgsqlException e) when (e.IsTransient && !commit.Sent && attempt < 3)
            {
                // The connection broke before the commit was sent, so nothing was committed: typically a pooled connection
                // to a server that has restarted since, which fails on first use (and the pool is cleared). Try again on a
                // new connection, rather than fail a RecordAsync while the server is up.
            }
            catch (Exception e) when (commit.Sent && commit.TransactionId is { } id && e is (NpgsqlException and not PostgresException) or OperationCanceledException)
            {
                // The connection broke (or the call was cancelled) after the commit was sent: the usage may be committed.
                // Failing would make the caller (the recorder putting Record's sums back) add it a second time, so ask the
                // server what became of the transaction, on a new connection.
                var (status, unknown) = await OutcomeOfAsync(id, commit.BackendPid).ConfigureAwait(false);
                switch (status)
                {
                    case "committed":
                        return commit.Result!;
                    case "aborted" when attempt < 3:
                        continue;
                    case "aborted":
                        // Written and aborted three times: nothing is in the ledger.
                        throw;
                    case null when e is OperationCanceledException:
                        // A cancelled call stays a cancellation, whatever became of its usage.
                        throw;
                    default:
                        // Unknown: the usage may yet be committed, and written again by whoever retries it.
                        throw new NpgsqlException(
                            string.Format(
                                CultureInfo.InvariantCulture,
                                "The connection to PostgreSQL broke after the commit of transaction {0} was sent, and the server cannot say whether it committed: {1}. The usage may be in the ledger already, in which case writing it again counts it twice. ({2})",
                                id,
                                unknown,
                                e.Message),
                            e);
                }
            }
        }
    }

    /// <summary>
    /// An add's progress: once its commit is sent, a failure leaves it unknown whether the usage was committed, until
    /// <see cref="OutcomeOfAsync"/> asks the server about <see cref="TransactionId"/>.
    /// </summary>
    private sealed class CommitState
    {
        /// <summary>Whether the commit was sent: it is sent once the result is known.</summary>
        public bool Sent => Result is not null;

        /// <summary>The transaction's id (<c>txid_current()</c>, returned by the upserts), to ask <c>txid_status</c> about.</summary>
        public long? TransactionId { get; set; }

        /// <summary>
        /// The process id of the server backend that runs the transaction (<c>pg_backend_pid()</c>, returned by the upserts
        /// with the transaction's id, so it costs no round trip), to end it should the transaction stay in progress.
        /// Not <see cref="NpgsqlConnection.ProcessID"/>: behind a pooler (PgBouncer) that is the pooler's, not the backend's.
        /// </summary>
        public int? BackendPid { get; set; }

        /// <summary>What the add returns once committed; set just before the commit is sent.</summary>
        public IReadOnlyList<UsageCarryForward>? Result { get; set; }
    }

    /// <summary>
    /// What became of a transaction whose commit was sent on a connection that broke: <c>committed</c> or <c>aborted</c>;
    /// or no status, and why, when the server cannot say (it is unreachable, or still shows the transaction in progress
    /// after some 19 seconds of asking). PostgreSQL's <c>txid_status</c> exists for this very case (PostgreSQL 10 and
    /// later). Asked without the caller's cancellation: a cancelled call still has to learn whether its usage was recorded.
    /// </summary>
    /// <remarks>
    /// In progress means the server has not yet noticed that the connection is gone: a network partition that leaves the
    /// server's side of the TCP connection open, or the COMMIT still in a buffer on the way. Waiting is no answer: the
    /// transaction may commit after the wait gives up, and the usage, failed and written again, would count twice. So the
    /// backend that runs it (<paramref name="backendPid"/>) is ended with <c>pg_terminate_backend</c>, which a role may
    /// do to its own backends: the transaction is then committed (the commit had been written) or aborted, never in
    /// progress again, and the next question gets a definitive answer. Only when ending it is not allowed (the role lacks
    /// the right, the function is revoked) does the ledger fall back to asking until the bound, and says so if it runs out.
    /// </remarks>
    private async Task<(string? Status, string? Unknown)> OutcomeOfAsync(long transactionId, int? backendPid)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string? notEnded = backendPid is null ? "its backend is not known" : null;
        var ended = false;
        try
        {
            for (var asked = 1; ; asked++)
            {
                var connection = await OpenCoreAsync(timeout.Token).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    var command = new NpgsqlCommand("SELECT txid_status(@id)", connection);
                    await using (command.ConfigureAwait(false))
                    {
                        command.Parameters.AddWithValue("id", NpgsqlDbType.Bigint, transactionId);
                        var status = await command.ExecuteScalarAsync(timeout.Token).ConfigureAwait(false) as string;
                        if (status is not "in progress")
                        {
                            return (status, status is null ? "the server no longer knows the transaction" : null);
                        }
                    }

                    if (!ended && notEnded is null)
                    {
                        notEnded = await EndBackendAsync(connection, backendPid!.Value, transactionId, timeout.Token).ConfigureAwait(false);
                        ended = notEnded is null;
                    }

                    if (asked == 20)
                    {
                        var backend = "its backend (process " + (backendPid?.ToString(CultureInfo.InvariantCulture) ?? "unknown") + ")";
                        return (null, ended
                            ? "the server still shows it in progress after 20 checks, although " + backend + " was ended or no longer ran it"
                            : "the server still shows it in progress after 20 checks, and " + backend + " could not be ended (" + notEnded + ")");
                    }
                }

                // Once ended, the backend takes a moment to exit and abort; when it cannot be ended, the server notices the
                // broken connection in its own time. Real time, not the app's TimeProvider: this waits for the database
                // server, whatever clock the app uses.
                await Task.Delay(TimeSpan.FromMilliseconds(100 * asked), TimeProvider.System, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or InvalidOperationException)
        {
            return (null, "the server could not be asked (" + e.Message + ")");
        }
    }

    /// <summary>
    /// Ends the server backend <paramref name="pid"/> if it still runs transaction <paramref name="transactionId"/>, so
    /// that the transaction commits or aborts now. Returns <see langword="null"/> when it was ended (or had already
    /// gone), else why it could not be.
    /// </summary>
    /// <remarks>
    /// Terminate, not cancel: <c>pg_cancel_backend</c> interrupts a running statement, and a backend idle in its
    /// transaction (the COMMIT never arrived) has none, so its transaction would stay in progress; nor can a COMMIT under
    /// way be half cancelled (once its commit record is written it is committed, cancelled or not). Ending the session
    /// settles it either way. The backend is matched by its process id and by the transaction it runs
    /// (<c>backend_xid</c>, the low 32 bits of <c>txid_current()</c>), so a process id the server has since given to
    /// another session is never ended.
    /// </remarks>
    private static async Task<string?> EndBackendAsync(NpgsqlConnection connection, int pid, long transactionId, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = @pid AND backend_xid::text = @xid", connection);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.AddWithValue("pid", NpgsqlDbType.Integer, pid);
            command.Parameters.AddWithValue("xid", NpgsqlDbType.Text, (transactionId & uint.MaxValue).ToString(CultureInfo.InvariantCulture));
            try
            {
                // No row: the backend no longer runs the transaction. False: its process was gone when signalled. Either
                // way the transaction is over, and the next question says how.
                await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                return null;
            }
            catch (PostgresException e)
            {
                // Permission denied (another role's backend without pg_signal_backend, a superuser's, or the function revoked).
                return "pg_terminate_backend: " + e.SqlState + " " + e.MessageText;
            }
        }
    }

    private async Task<IReadOnlyList<UsageCarryForward>> AddOnceAsync(List<UsageDelta> deltas, DateTimeOffset now, CommitState commit, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                // An atomic upsert per delta: adds to the hour's row while it is open and was never claimed, whoever else is
                // adding to it. When the row exists but is taken (claimed, sent, or tried: the service may hold the hour
                // with the quantity sent), or full (its sum would pass decimal.MaxValue, and the row could no longer be
                // read), nothing changes and no row comes back: the delta moves on. So it does when another plan has a row
                // for the resource, dimension and hour (the plan changed during it): the service keeps one event for them
                // whatever the plan, and would answer this plan's as a Duplicate of the other's, never billed. (Two
                // instances recording two plans of one resource, dimension and hour at the same instant can still
                // both insert; the second sent is then reported as a conflict.)
                var upsert = new NpgsqlCommand(
                    Sql("""
                        INSERT INTO {0}.usage (resource, resource_is_uri, plan_id, dimension, hour, quantity, state, created_at, updated_at)
                        SELECT @resource, @isUri, @plan, @dimension, @hour, @quantity, 0, @now, @now
                        WHERE NOT EXISTS (
                            SELECT 1 FROM {0}.usage o
                            WHERE lower(o.resource) = lower(@resource) AND lower(o.dimension) = lower(@dimension) AND o.hour = @hour
                              AND lower(o.plan_id) <> lower(@plan))
                        ON CONFLICT (lower(resource), lower(plan_id), lower(dimension), hour)
                        DO UPDATE SET quantity = {0}.usage.quantity + EXCLUDED.quantity, updated_at = EXCLUDED.updated_at
                        WHERE {0}.usage.state = 0 AND {0}.usage.attempts = 0 AND {0}.usage.quantity + EXCLUDED.quantity <= @max
                        RETURNING txid_current(), pg_backend_pid();
                        """),
                    connection,
                    transaction);
                await using (upsert.ConfigureAwait(false))
                {
                    var resource = upsert.Parameters.Add("resource", NpgsqlDbType.Text);
                    var isUri = upsert.Parameters.Add("isUri", NpgsqlDbType.Boolean);
                    var plan = upsert.Parameters.Add("plan", NpgsqlDbType.Text);
                    var dimension = upsert.Parameters.Add("dimension", NpgsqlDbType.Text);
                    var hour = upsert.Parameters.Add("hour", NpgsqlDbType.TimestampTz);
                    var quantity = upsert.Parameters.Add("quantity", NpgsqlDbType.Numeric);
                    upsert.Parameters.AddWithValue("now", NpgsqlDbType.TimestampTz, now.ToUniversalTime());
                    upsert.Parameters.AddWithValue("max", NpgsqlDbType.Numeric, decimal.MaxValue);

                    List<UsageCarryForward>? moves = null;
                    var currentHour = HourOf(now);
                    foreach (var delta in deltas)
                    {
                        resource.Value = delta.Resource.ToString();
                        isUri.Value = delta.Resource.Uri is not null;
                        plan.Value = delta.PlanId;
                        dimension.Value = delta.Dimension;
                        quantity.Value = delta.Quantity;
                        var target = delta.Hour.ToUniversalTime();
                        while (true)
                        {
                            hour.Value = target;
                            // A row changed: the transaction's id and its backend's process come back, for txid_status (and
                            // pg_terminate_backend) should the commit's answer be lost.
                            if (await ReturnedTransactionAsync(upsert, cancellationToken).ConfigureAwait(false) is { } returned)
                            {
                                commit.TransactionId = returned.TransactionId;
                                commit.BackendPid = returned.BackendPid;
                                break;
                            }

                            // Taken: the usage moves to a later hour, the current one when it is later.
                            target = target < currentHour ? currentHour : target.AddHours(1);
                        }

                        if (target != delta.Hour)
                        {
                            var move = new UsageCarryForward(delta.Resource, delta.PlanId, delta.Dimension, delta.Hour, target, delta.Quantity, now);
                            await InsertCarryAsync(connection, transaction, move, cancellationToken).ConfigureAwait(false);
                            (moves ??= []).Add(move);
                        }
                    }

                    commit.Result = (IReadOnlyList<UsageCarryForward>?)moves ?? [];
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return commit.Result;
                }
            }
        }
    }

    /// <summary>The transaction id and backend process an upsert returns when it changed a row, else <see langword="null"/>.</summary>
    private static async Task<(long TransactionId, int BackendPid)?> ReturnedTransactionAsync(NpgsqlCommand upsert, CancellationToken cancellationToken)
    {
        var reader = await upsert.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? (reader.GetInt64(0), reader.GetInt32(1)) : null;
        }
    }

    /// <inheritdoc/>
    protected override async Task<IReadOnlyList<UsageLedgerEntry>> ClaimAsync(string owner, DateTimeOffset latestHour, DateTimeOffset now, DateTimeOffset leaseUntil, int maxEntries, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // SKIP LOCKED: rows another instance is claiming (or adding to) right now are left to it, never waited for or shared.
            var command = new NpgsqlCommand(
                Sql("""
                    UPDATE {0}.usage SET state = 1, claim_id = @claim, claim_owner = @owner, lease_until = @lease, attempts = attempts + 1, submitted_at = @now, updated_at = @now
                    WHERE id IN (
                        SELECT id FROM {0}.usage
                        WHERE hour > @expiredThrough AND ((state = 0 AND hour <= @latest) OR (state = 1 AND lease_until <= @now))
                        ORDER BY hour, id LIMIT @max
                        FOR UPDATE SKIP LOCKED)
                    RETURNING 
                    """ + Columns + ";"),
                connection);
            await using (command.ConfigureAwait(false))
            {
                command.Parameters.AddWithValue("claim", Guid.NewGuid());
                command.Parameters.AddWithValue("owner", owner);
                command.Parameters.AddWithValue("lease", NpgsqlDbType.TimestampTz, leaseUntil.ToUniversalTime());
                command.Parameters.AddWithValue("now", NpgsqlDbType.TimestampTz, now.ToUniversalTime());
                command.Parameters.AddWithValue("latest", NpgsqlDbType.TimestampTz, latestHour.ToUniversalTime());
                command.Parameters.AddWithValue("expiredThrough", NpgsqlDbType.TimestampTz, ExpiredThrough(now).ToUniversalTime());
                command.Parameters.AddWithValue("max", maxEntries);
                var unreadable = new List<(long Id, string Problem)>();
                var claimed = await ReadEntriesAsync(command, cancellationToken, unreadable).ConfigureAwait(false);
                await FailUnreadableAsync(connection, unreadable, now, cancellationToken).ConfigureAwait(false);
                return [.. claimed.OrderBy(e => e.Hour).ThenBy(e => e.Id)];
            }
        }
    }

    /// <inheritdoc/>
    protected override async Task<int> CompleteAsync(IReadOnlyList<UsageOutcome> outcomes, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var command = new NpgsqlCommand(
                    Sql("""
                        UPDATE {0}.usage SET state = @state, usage_event_id = COALESCE(@event, usage_event_id), resource_usage_id = COALESCE(@usage, resource_usage_id), detail = @detail, updated_at = @now,
                            completed_at = CASE WHEN @state = 0 THEN NULL ELSE @now END,
                            claim_id = CASE WHEN @state = 0 THEN NULL ELSE claim_id END,
                            claim_owner = CASE WHEN @state = 0 THEN NULL ELSE claim_owner END,
                            lease_until = NULL
                        WHERE id = @id AND claim_id = @claim AND state = 1;
                        """),
                    connection,
                    transaction);
                await using (command.ConfigureAwait(false))
                {
                    var state = command.Parameters.Add("state", NpgsqlDbType.Smallint);
                    var usageEventId = command.Parameters.Add("event", NpgsqlDbType.Uuid);
                    var resourceUsageId = command.Parameters.Add("usage", NpgsqlDbType.Uuid);
                    var detail = command.Parameters.Add("detail", NpgsqlDbType.Text);
                    var id = command.Parameters.Add("id", NpgsqlDbType.Bigint);
                    var claim = command.Parameters.Add("claim", NpgsqlDbType.Uuid);
                    command.Parameters.AddWithValue("now", NpgsqlDbType.TimestampTz, now.ToUniversalTime());
                    var changed = 0;
                    foreach (var outcome in outcomes)
                    {
                        state.Value = (short)outcome.State;
                        usageEventId.Value = (object?)outcome.UsageEventId ?? DBNull.Value;
                        resourceUsageId.Value = (object?)outcome.ResourceUsageId ?? DBNull.Value;
                        detail.Value = (object?)outcome.Detail ?? DBNull.Value;
                        id.Value = outcome.EntryId;
                        claim.Value = outcome.ClaimId;
                        changed += await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }

                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return changed;
                }
            }
        }
    }

    /// <inheritdoc/>
    protected override async Task<IReadOnlyList<UsageLedgerEntry>> ExpireAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var command = new NpgsqlCommand(
                Sql("""
                    UPDATE {0}.usage SET state = 5, completed_at = @now, updated_at = @now, claim_id = NULL, claim_owner = NULL, lease_until = NULL,
                        detail = COALESCE(detail || ' ', '') || '(expired: not delivered before the deadline)'
                    WHERE hour <= @expiredThrough AND (state = 0 OR (state = 1 AND lease_until <= @now))
                    RETURNING 
                    """ + Columns + ";"),
                connection);
            await using (command.ConfigureAwait(false))
            {
                command.Parameters.AddWithValue("now", NpgsqlDbType.TimestampTz, now.ToUniversalTime());
                command.Parameters.AddWithValue("expiredThrough", NpgsqlDbType.TimestampTz, ExpiredThrough(now).ToUniversalTime());
                var unreadable = new List<(long Id, string Problem)>();
                var expired = await ReadEntriesAsync(command, cancellationToken, unreadable).ConfigureAwait(false);
                await FailUnreadableAsync(connection, unreadable, now, cancellationToken).ConfigureAwait(false);
                return [.. expired.OrderBy(e => e.Hour).ThenBy(e => e.Id)];
            }
        }
    }

    /// <inheritdoc/>
    protected override async ValueTask DisposeAsyncCore()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    private static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new ArgumentException("The PostgreSQL connection string must not be empty.", nameof(connectionString));
        }

        try
        {
            return NpgsqlDataSource.Create(connectionString);
        }
        catch (ArgumentException e)
        {
            // Npgsql's message names the bad keyword; the connection string itself (it may hold a password) is not repeated.
            throw new ArgumentException("The PostgreSQL connection string is malformed: " + e.Message, nameof(connectionString), e);
        }
    }

    private string Sql(string template) => string.Format(CultureInfo.InvariantCulture, template, _schema);

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        return await OpenCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<NpgsqlConnection> OpenCoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            throw new InvalidOperationException("Cannot open the PostgreSQL usage ledger (schema '" + _schema + "'): " + e.Message, e);
        }
    }

    private async Task InsertCarryAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, UsageCarryForward move, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(
            Sql("INSERT INTO {0}.carry_forward (resource, resource_is_uri, plan_id, dimension, from_hour, into_hour, quantity, recorded_at) VALUES (@resource, @isUri, @plan, @dimension, @from, @into, @quantity, @now);"),
            connection,
            transaction);
        await using (command.ConfigureAwait(false))
        {
            command.Parameters.AddWithValue("resource", move.Resource.ToString());
            command.Parameters.AddWithValue("isUri", move.Resource.Uri is not null);
            command.Parameters.AddWithValue("plan", move.PlanId);
            command.Parameters.AddWithValue("dimension", move.Dimension);
            command.Parameters.AddWithValue("from", NpgsqlDbType.TimestampTz, move.FromHour.ToUniversalTime());
            command.Parameters.AddWithValue("into", NpgsqlDbType.TimestampTz, move.IntoHour.ToUniversalTime());
            command.Parameters.AddWithValue("quantity", move.Quantity);
            command.Parameters.AddWithValue("now", NpgsqlDbType.TimestampTz, move.RecordedAt.ToUniversalTime());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        await using (command.ConfigureAwait(false))
        {
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }

            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        await using (command.ConfigureAwait(false))
        {
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads the rows <paramref name="command"/> returns. A row that cannot be read (a resource that is not a GUID, or
    /// marked as a URI that is not an Azure resource id: a row edited by hand, say) is collected in <paramref name="unreadable"/> when given, else it throws
    /// <see cref="InvalidDataException"/> naming the row.
    /// </summary>
    private static async Task<List<UsageLedgerEntry>> ReadEntriesAsync(NpgsqlCommand command, CancellationToken cancellationToken, List<(long Id, string Problem)>? unreadable = null)
    {
        var entries = new List<UsageLedgerEntry>();
        var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                try
                {
                    entries.Add(ReadEntry(reader));
                }
                catch (Exception e) when (e is FormatException or OverflowException or InvalidCastException or ArgumentException)
                {
                    // ArgumentException: a resource marked as a URI that is not an Azure resource id (UsageResource.FromUri).
                    var problem = DescribeUnreadableRow(reader.GetInt64(0), e);
                    if (unreadable is null)
                    {
                        throw new InvalidDataException(problem, e);
                    }

                    unreadable.Add((reader.GetInt64(0), problem));
                }
            }
        }

        return entries;
    }

    /// <summary>Marks rows that cannot be read Failed, with what is wrong, so that no flush claims them again; then reports them.</summary>
    private async Task FailUnreadableAsync(NpgsqlConnection connection, List<(long Id, string Problem)> unreadable, DateTimeOffset now, CancellationToken cancellationToken)
    {
        foreach (var (id, problem) in unreadable)
        {
            var command = new NpgsqlCommand(
                Sql("UPDATE {0}.usage SET state = 6, detail = @detail, claim_id = NULL, claim_owner = NULL, lease_until = NULL, completed_at = @now, updated_at = @now WHERE id = @id;"),
                connection);
            await using (command.ConfigureAwait(false))
            {
                command.Parameters.AddWithValue("detail", "InvalidRow: " + problem);
                command.Parameters.AddWithValue("now", NpgsqlDbType.TimestampTz, now.ToUniversalTime());
                command.Parameters.AddWithValue("id", id);
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            ReportUnreadableRow(problem);
        }
    }

    private static UsageLedgerEntry ReadEntry(DbDataReader reader) => new()
    {
        Id = reader.GetInt64(0),
        Resource = ResourceOf(reader.GetString(1), reader.GetBoolean(2)),
        PlanId = reader.GetString(3),
        Dimension = reader.GetString(4),
        Hour = reader.GetFieldValue<DateTimeOffset>(5),
        Quantity = reader.GetDecimal(6),
        State = (UsageLedgerState)reader.GetInt16(7),
        UsageEventId = reader.IsDBNull(8) ? null : reader.GetGuid(8),
        Detail = reader.IsDBNull(9) ? null : reader.GetString(9),
        Attempts = reader.GetInt32(10),
        CreatedAt = reader.GetFieldValue<DateTimeOffset>(11),
        UpdatedAt = reader.GetFieldValue<DateTimeOffset>(12),
        SubmittedAt = reader.IsDBNull(13) ? null : reader.GetFieldValue<DateTimeOffset>(13),
        CompletedAt = reader.IsDBNull(14) ? null : reader.GetFieldValue<DateTimeOffset>(14),
        ClaimId = reader.IsDBNull(15) ? null : reader.GetGuid(15),
        ResourceUsageId = reader.IsDBNull(16) ? null : reader.GetGuid(16),
    };

    private static UsageResource ResourceOf(string text, bool isUri) => isUri ? UsageResource.FromUri(text) : UsageResource.FromId(Guid.Parse(text));

    /// <summary>Whether <paramref name="schema"/> is a name the ledger accepts (for the start-up validation).</summary>
    internal static bool IsSchemaName(string? schema) => schema is not null && Identifier().IsMatch(schema);

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex Identifier();
}
