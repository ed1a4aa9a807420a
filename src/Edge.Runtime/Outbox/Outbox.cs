using System.Threading.Channels;
using Edge.Runtime.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Edge.Runtime.Outbox;

/// <summary>One queued message.</summary>
internal sealed record OutboxRecord(long Seq, string Output, string Bag, byte[] Body, string? MessageId, long EnqueuedMs, long ExpiresMs)
{
    public long Size => Body.Length + Bag.Length;
}

/// <summary>
/// The durable store-and-forward queue: one SQLite file (WAL, synchronous=NORMAL) in the state folder. Writes are queued and
/// run by one writer at a time (a producer on its own thread when few are sending, else a background writer), which commits
/// everything queued in one transaction (group commit); <see cref="EnqueueAsync"/> returns only after its transaction
/// committed. Committed records reach the pump in memory while it is caught up (see <see cref="Take"/>). Power-loss window: with synchronous=NORMAL a committed transaction survives a process
/// crash (kill -9) but the last transactions before an OS crash/power cut may roll back (the WAL is fsynced at checkpoints).
/// </summary>
internal sealed class DurableOutbox : IAsyncDisposable
{
    public const string FileName = "outbox.db";

    // The in-memory hand-over to the pump is bounded by memory (bodies and record overhead), not by a small count: a burst of
    // small messages from one fast producer stays in memory instead of sending the pump to SQLite reads, which contend with that
    // producer's commits for the connection.
    private const int LiveMaxCount = 16_384;

