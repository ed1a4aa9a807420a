namespace Edge.Runtime.Outbox;

/// <summary>
/// The outbox's hot path: while the pump is caught up (it has read every committed row), the writer hands each committed
/// record to it here instead of the pump SELECTing back what was just written. Bounded by memory (bodies and record overhead),
/// not by a small count: a burst of small messages from one fast producer stays in memory instead of sending the pump to
/// SQLite reads, which contend with that producer's commits for the connection. On overflow, an eviction (DropOldest, expiry
/// purge), a failed transaction or a pump rewind it leaves live mode and the pump reads from SQLite from its cursor again.
/// </summary>
internal sealed class LiveHandOver(long lastCommittedSeq)
{
    private const int MaxCount = 16_384;
    private const long MaxBytes = 16L * 1024 * 1024;

    private readonly Lock _lock = new();
    private readonly Queue<OutboxRecord> _live = new();
    private bool _liveMode;
    private long _liveBytes;
    private long _liveFrom;
    private long _lastSeq = lastCommittedSeq;

    /// <summary>The highest committed sequence number. Only the writer changes it, so the writer reads it without the lock.</summary>
    public long LastCommittedSeq => Volatile.Read(ref _lastSeq);

    /// <summary>Up to <paramref name="max"/> handed-over records, or false when not live (the pump reads SQLite).</summary>
    public bool TryTake(int max, out List<OutboxRecord> records)
    {
        lock (_lock)
        {
            if (!_liveMode)
            {
                records = null!;
                return false;
            }

            var n = Math.Min(max, _live.Count);
            records = new List<OutboxRecord>(n);
            for (var i = 0; i < n; i++)
            {
                var r = _live.Dequeue();
                _liveBytes -= Cost(r);
                records.Add(r);
            }

            return true;
        }
    }

    /// <summary>The pump read up to <paramref name="lastRead"/> from SQLite: if that is everything committed, go live.</summary>
    public void CaughtUp(long lastRead)
    {
        lock (_lock)
        {
            if (_lastSeq <= lastRead)
            {
                _liveMode = true;
                _liveFrom = lastRead;
                _live.Clear();
                _liveBytes = 0;
            }
        }
    }

    /// <summary>The writer committed <paramref name="inserted"/> (in seq order); <paramref name="evicted"/>: rows the pump may hold were deleted.</summary>
    public void Committed(List<OutboxRecord> inserted, bool evicted)
    {
        lock (_lock)
        {
            if (inserted.Count > 0)
            {
                _lastSeq = inserted[^1].Seq;
            }

            if (evicted)
            {
                // Rows the pump may hold in memory were deleted: it re-reads from its cursor.
                LeaveLocked();
                return;
            }

            if (!_liveMode)
            {
                return;
            }

            foreach (var r in inserted)
            {
                if (r.Seq <= _liveFrom)
                {
                    // Committed before the pump went live, and already read by it from SQLite.
                    continue;
                }

                if (_live.Count >= MaxCount || _liveBytes + Cost(r) > MaxBytes)
                {
                    // The pump is behind (disconnected or slow): it reads the backlog from SQLite.
                    LeaveLocked();
                    break;
                }

                _live.Enqueue(r);
                _liveBytes += Cost(r);
            }
        }
    }

    /// <summary>Back to SQLite reads from the pump's cursor (a rewind, or a failed transaction).</summary>
    public void Leave()
    {
        lock (_lock)
        {
            LeaveLocked();
        }
    }

    /// <summary>What a record held for the pump costs in memory: its body, its strings and the objects around them (estimated).</summary>
    private static long Cost(OutboxRecord r) => r.Body.Length + (2L * (r.Bag.Length + r.Output.Length + (r.MessageId?.Length ?? 0))) + 160;

    private void LeaveLocked()
    {
        _liveMode = false;
        _live.Clear();
        _liveBytes = 0;
    }
}
