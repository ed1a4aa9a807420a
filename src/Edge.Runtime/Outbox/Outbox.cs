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
/// The durable store-and-forward queue: one SQLite file (WAL, synchronous=NORMAL) in the state folder. Every write goes through
/// one writer task that batches concurrent requests into one transaction (group commit); <see cref="EnqueueAsync"/> returns
/// only after its transaction committed. Power-loss window: with synchronous=NORMAL a committed transaction survives a process
/// crash (kill -9) but the last transactions before an OS crash/power cut may roll back (the WAL is fsynced at checkpoints).
/// </summary>
internal sealed class DurableOutbox : IAsyncDisposable
{
    public const string FileName = "outbox.db";
    private readonly OutboxOptions _options;
    private readonly TimeProvider _time;
    private readonly RuntimeMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Channel<WriteOp> _writes = Channel.CreateBounded<WriteOp>(new BoundedChannelOptions(4096) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly Dictionary<string, long> _bytesByOutput = new(StringComparer.Ordinal);
    private readonly HashSet<string> _fullOutputs = new(StringComparer.Ordinal);
    private readonly object _openLock = new();
    private readonly SemaphoreSlim _dataAvailable = new(0, 1);
    private SqliteConnection? _writer;
    private SqliteConnection? _reader;
    private Task? _writerTask;
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
        if (_writerTask is not null)
        {
            return;
        }

        lock (_openLock)
        {
            if (_writerTask is not null)
            {
                return;
            }

            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            try
            {
                _writer = OpenChecked(Path);
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

            _reader = Open(Path);
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
            _writerTask = Task.Run(WriterLoopAsync);
        }
    }

    private static SqliteConnection Open(string path)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        c.Open();
        return c;
    }

    private static SqliteConnection OpenChecked(string path)
    {
        var c = Open(path);
        try
        {
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

            Exec(c, """
                CREATE TABLE IF NOT EXISTS messages(
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  output TEXT NOT NULL,
                  bag TEXT NOT NULL,
                  body BLOB NOT NULL,
                  mid TEXT,
                  size INTEGER NOT NULL,
                  enqueued INTEGER NOT NULL,
                  expires INTEGER NOT NULL);
                CREATE INDEX IF NOT EXISTS messages_output ON messages(output, seq);
                """);
            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
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
        await _writes.Writer.WriteAsync(op, ct).ConfigureAwait(false);
        return await op.Completion.Task.WaitAsync(ct).ConfigureAwait(false);
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
        await op.Completion.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Reads up to <paramref name="max"/> messages after <paramref name="afterSeq"/>, in sequence order. Only the pump calls this.</summary>
    public List<OutboxRecord> ReadBatch(long afterSeq, int max)
    {
        EnsureOpen();
        var list = new List<OutboxRecord>(max);
        using var cmd = _reader!.CreateCommand();
        cmd.CommandText = "SELECT seq, output, bag, body, mid, enqueued, expires FROM messages WHERE seq > $after ORDER BY seq LIMIT $max";
        cmd.Parameters.AddWithValue("$after", afterSeq);
        cmd.Parameters.AddWithValue("$max", max);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add(new OutboxRecord(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetFieldValue<byte[]>(3), r.IsDBNull(4) ? null : r.GetString(4), r.GetInt64(5), r.GetInt64(6)));
        }

        return list;
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
        if (Interlocked.Read(ref _count) == 0 || _writerTask is null)
        {
            return 0;
        }

        try
        {
            using var c = Open(Path);
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT min(enqueued) FROM messages";
            return cmd.ExecuteScalar() is long ms ? Math.Max(0, (_time.GetUtcNow().ToUnixTimeMilliseconds() - ms) / 1000.0) : 0;
        }
        catch (SqliteException)
        {
            return 0;
        }
    }

    private async Task WriterLoopAsync()
    {
        var batch = new List<WriteOp>(256);
        using var insert = _writer!.CreateCommand();
        insert.CommandText = "INSERT INTO messages(output, bag, body, mid, size, enqueued, expires) VALUES ($o, $b, $body, $mid, $size, $enq, $exp) RETURNING seq";
        var pO = insert.Parameters.Add("$o", SqliteType.Text);
        var pB = insert.Parameters.Add("$b", SqliteType.Text);
        var pBody = insert.Parameters.Add("$body", SqliteType.Blob);
        var pMid = insert.Parameters.Add("$mid", SqliteType.Text);
        var pSize = insert.Parameters.Add("$size", SqliteType.Integer);
        var pEnq = insert.Parameters.Add("$enq", SqliteType.Integer);
        var pExp = insert.Parameters.Add("$exp", SqliteType.Integer);
        using var delete = _writer.CreateCommand();
        delete.CommandText = "DELETE FROM messages WHERE seq = $s";
        var pS = delete.Parameters.Add("$s", SqliteType.Integer);

        while (await _writes.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < 512 && _writes.Reader.TryRead(out var op))
            {
                batch.Add(op);
            }

            var results = new SendResult[batch.Count];
            var inserted = false;
            try
            {
                using var tx = _writer.BeginTransaction();
                insert.Transaction = tx;
                delete.Transaction = tx;
                var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
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

                    var m = op.Insert!;
                    var size = m.Size;
                    if (!MakeRoom(m.Output, size, delete, pS, tx))
                    {
                        results[i] = new SendResult(SendStatus.RejectedFull, 0);
                        continue;
                    }

                    pO.Value = m.Output;
                    pB.Value = m.Bag;
                    pBody.Value = m.Body;
                    pMid.Value = (object?)m.MessageId ?? DBNull.Value;
                    pSize.Value = size;
                    pEnq.Value = now;
                    pExp.Value = now + (long)_options.TtlFor(m.Output).TotalMilliseconds;
                    var seq = (long)insert.ExecuteScalar()!;
                    Account(m.Output, size, 1);
                    results[i] = new SendResult(SendStatus.Accepted, seq);
                    inserted = true;
                }

                tx.Commit();
            }
            catch (Exception ex)
            {
                foreach (var op in batch)
                {
                    op.Completion.TrySetException(ex);
                }

                // Accounting may be off after a failed transaction: reload it.
                Reload();
                continue;
            }

            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(results[i]);
            }

            if (inserted && _dataAvailable.CurrentCount == 0)
            {
                try
                {
                    _dataAvailable.Release();
                }
                catch (SemaphoreFullException)
                {
                }
            }
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
            oldest.CommandText = "SELECT seq, size FROM messages WHERE output = $o ORDER BY seq LIMIT 64";
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
                Account(output, -victimSize, -1);
                dropped++;
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
        _writes.Writer.TryComplete();
        if (_writerTask is not null)
        {
            await _writerTask.ConfigureAwait(false);
        }

        _writer?.Dispose();
        _reader?.Dispose();
        _dataAvailable.Dispose();
    }

    private sealed class WriteOp(OutboxRecord? insert, IReadOnlyList<OutboxRecord>? deletes)
    {
        public OutboxRecord? Insert { get; } = insert;

        public IReadOnlyList<OutboxRecord>? Deletes { get; } = deletes;

        public TaskCompletionSource<SendResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
