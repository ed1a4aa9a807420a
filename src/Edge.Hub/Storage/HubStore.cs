using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Edge.Hub.Storage;

/// <summary>
/// The hub's persistent state in one SQLite file (WAL): the store-and-forward queue (one row per routed copy, ordered by
/// priority then arrival, which keeps FIFO per source, endpoint and priority) and the module twins.
/// </summary>
/// <remarks>
/// Writes are group-committed: every publish adds its rows to a pending list, and one writer loop commits everything pending (and
/// the delivered rows waiting for deletion) in one transaction with prepared commands. A write's task completes only once its
/// rows are committed, and the protocol head sends the PUBACK only then, so a PUBACK still means "in the WAL" (survives kill -9 of the hub).
/// </remarks>
internal sealed class HubStore : IDisposable
{
    public const string Upstream = "$upstream";

    private const string Columns = "seq, target, input, priority, enqueued, expires, source, route, body, props, sysprops";

    private readonly SqliteConnection _db;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SqliteCommand _insert;
    private readonly SqliteCommand _delete;
    private readonly Lock _pendingLock = new();
    private List<PendingWrite> _writes = [];
    private List<long> _deletes = [];
    private bool _closed;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _writer;

    private readonly WalCheckpointer _checkpointer;

    private HubStore(SqliteConnection db, string path, TimeProvider time)
    {
        _db = db;
        _insert = db.CreateCommand();
        _insert.CommandText = """
            INSERT INTO messages(target, input, priority, enqueued, expires, source, route, body, props, sysprops)
            VALUES ($t, $i, $p, $e, $x, $s, $r, $b, $pr, $sp)
            """;
        foreach (var (name, type) in new[]
        {
            ("$t", SqliteType.Text), ("$i", SqliteType.Text), ("$p", SqliteType.Integer), ("$e", SqliteType.Integer), ("$x", SqliteType.Integer),
            ("$s", SqliteType.Text), ("$r", SqliteType.Text), ("$b", SqliteType.Blob), ("$pr", SqliteType.Text), ("$sp", SqliteType.Text),
        })
        {
            _insert.Parameters.Add(name, type);
        }

        _delete = db.CreateCommand();
        _delete.CommandText = "DELETE FROM messages WHERE seq = $q";
        _delete.Parameters.Add("$q", SqliteType.Integer);
        _writer = Task.Run(() => WriteLoopAsync(_stop.Token));
        _checkpointer = new WalCheckpointer(path, TimeSpan.FromSeconds(1), time, _stop.Token);
    }

    public static string EndpointName(string target, string input) =>
        target == Upstream ? Upstream : $"modules/{target}/inputs/{input}";

