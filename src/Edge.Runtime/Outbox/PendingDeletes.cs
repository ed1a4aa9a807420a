namespace Edge.Runtime.Outbox;

/// <summary>
/// Acknowledged messages waiting for their delete: the pump adds them, the writer takes them all into its next transaction
/// (coalesced with inserts). A delete lost in a crash only means a resend (at least once); <see cref="Limit"/> bounds how many
/// that can be, and so the duplicates after a crash (docs/configuration.md, "Durable outbox": <c>Limit + 3 × InFlight</c>).
/// </summary>
internal sealed class PendingDeletes
{
    /// <summary>
    /// Deletes not yet committed (queued, or in a transaction still running) at which the writer is woken for them, and at
    /// which the pump waits for their commit before it publishes more.
    /// </summary>
    public const int Limit = 256;

    private readonly Lock _lock = new();
    private List<OutboxRecord> _pending = [];
    private List<OutboxRecord> _taken = [];
    private int _uncommitted; // pending + taken by a round that has not finished; under _lock
    private int _wakeQueued;

    /// <summary>Queues deletes; returns how many are not committed yet (this call's included).</summary>
    public int Add(List<OutboxRecord> records)
    {
        lock (_lock)
        {
            _pending.AddRange(records);
            _uncommitted += records.Count;
            return _uncommitted;
        }
    }

    /// <summary>Deletes queued and not yet taken by a round.</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Deletes not committed yet (queued, or taken by a round still running).</summary>
    public int Uncommitted
    {
        get
        {
            lock (_lock)
            {
                return _uncommitted;
            }
        }
    }

    /// <summary>True for the first caller after the writer last took the deletes: that caller queues the wake-up.</summary>
    public bool TryClaimWake() => Interlocked.Exchange(ref _wakeQueued, 1) == 0;

    /// <summary>The writer takes every queued delete (the list stays the writer's until <see cref="Done"/>).</summary>
    public List<OutboxRecord> TakeAll()
    {
        Volatile.Write(ref _wakeQueued, 0);
        lock (_lock)
        {
            (_taken, _pending) = (_pending, _taken);
            return _taken;
        }
    }

    /// <summary>The round that took the deletes finished (committed, or failed: then they are resends, as after a crash).</summary>
    public void Done()
    {
        lock (_lock)
        {
            _uncommitted -= _taken.Count;
            _taken.Clear();
        }
    }
}