    // Up to this many concurrent producers commit on their own threads (one leader at a time, the others' messages in its
    // transaction); beyond it, a background writer group-commits (inline leaders would tie up the thread pool).
    private const int InlineProducers = 4;
    private const long LiveMaxBytes = 16L * 1024 * 1024;
    private readonly OutboxOptions _options;
    private readonly TimeProvider _time;
    private readonly RuntimeMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Channel<WriteOp> _writes = Channel.CreateBounded<WriteOp>(new BoundedChannelOptions(4096) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly Dictionary<string, long> _bytesByOutput = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _droppedUpTo = new(StringComparer.Ordinal); // DropOldest: seq last dropped per output
    private readonly HashSet<string> _fullOutputs = new(StringComparer.Ordinal);
    private readonly object _openLock = new();
    private readonly PumpSignal _dataAvailable = new();

    // Hot path: while the pump is caught up (it has read every committed row), the writer hands each committed record to it
    // through _live instead of the pump SELECTing back what was just written. Bounded; on overflow, an eviction (DropOldest,
    // expiry purge) or a pump rewind it falls back to SQLite reads from the pump's cursor. Guarded by _gate.
    private readonly object _gate = new();
    private readonly Queue<OutboxRecord> _live = new();
    private List<OutboxRecord> _pendingDeletes = [];
    private List<OutboxRecord> _takenDeletes = [];
    private bool _liveMode;
    private long _liveBytes;
    private long _lastSeq;
    private long _liveFrom;
    private int _deleteWakePending;
    private bool _evicted;
    private SqliteConnection? _writer;
    private SqliteCommand? _read; // prepared once: the pump's backlog reads (only the pump uses it)
    private SqliteCommand? _oldest;

    // The one connection holds the file in EXCLUSIVE locking mode (no file locks or shared memory per transaction), so the
    // writer's rounds and the pump's backlog reads take turns on it.
    private readonly Lock _db = new();
    private bool _disposed; // under _db
    private volatile bool _opened;
    private WriterCommands? _commands;
    private readonly List<WriteOp> _round = new(512);
    private readonly List<OutboxRecord> _inserted = new(512);

    // 1 while a thread runs transactions (a producer inline, or a background drain): the writer role.
    private int _writing;
    private int _committedSinceSignal;
    private int _producers;
    private long _bytes;
    private long _count;

    public DurableOutbox(IOptions<OutboxOptions> options, IOptions<EdgeModuleOptions> module, TimeProvider time, RuntimeMetrics metrics, ILogger<DurableOutbox> logger)
    {
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        Path = System.IO.Path.Combine(module.Value.StateDirectory, FileName);
        metrics.Meter.CreateObservableGauge("edge_outbox_depth", () => Interlocked.Read(ref _count), description: "Messages waiting in the outbox");
        metrics.Meter.CreateObservableGauge("edge_outbox_bytes", () => Interlocked.Read(ref _bytes), "By", "Bytes waiting in the outbox");
        metrics.Meter.CreateObservableGauge("edge_outbox_oldest_age_seconds", OldestAgeSeconds, "s", "Age of the oldest waiting message");
    }

    public string Path { get; }

    public OutboxOptions Options => _options;

    public long Count => Interlocked.Read(ref _count);

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Opens (creating or quarantining) the database. Idempotent; called lazily by every operation.</summary>
    public void EnsureOpen()
    {
        if (_opened)
        {
            return;
        }

        lock (_openLock)
        {
            if (_opened)
            {
                return;
            }

            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            try
            {
                _writer = OpenChecked(Path);
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode is 5 or 6)
            {
                // A configuration error (one clear line and the configuration exit code at start-up), not a corrupt file.
                throw new EdgeConfigurationException(
                    "StateDirectory",
                    $"the outbox {Path} is locked by another process: two instances of this module share the state directory. Stop the other one, or give each its own StateDirectory.");
            }
            catch (SqliteException ex)
            {
                var quarantine = $"{Path}.corrupt-{_time.GetUtcNow():yyyyMMddTHHmmssfff}";
                foreach (var suffix in new[] { "", "-wal", "-shm" })
                {
                    if (File.Exists(Path + suffix))
                    {
                        File.Move(Path + suffix, quarantine + suffix);
                    }
                }

                _metrics.Quarantined.Add(1);
                Log.OutboxQuarantined(_logger, Path, ex.Message, quarantine);
                _writer = OpenChecked(Path);
            }

            // Sequence numbers never go back while rows exist (nor, in files from older versions, below what AUTOINCREMENT used).
            _lastSeq = (long)Scalar(_writer, "SELECT coalesce(max(seq), 0) FROM messages")!;
            if (Scalar(_writer, "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'") is > 0L
                && Scalar(_writer, "SELECT seq FROM sqlite_sequence WHERE name = 'messages'") is long used)
            {
                _lastSeq = Math.Max(_lastSeq, used);
            }

            using (var cmd = _writer.CreateCommand())
            {
                cmd.CommandText = "SELECT output, count(*), coalesce(sum(size),0) FROM messages GROUP BY output";
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    _bytesByOutput[r.GetString(0)] = r.GetInt64(2);
                    _count += r.GetInt64(1);
                    _bytes += r.GetInt64(2);
                }
            }

            Log.OutboxOpened(_logger, Path, _count, _bytes);
            _commands = new WriterCommands(_writer);
            _opened = true;
        }
    }

    private static SqliteConnection Open(string path)
    {
        // DefaultTimeout: how long a busy file (another instance still stopping) is retried before the clear error below.
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

    /// <summary>Persists a message; completes after the commit. Full/oversize is a result, not an exception.</summary>
    public async ValueTask<SendResult> EnqueueAsync(string output, string bag, ReadOnlyMemory<byte> body, string? messageId, CancellationToken ct)
    {
        EnsureOpen();
        var op = new WriteOp(new OutboxRecord(0, output, bag, body.ToArray(), messageId, 0, 0), null);
        if (!_writes.Writer.TryWrite(op))
        {
            await _writes.Writer.WriteAsync(op, ct).ConfigureAwait(false);
        }

        // Up to InlineProducers concurrent producers commit on their own thread (no hop to a writer and back), each round taking
        // the others' queued messages into its transaction; with more, a background writer group-commits them, yielding between
        // rounds so the producers it just released can queue their next ones.
        var concurrent = Interlocked.Increment(ref _producers) > InlineProducers;
        try
        {
            if (concurrent)
            {
                KickBackgroundWriter();
            }
            else
            {
                KickWriter();
            }

            var completion = op.Completion.Task;
            return completion.IsCompleted || !ct.CanBeCanceled ? await completion.ConfigureAwait(false) : await completion.WaitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _producers);
        }
    }