    public static HubStore Open(string directory, TimeProvider time)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "hub.db");
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        Execute(db, """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            PRAGMA wal_autocheckpoint=0;
            CREATE TABLE IF NOT EXISTS messages(
              seq INTEGER PRIMARY KEY,
              target TEXT NOT NULL, input TEXT NOT NULL, priority INTEGER NOT NULL,
              enqueued INTEGER NOT NULL, expires INTEGER NOT NULL,
              source TEXT NOT NULL, route TEXT NOT NULL,
              body BLOB NOT NULL, props TEXT NOT NULL, sysprops TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_messages_target ON messages(target, priority, seq);
            CREATE TABLE IF NOT EXISTS twins(module TEXT PRIMARY KEY, doc TEXT NOT NULL);
            """);
        return new HubStore(db, path, time);
    }

    /// <summary>
    /// Stores one copy per target; the task completes when it is durable in the WAL. The writer loop commits every write pending at
    /// that moment in one transaction, so concurrent publishes (and a client's pipelined ones) share commits.
    /// The store keeps <paramref name="body"/> and the property dictionaries: the caller must not change them afterwards.
    /// <paramref name="sink"/> gets each committed copy (see <see cref="ICommitSink"/>).
    /// </summary>
    public Task EnqueueAsync(byte[] body, IReadOnlyDictionary<string, string> properties,
        IReadOnlyDictionary<string, string> systemProperties, string source, IReadOnlyList<EnqueueTarget> targets,
        DateTimeOffset now, ICommitSink sink, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled(ct);
        }

        var write = new PendingWrite(body, properties, systemProperties, JsonSerializer.Serialize(properties),
            JsonSerializer.Serialize(systemProperties), source, targets, now.ToUnixTimeMilliseconds(), sink);
        lock (_pendingLock)
        {
            if (_closed)
            {
                return Task.FromException(new ObjectDisposedException(nameof(HubStore)));
            }

            _writes.Add(write);
        }

        _wake.Writer.TryWrite(true);
        return write.Done.Task;
    }

    private async Task WriteLoopAsync(CancellationToken ct)
    {
        try
        {
            while (await _wake.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                await _gate.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    CommitPending();
                }
                finally
                {
                    _gate.Release();
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Marks delivered messages for deletion: they are deleted in the next transaction (a group commit, a queue read or
    /// <see cref="FlushDeletesAsync"/>); a crash before that redelivers them (at-least-once, as edgeHub). Returns how many wait.
    /// </summary>
    public int DeleteLater(long seq)
    {
        lock (_pendingLock)
        {
            _deletes.Add(seq);
            return _deletes.Count;
        }
    }

    /// <summary>Deletes the messages marked by <see cref="DeleteLater"/> now.</summary>
    public async Task FlushDeletesAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            CommitPending();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The next messages for a target in delivery order (priority, then arrival), after applying pending deletes. With
    /// <paramref name="sweepExpired"/>, expired ones are deleted and returned separately so the caller can count and log them; they
    /// are never delivered (the caller also checks each message's expiry before delivering it). <paramref name="load"/> gets the
    /// live messages and whether they are the whole queue, before any later commit is reported to an <see cref="ICommitSink"/>.
    /// </summary>
    public async Task<List<StoredMessage>> PeekAsync(string target, DateTimeOffset now, int max, bool sweepExpired,
        Action<List<StoredMessage>, bool> load, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            CommitPending();
            var nowMs = now.ToUnixTimeMilliseconds();
            var expired = !sweepExpired ? [] : Query($"SELECT {Columns} FROM messages WHERE target = $t AND expires <= $n ORDER BY seq", target, nowMs, int.MaxValue);
            if (expired.Count > 0)
            {
                using var del = _db.CreateCommand();
                del.CommandText = "DELETE FROM messages WHERE target = $t AND expires <= $n";
                del.Parameters.AddWithValue("$t", target);
                del.Parameters.AddWithValue("$n", nowMs);
                del.ExecuteNonQuery();
            }

            var live = Query($"SELECT {Columns} FROM messages WHERE target = $t AND expires > $n ORDER BY priority, seq LIMIT $m", target, nowMs, max);
            load(live, live.Count < max);
            return expired;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Targets that have anything queued (so their endpoint executors start after a restart).</summary>
    public async Task<List<string>> GetTargetsAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT DISTINCT target FROM messages";
            using var r = cmd.ExecuteReader();
            var list = new List<string>();
            while (r.Read())
            {
                list.Add(r.GetString(0));
            }

            return list;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<List<QueueStatus>> GetDepthsAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            CommitPending();
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT target, input, priority, COUNT(*) FROM messages GROUP BY target, input, priority ORDER BY target, input, priority";
            using var r = cmd.ExecuteReader();
            var list = new List<QueueStatus>();
            while (r.Read())
            {
                list.Add(new QueueStatus(EndpointName(r.GetString(0), r.GetString(1)), r.GetInt32(2), r.GetInt64(3)));
            }

            return list;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<Dictionary<string, string>> LoadTwinsAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "SELECT module, doc FROM twins";
            using var r = cmd.ExecuteReader();
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            while (r.Read())
            {
                result[r.GetString(0)] = r.GetString(1);
            }

            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task SaveTwinAsync(string module, string doc, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT INTO twins(module, doc) VALUES ($m, $d) ON CONFLICT(module) DO UPDATE SET doc = excluded.doc";
            cmd.Parameters.AddWithValue("$m", module);
            cmd.Parameters.AddWithValue("$d", doc);
            cmd.ExecuteNonQuery();
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        // Stop the writer, then commit what is still pending (nobody is told about it any more).
        _stop.Cancel();
        _writer.Wait();
        _checkpointer.Completion.Wait();
        lock (_pendingLock)
        {
            _closed = true;
        }

        _gate.Wait();
        try
        {
            CommitPending();
        }
        finally
        {
            _gate.Release();
        }

        _stop.Dispose();
        _insert.Dispose();
        _delete.Dispose();
        _db.Dispose();
        _gate.Dispose();
    }

    private List<StoredMessage> Query(string sql, string target, long nowMs, int max)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$t", target);
        cmd.Parameters.AddWithValue("$n", nowMs);
        cmd.Parameters.AddWithValue("$m", max);
        using var r = cmd.ExecuteReader();
        var list = new List<StoredMessage>();
        while (r.Read())
        {
            list.Add(new StoredMessage(
                r.GetInt64(0),
                r.GetString(1),
                r.GetString(2),
                r.GetInt32(3),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)),
                ToTime(r.GetInt64(5)),
                r.GetString(6),
                r.GetString(7),
                (byte[])r[8],
                JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(9))!,
                JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(10))!));
        }

        return list;
    }

    /// <summary>
    /// Commits every pending write and delete in one transaction and completes the writers (call with the gate held). On failure the
    /// writers see the exception (no PUBACK) and the deletes stay pending.
    /// </summary>
    private void CommitPending()
    {
        List<PendingWrite> writes;
        List<long> deletes;
        bool closed;
        lock (_pendingLock)
        {
            closed = _closed;
            if (_writes.Count == 0 && _deletes.Count == 0)
            {
                return;
            }

            writes = _writes;
            deletes = _deletes;
            _writes = [];
            _deletes = [];
        }

        List<(StoredMessage Message, ICommitSink Sink)> committed;
        try
        {
            committed = Write(writes, deletes);
        }
        catch (Exception ex)
        {
            lock (_pendingLock)
            {
                _deletes.AddRange(deletes);
            }

            foreach (var w in writes)
            {
                w.Done.TrySetException(ex);
            }

            return;
        }

        foreach (var w in writes)
        {
            w.Done.TrySetResult();
        }

        if (!closed)
        {
            // Closing: the executors are gone; the rows are in the store for the next start.
            foreach (var (m, sink) in committed)
            {
                sink.Committed(m);
            }
        }
    }

    private List<(StoredMessage Message, ICommitSink Sink)> Write(List<PendingWrite> writes, List<long> deletes)
    {
        using var tx = _db.BeginTransaction();
        _insert.Transaction = tx;
        var p = _insert.Parameters;
        var committed = new List<(StoredMessage, ICommitSink)>();
        foreach (var w in writes)
        {
            p[3].Value = w.NowMs;
            p[5].Value = w.Source;
            p[7].Value = w.Body;
            p[8].Value = w.PropsJson;
            p[9].Value = w.SysJson;
            foreach (var t in w.Targets)
            {
                var expires = t.TimeToLiveSecs < 0 ? long.MaxValue : w.NowMs + (t.TimeToLiveSecs * 1000);
                p[0].Value = t.Target;
                p[1].Value = t.Input;
                p[2].Value = t.Priority;
                p[4].Value = expires;
                p[6].Value = t.Route;
                _insert.ExecuteNonQuery();
                var seq = SQLitePCL.raw.sqlite3_last_insert_rowid(_db.Handle);
                committed.Add((new StoredMessage(seq, t.Target, t.Input, t.Priority, DateTimeOffset.FromUnixTimeMilliseconds(w.NowMs), ToTime(expires),
                    w.Source, t.Route, w.Body, w.Properties, w.SystemProperties), w.Sink));
            }
        }

        // Deletes after the inserts: a new row never takes the seq of a row deleted in the same transaction.
        _delete.Transaction = tx;
        var q = _delete.Parameters[0];
        foreach (var seq in deletes)
        {
            q.Value = seq;
            _delete.ExecuteNonQuery();
        }

        tx.Commit();
        _delete.Transaction = null;
        _insert.Transaction = null;
        if (writes.Count > 0)
        {
            _checkpointer.MarkDirty();
        }

        return committed;
    }

    private static DateTimeOffset ToTime(long ms) => ms >= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
        ? DateTimeOffset.MaxValue
        : DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private sealed class PendingWrite(byte[] body, IReadOnlyDictionary<string, string> properties, IReadOnlyDictionary<string, string> systemProperties,
        string propsJson, string sysJson, string source, IReadOnlyList<EnqueueTarget> targets, long nowMs, ICommitSink sink)
    {
        public byte[] Body { get; } = body;

        public IReadOnlyDictionary<string, string> Properties { get; } = properties;

        public IReadOnlyDictionary<string, string> SystemProperties { get; } = systemProperties;

        public string PropsJson { get; } = propsJson;

        public string SysJson { get; } = sysJson;

        public string Source { get; } = source;

        public IReadOnlyList<EnqueueTarget> Targets { get; } = targets;

        public long NowMs { get; } = nowMs;

        public ICommitSink Sink { get; } = sink;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static void Execute(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
