using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Edge.Runtime.Outbox;

/// <summary>
/// The outbox's group-commit writer. Writes (inserts, deletes, flushes) are queued and run by one writer at a time — a producer
/// on its own thread when few are sending, else a background writer — which commits everything queued, and the acknowledged
/// messages' deletes, in one transaction. A write completes only after its transaction committed; committed records go to the
/// pump through the <see cref="LiveHandOver"/>.
/// </summary>
/// <remarks>
/// Why this is not the hub's store (src/Edge.Hub/Storage/HubStore.cs), which has the same shape (group commit, in-memory
/// hand-over, acknowledgement window, deletes batched up to a threshold): the two are tuned for opposite callers. Here the
/// caller is a module's own <c>SendAsync</c>, whose durability point is this commit: up to four producers commit inline on
/// their own threads (no hop to a writer and back), there is one output stream, one pump and one connection in exclusive
/// locking mode, and the process is a small Native AOT module. The hub's store fans each message out to several endpoints
/// with priorities and TTLs per route, keeps twins in the same file, and commits on a background loop that the broker's
/// PUBACK waits on, beside a checkpointer, in a process that is not AOT-trimmed. A shared engine would have to be generic
/// over the schema, the ordering, the hand-over and the threading policy (inline vs background), i.e. carry both hot paths,
/// and would live in a project both reference, which the runtime's size and the layering (docs/architecture.md) argue
/// against. Decided in issue 17: keep two, each documented; a fix to one is checked against the other.
/// </remarks>
internal sealed class OutboxWriter : IDisposable
{
    // Up to this many concurrent producers commit on their own threads (one leader at a time, the others' messages in its
    // transaction); beyond it, a background writer group-commits (inline leaders would tie up the thread pool).
    private const int InlineProducers = 4;
    private const int MaxOpsPerRound = 512;