    /// <summary>Deletes acknowledged (or expired) messages.</summary>
    public async Task DeleteAsync(IReadOnlyList<OutboxRecord> records, CancellationToken ct)
    {
        if (records.Count == 0)
        {
            return;
        }

        EnsureOpen();
        var op = new WriteOp(null, records);
        await _writes.Writer.WriteAsync(op, ct).ConfigureAwait(false);
        KickWriter();
        await op.Completion.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Commits the deletes queued by <see cref="Acknowledge"/>; completes after the commit.</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        EnsureOpen();
        var op = new WriteOp(null, null);
        await _writes.Writer.WriteAsync(op, ct).ConfigureAwait(false);
        KickWriter();
        await op.Completion.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Queues acknowledged messages for deletion in the writer's next transaction (coalesced with inserts) without waiting.
    /// A delete lost in a crash only means a resend (at least once). <paramref name="soon"/> wakes the writer now instead of
    /// waiting for the next insert (when the pump goes idle, or many deletes are pending).
    /// </summary>
    public void Acknowledge(List<OutboxRecord> records, bool soon)
    {
        if (records.Count == 0 && !soon)
        {
            return;
        }

        EnsureOpen();
        int pending;
        lock (_gate)
        {
            _pendingDeletes.AddRange(records);
            pending = _pendingDeletes.Count;
        }

        if (pending > 0 && (soon || pending >= 256) && Interlocked.Exchange(ref _deleteWakePending, 1) == 0)
        {
            // A full channel means the writer has work queued and will take the deletes with it.
            _writes.Writer.TryWrite(new WriteOp(null, null));
            KickWriter();
        }
    }

    /// <summary>
    /// The pump's next records after <paramref name="cursor"/> (the last one it took), in sequence order: handed over in memory
    /// while the pump is caught up, else read from SQLite (backlog after a restart, an outage, an eviction or a rewind).
    /// </summary>
    public List<OutboxRecord> Take(long cursor, int max)
    {
        lock (_gate)
        {
            if (_liveMode)
            {
                var n = Math.Min(max, _live.Count);
                var list = new List<OutboxRecord>(n);
                for (var i = 0; i < n; i++)
                {
                    var r = _live.Dequeue();
                    _liveBytes -= LiveCost(r);
                    list.Add(r);
                }

                return list;
            }
        }

        var batch = ReadBatch(cursor, max);
        if (batch.Count < max)
        {
            var last = batch.Count > 0 ? batch[^1].Seq : cursor;
            lock (_gate)
            {
                // Everything committed so far was read: from now on the writer hands records over.
                if (_lastSeq <= last)
                {
                    _liveMode = true;
                    _liveFrom = last;
                    _live.Clear();
                    _liveBytes = 0;
                }
            }
        }

        return batch;
    }

    /// <summary>The pump rewinds (a failed publish): its next records come from SQLite again.</summary>
    public void LeaveLive()
    {
        lock (_gate)
        {
            LeaveLiveLocked();
        }
    }

    private void LeaveLiveLocked()
    {
        _liveMode = false;
        _live.Clear();
        _liveBytes = 0;
    }

    /// <summary>What a record held for the pump costs in memory: its body, its strings and the objects around them (estimated).</summary>
    private static long LiveCost(OutboxRecord r) => r.Body.Length + (2L * (r.Bag.Length + r.Output.Length + (r.MessageId?.Length ?? 0))) + 160;

    /// <summary>Wakes the pump (data committed or a publish completed), on this thread when <paramref name="inline"/>.</summary>
    public void Signal(bool inline = false) => _dataAvailable.Set(inline);

    /// <summary>Waits for <see cref="Signal"/> without a timeout (the pump has publishes in flight, each completes or times out).</summary>
    public ValueTask WaitSignalAsync(CancellationToken ct) => _dataAvailable.WaitAsync(ct);

    /// <summary>Reads up to <paramref name="max"/> messages after <paramref name="afterSeq"/>, in sequence order. Only the pump calls this.</summary>
    public List<OutboxRecord> ReadBatch(long afterSeq, int max)
    {
        EnsureOpen();
        var list = new List<OutboxRecord>(max);
        lock (_db)
        {
            var cmd = _read ??= CreateRead(_writer!);
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

    /// <summary>Waits until a message was added (or <paramref name="timeout"/>).</summary>
    public async Task WaitForDataAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var cts = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cts.Token, ct);
        try
        {
            await _dataAvailable.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }
    }

    private double OldestAgeSeconds()
    {
        if (Interlocked.Read(ref _count) == 0 || !_opened)
        {
            return 0;
        }

        try
        {
            lock (_db)
            {
                if (_disposed)
                {
                    return 0;
                }

                // The lowest seq is the oldest message (seq follows enqueue order): the table's first row, not a scan.
                _oldest ??= CreateCommand(_writer!, "SELECT enqueued FROM messages ORDER BY seq LIMIT 1");
                return _oldest.ExecuteScalar() is long ms ? Math.Max(0, (_time.GetUtcNow().ToUnixTimeMilliseconds() - ms) / 1000.0) : 0;
            }
        }
        catch (SqliteException)
        {
            return 0;
        }
    }

    private bool TryBecomeWriter() => Interlocked.CompareExchange(ref _writing, 1, 0) == 0;

    /// <summary>Gives the writer role up; if ops were queued meanwhile, takes it back and drains them on the thread pool.</summary>
    private void ReleaseWriter()
    {
        Volatile.Write(ref _writing, 0);
        if (_writes.Reader.Count > 0 && TryBecomeWriter())
        {
            _ = Task.Run(DrainInBackgroundAsync);
        }
    }

    private void KickBackgroundWriter()
    {
        if (TryBecomeWriter())
        {
            _ = Task.Run(DrainInBackgroundAsync);
        }
    }

    /// <summary>Runs the queued ops now: on this thread when no writer runs, else the running writer takes them.</summary>
    private void KickWriter()
    {
        if (TryBecomeWriter())
        {
            try
            {
                RunRound();
            }
            finally
            {
                ReleaseWriter();
            }

            // Outside the writer role: wake the pump on the thread pool, so this producer's next commit and the pump's publish
            // of what was just committed run in parallel.
            if (Interlocked.Exchange(ref _committedSinceSignal, 0) != 0)
            {
                Signal();
            }
        }
    }

    private async Task DrainInBackgroundAsync()
    {
        try
        {
            while (RunRound())
            {
                if (Interlocked.Exchange(ref _committedSinceSignal, 0) != 0)
                {
                    Signal();
                }

                if (_round.Count > 1)
                {
                    // Let the producers just completed (queued on this thread pool) queue their next messages first: the
                    // next round then commits them together instead of one by one.
                    await Task.Yield();
                }
            }
        }
        finally
        {
            ReleaseWriter();
        }
    }

    /// <summary>One transaction: the queued deletes, then up to 512 queued ops. Only the writer-role holder calls this.</summary>
    private bool RunRound()
    {
        var batch = _round;
        var inserted = _inserted;
        var c = _commands!;
        var (insert, pO, pB, pBody, pMid, pSize, pEnq, pExp) = (c.Insert, c.O, c.B, c.Body, c.Mid, c.Size, c.Enq, c.Exp);
        var (delete, pS) = (c.Delete, c.S);
        lock (_db)
        {
            batch.Clear();
            inserted.Clear();
            while (batch.Count < 512 && _writes.Reader.TryRead(out var op))
            {
                batch.Add(op);
            }

            Volatile.Write(ref _deleteWakePending, 0);
            lock (_gate)
            {
                (_takenDeletes, _pendingDeletes) = (_pendingDeletes, _takenDeletes);
            }

            if (batch.Count == 0 && _takenDeletes.Count == 0)
            {
                return false;
            }

            var results = new SendResult[batch.Count];
            _evicted = false;
            try
            {
                using var tx = _writer!.BeginTransaction();
                insert.Transaction = tx;
                delete.Transaction = tx;
                c.DeleteRange.Transaction = tx;
                DeleteAcknowledged(_takenDeletes, c);

                var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                var nextSeq = _lastSeq; // only the writer changes it
                for (var i = 0; i < batch.Count; i++)
                {
                    var op = batch[i];
                    if (op.Deletes is { } deletes)
                    {
                        foreach (var d in deletes)
                        {
                            pS.Value = d.Seq;
                            if (delete.ExecuteNonQuery() > 0)
                            {
                                Account(d.Output, -d.Size, -1);
                            }
                        }

                        continue;
                    }

                    if (op.Insert is not { } m)
                    {
                        continue;
                    }

                    var size = m.Size;
                    if (!MakeRoom(m.Output, size, delete, pS, tx))
                    {
                        results[i] = new SendResult(SendStatus.RejectedFull, 0);
                        continue;
                    }

                    var expires = now + (long)_options.TtlFor(m.Output).TotalMilliseconds;
                    pO.Value = m.Output;
                    pB.Value = m.Bag;
                    pBody.Value = m.Body;
                    pMid.Value = (object?)m.MessageId ?? DBNull.Value;
                    pSize.Value = size;
                    pEnq.Value = now;
                    pExp.Value = expires;
                    var seq = ++nextSeq;
                    c.Seq.Value = seq;
                    insert.ExecuteNonQuery();
                    Account(m.Output, size, 1);
                    results[i] = new SendResult(SendStatus.Accepted, seq);
                    inserted.Add(m with { Seq = seq, EnqueuedMs = now, ExpiresMs = expires });
                }

                tx.Commit();
            }
            catch (Exception ex)
            {
                foreach (var op in batch)
                {
                    op.Completion.TrySetException(ex);
                }

                // Accounting may be off after a failed transaction: reload it; the pump re-reads from SQLite.
                _takenDeletes.Clear();
                lock (_gate)
                {
                    LeaveLiveLocked();
                }

                Reload();
                return true;
            }

            _takenDeletes.Clear();
            if (inserted.Count > 0 || _evicted)
            {
                lock (_gate)
                {
                    if (inserted.Count > 0)
                    {
                        _lastSeq = inserted[^1].Seq;
                    }

                    if (_evicted)
                    {
                        // Rows the pump may hold in memory were deleted: it re-reads from its cursor.
                        LeaveLiveLocked();
                    }
                    else if (_liveMode)
                    {
                        foreach (var r in inserted)
                        {
                            if (r.Seq <= _liveFrom)
                            {
                                // Committed before the pump went live, and already read by it from SQLite.
                                continue;
                            }

                            if (_live.Count >= LiveMaxCount || _liveBytes + LiveCost(r) > LiveMaxBytes)
                            {
                                // The pump is behind (disconnected or slow): it reads the backlog from SQLite.
                                LeaveLiveLocked();
                                break;
                            }

                            _live.Enqueue(r);
                            _liveBytes += LiveCost(r);
                        }
                    }
                }
            }

            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(results[i]);
            }

            if (inserted.Count > 0)
            {
                Volatile.Write(ref _committedSinceSignal, 1);
            }

            return true;
        }
    }

