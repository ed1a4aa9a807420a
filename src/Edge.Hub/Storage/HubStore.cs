using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Edge.Hub.Storage;

/// <summary>A message waiting for one endpoint. <see cref="Input"/> is empty for <c>$upstream</c>.</summary>
internal sealed record StoredMessage(
    long Seq,
    string Target,
    string Input,
    int Priority,
    DateTimeOffset EnqueuedAt,
    DateTimeOffset ExpiresAt,
    string Source,
    string Route,
    byte[] Body,
    Dictionary<string, string> Properties,
    Dictionary<string, string> SystemProperties)
{
    public string Endpoint => HubStore.EndpointName(Target, Input);
}

/// <summary>Where a routed copy goes: target (<c>$upstream</c> or a module id), input, priority, TTL (seconds, negative = forever).</summary>
internal sealed record EnqueueTarget(string Target, string Input, int Priority, long TimeToLiveSecs, string Route);

/// <summary>
/// The hub's persistent state in one SQLite file (WAL): the store-and-forward queue (one row per routed copy, ordered by
/// priority then arrival, which keeps FIFO per source, endpoint and priority) and the module twins.
/// </summary>
internal sealed class HubStore : IDisposable
{
    public const string Upstream = "$upstream";

    private readonly SqliteConnection _db;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private HubStore(SqliteConnection db) => _db = db;

    public static string EndpointName(string target, string input) =>
        target == Upstream ? Upstream : $"modules/{target}/inputs/{input}";

    public static HubStore Open(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "hub.db");
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        db.Open();
        Execute(db, """
            PRAGMA journal_mode=WAL;
            PRAGMA synchronous=NORMAL;
            CREATE TABLE IF NOT EXISTS messages(
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              target TEXT NOT NULL, input TEXT NOT NULL, priority INTEGER NOT NULL,
              enqueued INTEGER NOT NULL, expires INTEGER NOT NULL,
              source TEXT NOT NULL, route TEXT NOT NULL,
              body BLOB NOT NULL, props TEXT NOT NULL, sysprops TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_messages_target ON messages(target, priority, seq);
            CREATE TABLE IF NOT EXISTS twins(module TEXT PRIMARY KEY, doc TEXT NOT NULL);
            """);
        return new HubStore(db);
    }

    /// <summary>Stores one copy per target in a single transaction; returns when it is durable in the WAL.</summary>
    public async Task EnqueueAsync(ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string> properties,
        IReadOnlyDictionary<string, string> systemProperties, string source, IReadOnlyList<EnqueueTarget> targets,
        DateTimeOffset now, CancellationToken ct)
    {
        var props = JsonSerializer.Serialize(properties);
        var sys = JsonSerializer.Serialize(systemProperties);
        var bodyBytes = body.ToArray();
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var tx = _db.BeginTransaction();
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                INSERT INTO messages(target, input, priority, enqueued, expires, source, route, body, props, sysprops)
                VALUES ($t, $i, $p, $e, $x, $s, $r, $b, $pr, $sp)
                """;
            var pt = cmd.Parameters.Add("$t", SqliteType.Text);
            var pi = cmd.Parameters.Add("$i", SqliteType.Text);
            var pp = cmd.Parameters.Add("$p", SqliteType.Integer);
            cmd.Parameters.AddWithValue("$e", now.ToUnixTimeMilliseconds());
            var px = cmd.Parameters.Add("$x", SqliteType.Integer);
            cmd.Parameters.AddWithValue("$s", source);
            var pr = cmd.Parameters.Add("$r", SqliteType.Text);
            cmd.Parameters.AddWithValue("$b", bodyBytes);
            cmd.Parameters.AddWithValue("$pr", props);
            cmd.Parameters.AddWithValue("$sp", sys);
            foreach (var t in targets)
            {
                pt.Value = t.Target;
                pi.Value = t.Input;
                pp.Value = t.Priority;
                px.Value = t.TimeToLiveSecs < 0 ? long.MaxValue : now.ToUnixTimeMilliseconds() + (t.TimeToLiveSecs * 1000);
                pr.Value = t.Route;
                cmd.ExecuteNonQuery();
            }

            tx.Commit();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The next messages for a target in delivery order (priority, then arrival). With <paramref name="sweepExpired"/>, expired ones are
    /// deleted and returned separately so the caller can count and log them; they are never delivered (the caller also checks each
    /// message's expiry before delivering it).
    /// </summary>
    public async Task<(List<StoredMessage> Live, List<StoredMessage> Expired)> PeekAsync(string target, DateTimeOffset now, int max, bool sweepExpired,
        CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var nowMs = now.ToUnixTimeMilliseconds();
            var expired = !sweepExpired ? [] : Query("SELECT * FROM messages WHERE target = $t AND expires <= $n ORDER BY seq", target, nowMs, int.MaxValue);
            if (expired.Count > 0)
            {
                using var del = _db.CreateCommand();
                del.CommandText = "DELETE FROM messages WHERE target = $t AND expires <= $n";
                del.Parameters.AddWithValue("$t", target);
                del.Parameters.AddWithValue("$n", nowMs);
                del.ExecuteNonQuery();
            }

            var live = Query("SELECT * FROM messages WHERE target = $t AND expires > $n ORDER BY priority, seq LIMIT $m", target, nowMs, max);
            return (live, expired);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task DeleteAsync(long seq, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "DELETE FROM messages WHERE seq = $q";
            cmd.Parameters.AddWithValue("$q", seq);
            cmd.ExecuteNonQuery();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Deletes delivered messages in one transaction.</summary>
    public async Task DeleteAsync(IReadOnlyList<long> seqs, CancellationToken ct)
    {
        if (seqs.Count == 0)
        {
            return;
        }

        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var tx = _db.BeginTransaction();
            using var cmd = _db.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "DELETE FROM messages WHERE seq = $q";
            var p = cmd.Parameters.Add("$q", SqliteType.Integer);
            foreach (var seq in seqs)
            {
                p.Value = seq;
                cmd.ExecuteNonQuery();
            }

            tx.Commit();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Targets that have anything queued (so their dispatchers start after a restart).</summary>
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
                r.GetInt64(r.GetOrdinal("seq")),
                r.GetString(r.GetOrdinal("target")),
                r.GetString(r.GetOrdinal("input")),
                r.GetInt32(r.GetOrdinal("priority")),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(r.GetOrdinal("enqueued"))),
                ToTime(r.GetInt64(r.GetOrdinal("expires"))),
                r.GetString(r.GetOrdinal("source")),
                r.GetString(r.GetOrdinal("route")),
                (byte[])r["body"],
                JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(r.GetOrdinal("props")))!,
                JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(r.GetOrdinal("sysprops")))!));
        }

        return list;
    }

    private static DateTimeOffset ToTime(long ms) => ms >= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
        ? DateTimeOffset.MaxValue
        : DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static void Execute(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
