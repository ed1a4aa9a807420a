using Edge.Runtime.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Edge.Runtime.Outbox;

/// <summary>
/// The outbox's SQLite file: opening it (pragmas, schema, integrity check), quarantining a corrupt one, and the reads that are
/// not the writer's (the pump's backlog read, the oldest row's age). One connection holds the file in EXCLUSIVE locking mode
/// (no file locks or shared memory per transaction), so the writer's rounds and these reads take turns on it through
/// <see cref="Gate"/>.
/// </summary>
internal sealed class OutboxFile : IDisposable
{
    private readonly TimeProvider _time;
    private SqliteCommand? _read; // prepared once: the pump's backlog reads (only the pump uses it)
    private SqliteCommand? _oldest;
    private bool _disposed; // under Gate

    private OutboxFile(SqliteConnection connection, TimeProvider time)
    {
        Connection = connection;
        _time = time;
    }

    /// <summary>The one connection. Use it only while holding <see cref="Gate"/>.</summary>
    public SqliteConnection Connection { get; }

    /// <summary>Taken by the writer for each round and by every read on <see cref="Connection"/>.</summary>
    public Lock Gate { get; } = new();

    /// <summary>Opens the file, creating it, or quarantining a corrupt one and starting empty.</summary>
    /// <exception cref="EdgeConfigurationException">Another process holds the file (two instances share the state directory).</exception>
    public static OutboxFile Open(string path, TimeProvider time, RuntimeMetrics metrics, ILogger logger)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        try
        {
            return new OutboxFile(OpenChecked(path), time);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode is 5 or 6)
        {
            // A configuration error (one clear line and the configuration exit code at start-up), not a corrupt file.
            throw new EdgeConfigurationException(
                "StateDirectory",
                $"the outbox {path} is locked by another process: two instances of this module share the state directory. Stop the other one, or give each its own StateDirectory.");
        }
        catch (SqliteException ex)
        {
            var quarantine = $"{path}.corrupt-{time.GetUtcNow():yyyyMMddTHHmmssfff}";
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                if (File.Exists(path + suffix))
                {
                    File.Move(path + suffix, quarantine + suffix);
                }
            }

            metrics.Quarantined.Add(1);
            Log.OutboxQuarantined(logger, path, ex.Message, quarantine);
            return new OutboxFile(OpenChecked(path), time);
        }
    }

    /// <summary>The highest sequence number ever used: never go back while rows exist (nor below what AUTOINCREMENT used in older files).</summary>
    public long ReadLastSeq()
    {
        var last = (long)Scalar(Connection, "SELECT coalesce(max(seq), 0) FROM messages")!;
        if (Scalar(Connection, "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'") is > 0L
            && Scalar(Connection, "SELECT seq FROM sqlite_sequence WHERE name = 'messages'") is long used)
        {
            last = Math.Max(last, used);
        }

        return last;
    }

    /// <summary>Reads up to <paramref name="max"/> messages after <paramref name="afterSeq"/>, in sequence order. Only the pump calls this.</summary>
    public List<OutboxRecord> ReadBatch(long afterSeq, int max)
    {
        var list = new List<OutboxRecord>(max);
        lock (Gate)
        {
            var cmd = _read ??= CreateRead(Connection);
            cmd.Parameters[0].Value = afterSeq;
            cmd.Parameters[1].Value = max;
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                list.Add(new OutboxRecord(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetFieldValue<byte[]>(3), r.IsDBNull(4) ? null : r.GetString(4), r.GetInt64(5), r.GetInt64(6)));
            }
        }

        return list;
    }

    /// <summary>Age of the oldest waiting message in seconds (0 when there is none or the file is closed).</summary>
    public double OldestAgeSeconds()
    {
        try
        {
            lock (Gate)
            {
                if (_disposed)
                {
                    return 0;
                }

                // The lowest seq is the oldest message (seq follows enqueue order): the table's first row, not a scan.
                _oldest ??= CreateCommand(Connection, "SELECT enqueued FROM messages ORDER BY seq LIMIT 1");
                return _oldest.ExecuteScalar() is long ms ? Math.Max(0, (_time.GetUtcNow().ToUnixTimeMilliseconds() - ms) / 1000.0) : 0;
            }
        }
        catch (SqliteException)
        {
            return 0;
        }
    }

    public void Dispose()
    {
        lock (Gate)
        {
            _disposed = true;
            _read?.Dispose();
            _oldest?.Dispose();
            Connection.Dispose();
        }
    }

    private static SqliteConnection Open(string path)
    {
        // DefaultTimeout: how long a busy file (another instance still stopping) is retried before the clear error above.
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 5 }.ToString());
        c.Open();
        return c;
    }

    private static SqliteConnection OpenChecked(string path)
    {
        var c = Open(path);
        try
        {
            // Before the first WAL access: the WAL index then lives in this process's memory, not in a -shm file.
            Exec(c, "PRAGMA locking_mode=EXCLUSIVE");
            Exec(c, "PRAGMA journal_mode=WAL");
            Exec(c, "PRAGMA synchronous=NORMAL");

            // Checkpoint every 16 MB of WAL instead of 4 MB: frames are deleted soon after they are written, so fewer
            // checkpoints copy fewer dead pages into the database file.
            Exec(c, "PRAGMA wal_autocheckpoint=4096");
            using (var check = c.CreateCommand())
            {
                check.CommandText = "PRAGMA quick_check";
                var result = check.ExecuteScalar() as string;
                if (result != "ok")
                {
                    throw new SqliteException($"integrity check: {result}", 11);
                }
            }

            // The writer assigns seq itself (one past the highest ever used), so the table needs neither AUTOINCREMENT (its
            // sqlite_sequence row was one more page written per commit) nor an (output, seq) index (another page per commit):
            // DropOldest scans forward in seq order from where it last dropped. Files made by older versions are rebuilt in the
            // new shape when they open empty; until then they keep working as they are.
            Exec(c, "DROP INDEX IF EXISTS messages_output");
            if (Scalar(c, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'messages'") is string sql
                && sql.Contains("AUTOINCREMENT", StringComparison.OrdinalIgnoreCase)
                && Scalar(c, "SELECT count(*) FROM messages") is 0L)
            {
                Exec(c, "DROP TABLE messages; DELETE FROM sqlite_sequence WHERE name = 'messages'");
            }

            Exec(c, """
                CREATE TABLE IF NOT EXISTS messages(
                  seq INTEGER PRIMARY KEY,
                  output TEXT NOT NULL,
                  bag TEXT NOT NULL,
                  body BLOB NOT NULL,
                  mid TEXT,
                  size INTEGER NOT NULL,
                  enqueued INTEGER NOT NULL,
                  expires INTEGER NOT NULL)
                """);
            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    private static object? Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static SqliteCommand CreateCommand(SqliteConnection c, string sql)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd;
    }

    private static SqliteCommand CreateRead(SqliteConnection c)
    {
        var cmd = CreateCommand(c, "SELECT seq, output, bag, body, mid, enqueued, expires FROM messages WHERE seq > $after ORDER BY seq LIMIT $max");
        cmd.Parameters.Add("$after", SqliteType.Integer);
        cmd.Parameters.Add("$max", SqliteType.Integer);
        return cmd;
    }
}