    /// <summary>
    /// Deletes acknowledged messages: one ranged statement per run of consecutive sequence numbers (the pump acknowledges in
    /// order, so a window is usually one run), accounted from what was actually deleted.
    /// </summary>
    private void DeleteAcknowledged(List<OutboxRecord> acked, WriterCommands c)
    {
        var i = 0;
        while (i < acked.Count)
        {
            var j = i;
            while (j + 1 < acked.Count && acked[j + 1].Seq == acked[j].Seq + 1)
            {
                j++;
            }

            if (j == i)
            {
                c.S.Value = acked[i].Seq;
                if (c.Delete.ExecuteNonQuery() > 0)
                {
                    Account(acked[i].Output, -acked[i].Size, -1);
                }
            }
            else
            {
                c.From.Value = acked[i].Seq;
                c.To.Value = acked[j].Seq;
                using var r = c.DeleteRange.ExecuteReader();
                while (r.Read())
                {
                    Account(r.GetString(0), -r.GetInt64(1), -1);
                }
            }

            i = j + 1;
        }
    }

    private bool MakeRoom(string output, long size, SqliteCommand delete, SqliteParameter pS, SqliteTransaction tx)
    {
        var outputMax = _options.MaxBytesFor(output);
        bool Fits() => _bytes + size <= _options.MaxBytes && _bytesByOutput.GetValueOrDefault(output) + size <= outputMax;
        if (Fits())
        {
            if (_fullOutputs.Remove(output))
            {
                Log.OutboxRoom(_logger, output);
            }

            return true;
        }

        // Expired messages never count against the limit: purge them first (they would be dropped by the pump anyway).
        PurgeExpired(tx);
        if (Fits())
        {
            return true;
        }

        var policy = _options.PolicyFor(output);
        if (_fullOutputs.Add(output))
        {
            Log.OutboxFull(_logger, output, _bytesByOutput.GetValueOrDefault(output), policy.ToString());
        }

        if (policy == OutboxFullPolicy.RejectNew || size > outputMax)
        {
            _metrics.Dropped.Add(1, new KeyValuePair<string, object?>("reason", "rejected_full"), new KeyValuePair<string, object?>("output", output));
            return false;
        }

        var dropped = 0;
        while (!Fits())
        {
            using var oldest = _writer!.CreateCommand();
            oldest.Transaction = tx;
            // Everything of this output below the last seq dropped for it is gone already: scan on from there (rowid order).
            oldest.CommandText = "SELECT seq, size FROM messages WHERE seq > $after AND output = $o ORDER BY seq LIMIT 64";
            oldest.Parameters.AddWithValue("$after", _droppedUpTo.GetValueOrDefault(output));
            oldest.Parameters.AddWithValue("$o", output);
            var victims = new List<(long Seq, long Size)>();
            using (var r = oldest.ExecuteReader())
            {
                while (r.Read())
                {
                    victims.Add((r.GetInt64(0), r.GetInt64(1)));
                }
            }

            if (victims.Count == 0)
            {
                break;
            }

            foreach (var (seq, victimSize) in victims)
            {
                if (Fits())
                {
                    break;
                }

                pS.Value = seq;
                delete.ExecuteNonQuery();
                _droppedUpTo[output] = seq;
                Account(output, -victimSize, -1);
                dropped++;
                _evicted = true;
            }
        }

        if (dropped > 0)
        {
            _metrics.Dropped.Add(dropped, new KeyValuePair<string, object?>("reason", "dropped_oldest"), new KeyValuePair<string, object?>("output", output));
            Log.OutboxDroppedOldest(_logger, dropped, output);
        }

        if (Fits())
        {
            return true;
        }

        _metrics.Dropped.Add(1, new KeyValuePair<string, object?>("reason", "rejected_full"), new KeyValuePair<string, object?>("output", output));
        return false;
    }