    private readonly OutboxFile _file;
    private readonly OutboxOptions _options;
    private readonly OutboxAccounting _accounting;
    private readonly OutboxQuota _quota;
    private readonly LiveHandOver _handOver;
    private readonly PendingDeletes _deletes;
    private readonly PumpSignal _pump;
    private readonly TimeProvider _time;
    private readonly Commands _commands;
    private readonly Channel<WriteOp> _writes = Channel.CreateBounded<WriteOp>(new BoundedChannelOptions(4096) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly List<WriteOp> _round = new(MaxOpsPerRound);
    private readonly List<OutboxRecord> _inserted = new(MaxOpsPerRound);

    // 1 while a thread runs transactions (a producer inline, or a background drain): the writer role.
    private int _writing;
    private int _committedSinceSignal;
    private int _producers;

    public OutboxWriter(OutboxFile file, OutboxOptions options, OutboxAccounting accounting, OutboxQuota quota, LiveHandOver handOver, PendingDeletes deletes, PumpSignal pump, TimeProvider time)
    {
        _file = file;
        _options = options;
        _accounting = accounting;
        _quota = quota;
        _handOver = handOver;
        _deletes = deletes;
        _pump = pump;
        _time = time;
        _commands = new Commands(file.Connection);
    }

    /// <summary>Persists a message; completes after the commit. Full/oversize is a result, not an exception.</summary>
    public async ValueTask<SendResult> EnqueueAsync(OutboxRecord message, CancellationToken ct)
    {
        var op = new WriteOp(message, null);
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
                Kick();
            }

            var completion = op.Completion.Task;
            return completion.IsCompleted || !ct.CanBeCanceled ? await completion.ConfigureAwait(false) : await completion.WaitAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _producers);
        }
    }

    /// <summary>Deletes the given records now (expired ones the pump read); completes after the commit.</summary>
    public async Task DeleteAsync(IReadOnlyList<OutboxRecord> records, CancellationToken ct)
    {
        var op = new WriteOp(null, records);
        await _writes.Writer.WriteAsync(op, ct).ConfigureAwait(false);
        Kick();
        await op.Completion.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Commits the deletes queued in <see cref="PendingDeletes"/> so far; completes after the commit.</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        var op = new WriteOp(null, null);
        await _writes.Writer.WriteAsync(op, ct).ConfigureAwait(false);
        Kick();
        await op.Completion.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Wakes the writer for the pending deletes without waiting (a full queue means it has work and takes them along).</summary>
    public void WakeForDeletes()
    {
        _writes.Writer.TryWrite(new WriteOp(null, null));
        Kick();
    }

    /// <summary>Takes the writer role for good (waiting for a running round), commits what is left and stops accepting writes.</summary>
    public async ValueTask CompleteAsync()
    {
        // Commit the deletes still queued (best effort: a lost delete is a resend).
        _writes.Writer.TryWrite(new WriteOp(null, null));
        _writes.Writer.TryComplete();
        while (!TryBecomeWriter())
        {
            // A round in progress is short; not a timed wait (a fake TimeProvider in tests would never fire it).
            await Task.Yield();
        }

        while (RunRound())
        {
        }
    }

    public void Dispose() => _commands.Dispose();

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
    private void Kick()
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
                _pump.Set(runWaiterInline: false);
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
                    _pump.Set(runWaiterInline: false);
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

    /// <summary>One transaction: the pending deletes, then up to 512 queued ops. Only the writer-role holder calls this.</summary>
    private bool RunRound()
    {
        var batch = _round;
        var inserted = _inserted;
        var c = _commands;
        var (insert, pO, pB, pBody, pMid, pSize, pEnq, pExp) = (c.Insert, c.O, c.B, c.Body, c.Mid, c.Size, c.Enq, c.Exp);
        var (delete, pS) = (c.Delete, c.S);
        lock (_file.Gate)
        {
            batch.Clear();
            inserted.Clear();
            while (batch.Count < MaxOpsPerRound && _writes.Reader.TryRead(out var op))
            {
                batch.Add(op);
            }

            var acked = _deletes.TakeAll();
            if (batch.Count == 0 && acked.Count == 0)
            {
                _deletes.Done();
                return false;
            }

            var results = new SendResult[batch.Count];
            var evicted = false;
            try
            {
                using var tx = _file.Connection.BeginTransaction();
                insert.Transaction = tx;
                delete.Transaction = tx;
                c.DeleteRange.Transaction = tx;
                DeleteAcknowledged(acked, c);

                var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                var nextSeq = _handOver.LastCommittedSeq; // only the writer changes it
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
                                _accounting.Add(d.Output, -d.Size, -1);
                            }
                        }

                        continue;
                    }

                    if (op.Insert is not { } m)
                    {
                        continue;
                    }

                    var size = m.Size;
                    if (!_quota.MakeRoom(m.Output, size, _file.Connection, tx, delete, pS, ref evicted))
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
                    _accounting.Add(m.Output, size, 1);
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

                // Accounting may be off after a failed transaction: reload it; the pump re-reads from SQLite. The deletes taken
                // are lost (resends, as after a crash).
                _deletes.Done();
                _handOver.Leave();
                _accounting.Load(_file.Connection);
                _quota.ForgetDrops(); // a rolled-back drop left its rows in place
                return true;
            }

            _deletes.Done();
            if (inserted.Count > 0 || evicted)
            {
                _handOver.Committed(inserted, evicted);
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
    private void DeleteAcknowledged(List<OutboxRecord> acked, Commands c)
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
                    _accounting.Add(acked[i].Output, -acked[i].Size, -1);
                }
            }
            else
            {
                c.From.Value = acked[i].Seq;
                c.To.Value = acked[j].Seq;
                using var r = c.DeleteRange.ExecuteReader();
                while (r.Read())
                {
                    _accounting.Add(r.GetString(0), -r.GetInt64(1), -1);
                }
            }

            i = j + 1;
        }
    }

    /// <summary>The writer's prepared statements (reused for every round).</summary>
    private sealed class Commands : IDisposable
    {
        public Commands(SqliteConnection writer)
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