    private void PurgeExpired(SqliteTransaction tx)
    {
        using var cmd = _writer!.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "DELETE FROM messages WHERE expires <= $now RETURNING output, size";
        cmd.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        var purged = new Dictionary<string, int>(StringComparer.Ordinal);
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                var output = r.GetString(0);
                Account(output, -r.GetInt64(1), -1);
                _evicted = true;
                purged[output] = purged.GetValueOrDefault(output) + 1;
            }
        }

        foreach (var (output, count) in purged)
        {
            _metrics.Dropped.Add(count, new KeyValuePair<string, object?>("reason", "expired"), new KeyValuePair<string, object?>("output", output));
            Log.OutboxExpired(_logger, count, output);
        }
    }

    private void Account(string output, long bytes, long count)
    {
        _bytesByOutput[output] = _bytesByOutput.GetValueOrDefault(output) + bytes;
        Interlocked.Add(ref _bytes, bytes);
        Interlocked.Add(ref _count, count);
    }

    private void Reload()
    {
        _bytesByOutput.Clear();
        _droppedUpTo.Clear(); // a rolled-back drop left its rows in place
        long count = 0, bytes = 0;
        using var cmd = _writer!.CreateCommand();
        cmd.CommandText = "SELECT output, count(*), coalesce(sum(size),0) FROM messages GROUP BY output";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            _bytesByOutput[r.GetString(0)] = r.GetInt64(2);
            count += r.GetInt64(1);
            bytes += r.GetInt64(2);
        }

        Interlocked.Exchange(ref _count, count);
        Interlocked.Exchange(ref _bytes, bytes);
    }

    public async ValueTask DisposeAsync()
    {
        // Commit the deletes still queued (best effort: a lost delete is a resend).
        _writes.Writer.TryWrite(new WriteOp(null, null));
        _writes.Writer.TryComplete();
        if (_opened)
        {
            // Take the writer role for good (waiting for a running round) and commit what is left.
            while (!TryBecomeWriter())
            {
                // A round in progress is short; not a timed wait (a fake TimeProvider in tests would never fire it).
                await Task.Yield();
            }

            while (RunRound())
            {
            }

            _commands!.Dispose();
        }

        lock (_db)
        {
            _disposed = true;
            _read?.Dispose();
            _oldest?.Dispose();
            _writer?.Dispose();
        }
    }

    /// <summary>The writer's prepared statements (reused for every round).</summary>
    private sealed class WriterCommands : IDisposable
    {
        public WriterCommands(SqliteConnection writer)
        {
            Insert = writer.CreateCommand();
            Insert.CommandText = "INSERT INTO messages(seq, output, bag, body, mid, size, enqueued, expires) VALUES ($seq, $o, $b, $body, $mid, $size, $enq, $exp)";
            Seq = Insert.Parameters.Add("$seq", SqliteType.Integer);
            O = Insert.Parameters.Add("$o", SqliteType.Text);
            B = Insert.Parameters.Add("$b", SqliteType.Text);
            Body = Insert.Parameters.Add("$body", SqliteType.Blob);
            Mid = Insert.Parameters.Add("$mid", SqliteType.Text);
            Size = Insert.Parameters.Add("$size", SqliteType.Integer);
            Enq = Insert.Parameters.Add("$enq", SqliteType.Integer);
            Exp = Insert.Parameters.Add("$exp", SqliteType.Integer);
            Delete = writer.CreateCommand();
            Delete.CommandText = "DELETE FROM messages WHERE seq = $s";
            S = Delete.Parameters.Add("$s", SqliteType.Integer);
            DeleteRange = writer.CreateCommand();
            DeleteRange.CommandText = "DELETE FROM messages WHERE seq >= $from AND seq <= $to RETURNING output, size";
            From = DeleteRange.Parameters.Add("$from", SqliteType.Integer);
            To = DeleteRange.Parameters.Add("$to", SqliteType.Integer);
        }

        public SqliteCommand DeleteRange { get; }

        public SqliteParameter From { get; }

        public SqliteParameter To { get; }

        public SqliteCommand Insert { get; }

        public SqliteParameter Seq { get; }

        public SqliteParameter O { get; }

        public SqliteParameter B { get; }

        public SqliteParameter Body { get; }

        public SqliteParameter Mid { get; }

        public SqliteParameter Size { get; }

        public SqliteParameter Enq { get; }

        public SqliteParameter Exp { get; }

        public SqliteCommand Delete { get; }

        public SqliteParameter S { get; }

        public void Dispose()
        {
            Insert.Dispose();
            Delete.Dispose();
            DeleteRange.Dispose();
        }
    }

    private sealed class WriteOp(OutboxRecord? insert, IReadOnlyList<OutboxRecord>? deletes)
    {
        public OutboxRecord? Insert { get; } = insert;

        public IReadOnlyList<OutboxRecord>? Deletes { get; } = deletes;

        public TaskCompletionSource<SendResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
