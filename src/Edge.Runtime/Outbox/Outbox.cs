using Edge.Runtime.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Edge.Runtime.Outbox;

/// <summary>
/// The durable store-and-forward queue: one SQLite file (WAL, synchronous=NORMAL) in the state folder. <see cref="EnqueueAsync"/>
/// returns only after its message was committed. Power-loss window: with synchronous=NORMAL a committed transaction survives a
/// process crash (kill -9) but the last transactions before an OS crash/power cut may roll back (the WAL is fsynced at
/// checkpoints). This class opens the file lazily and wires the parts, each with one job:
/// <list type="bullet">
/// <item><see cref="OutboxFile"/>: the file (open, quarantine, schema, the pump's backlog reads).</item>
/// <item><see cref="OutboxWriter"/>: the group-commit writer (inserts, deletes, one transaction per round).</item>
/// <item><see cref="LiveHandOver"/>: committed records to the pump in memory while it is caught up.</item>
/// <item><see cref="PendingDeletes"/>: acknowledged messages waiting for their delete (bounded: the duplicates after a crash).</item>
/// <item><see cref="OutboxQuota"/>, <see cref="OutboxExpiry"/>, <see cref="OutboxAccounting"/>: limits, TTL purge, counts.</item>
/// </list>
/// </summary>
internal sealed class DurableOutbox : IAsyncDisposable
{
    public const string FileName = "outbox.db";

    private readonly OutboxOptions _options;
    private readonly TimeProvider _time;
    private readonly RuntimeMetrics _metrics;
    private readonly ILogger _logger;
    private readonly OutboxAccounting _accounting = new();
    private readonly PendingDeletes _deletes = new();
    private readonly PumpSignal _dataAvailable = new();
    private readonly Lock _openLock = new();
    private volatile Opened? _open;

    public DurableOutbox(IOptions<OutboxOptions> options, IOptions<EdgeModuleOptions> module, TimeProvider time, RuntimeMetrics metrics, ILogger<DurableOutbox> logger)
    {
        _options = options.Value;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        Path = System.IO.Path.Combine(module.Value.StateDirectory, FileName);
        metrics.Meter.CreateObservableGauge("edge_outbox_depth", () => _accounting.Count, description: "Messages waiting in the outbox");
        metrics.Meter.CreateObservableGauge("edge_outbox_bytes", () => _accounting.Bytes, "By", "Bytes waiting in the outbox");
        metrics.Meter.CreateObservableGauge("edge_outbox_oldest_age_seconds", OldestAgeSeconds, "s", "Age of the oldest waiting message");
    }

    public string Path { get; }

    public OutboxOptions Options => _options;

    public long Count => _accounting.Count;

    public long Bytes => _accounting.Bytes;

    /// <summary>Opens (creating or quarantining) the database. Idempotent; called lazily by every operation.</summary>
    public void EnsureOpen() => Open();

    /// <summary>Persists a message; completes after the commit. Full/oversize is a result, not an exception.</summary>
    public ValueTask<SendResult> EnqueueAsync(string output, string bag, ReadOnlyMemory<byte> body, string? messageId, CancellationToken ct) =>
        TryOpen(out var open, out var error)
            ? open.Writer.EnqueueAsync(new OutboxRecord(0, output, bag, body.ToArray(), messageId, 0, 0), ct)
            : ValueTask.FromException<SendResult>(error);

    /// <summary>Deletes acknowledged (or expired) messages.</summary>
    public Task DeleteAsync(IReadOnlyList<OutboxRecord> records, CancellationToken ct) =>
        records.Count == 0 ? Task.CompletedTask : TryOpen(out var open, out var error) ? open.Writer.DeleteAsync(records, ct) : Task.FromException(error);

    /// <summary>Commits the deletes queued by <see cref="Acknowledge"/>; completes after the commit.</summary>
    public Task FlushAsync(CancellationToken ct) => TryOpen(out var open, out var error) ? open.Writer.FlushAsync(ct) : Task.FromException(error);

    /// <summary>
    /// Queues acknowledged messages for deletion in the writer's next transaction (coalesced with inserts) without waiting.
    /// A delete lost in a crash only means a resend (at least once). <paramref name="soon"/> wakes the writer now instead of
    /// waiting for the next insert (when the pump goes idle); so does reaching <see cref="PendingDeletes.Limit"/>.
    /// Returns true when that many deletes are still not committed: the caller then waits for <see cref="FlushAsync"/> before
    /// it publishes more, which bounds the duplicates after a crash.
    /// </summary>
    public bool Acknowledge(List<OutboxRecord> records, bool soon)
    {
        if (records.Count == 0 && !soon)
        {
            return false;
        }

        var open = Open();
        var uncommitted = _deletes.Add(records);
        if (uncommitted == 0)
        {
            return false;
        }

        if ((soon || uncommitted >= PendingDeletes.Limit) && _deletes.TryClaimWake())
        {
            open.Writer.WakeForDeletes();
        }

        return uncommitted >= PendingDeletes.Limit && _deletes.Uncommitted >= PendingDeletes.Limit;
    }

    /// <summary>
    /// The pump's next records after <paramref name="cursor"/> (the last one it took), in sequence order: handed over in memory
    /// while the pump is caught up, else read from SQLite (backlog after a restart, an outage, an eviction or a rewind).
    /// </summary>
    public List<OutboxRecord> Take(long cursor, int max)
    {
        var open = Open();
        if (open.HandOver.TryTake(max, out var live))
        {
            return live;
        }

        var batch = open.File.ReadBatch(cursor, max);
        if (batch.Count < max)
        {
            // Everything committed so far was read: from now on the writer hands records over.
            open.HandOver.CaughtUp(batch.Count > 0 ? batch[^1].Seq : cursor);
        }

        return batch;
    }

    /// <summary>The pump rewinds (a failed publish): its next records come from SQLite again.</summary>
    public void LeaveLive() => Open().HandOver.Leave();

    /// <summary>Reads up to <paramref name="max"/> messages after <paramref name="afterSeq"/>, in sequence order. Only the pump calls this.</summary>
    public List<OutboxRecord> ReadBatch(long afterSeq, int max) => Open().File.ReadBatch(afterSeq, max);

    /// <summary>Wakes the pump (data committed or a publish completed), on this thread when <paramref name="inline"/>.</summary>
    public void Signal(bool inline = false) => _dataAvailable.Set(inline);

    /// <summary>Waits for <see cref="Signal"/> without a timeout (the pump has publishes in flight, each completes or times out).</summary>
    public ValueTask WaitSignalAsync(CancellationToken ct) => _dataAvailable.WaitAsync(ct);

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

    public async ValueTask DisposeAsync()
    {
        if (_open is { } open)
        {
            await open.Writer.CompleteAsync().ConfigureAwait(false);
            open.Writer.Dispose();
            open.File.Dispose();
        }
    }

    /// <summary>For the asynchronous operations: a failure to open faults their task rather than throwing from the call.</summary>
    private bool TryOpen(out Opened open, out Exception error)
    {
        try
        {
            open = Open();
            error = null!;
            return true;
        }
        catch (Exception ex)
        {
            open = null!;
            error = ex;
            return false;
        }
    }

    private Opened Open()
    {
        if (_open is { } open)
        {
            return open;
        }

        lock (_openLock)
        {
            if (_open is { } raced)
            {
                return raced;
            }

            var file = OutboxFile.Open(Path, _time, _metrics, _logger);
            _accounting.Load(file.Connection);
            var handOver = new LiveHandOver(file.ReadLastSeq());
            var quota = new OutboxQuota(_options, _accounting, new OutboxExpiry(_accounting, _time, _metrics, _logger), _metrics, _logger);
            var writer = new OutboxWriter(file, _options, _accounting, quota, handOver, _deletes, _dataAvailable, _time);
            Log.OutboxOpened(_logger, Path, _accounting.Count, _accounting.Bytes);
            _open = new Opened(file, writer, handOver);
            return _open;
        }
    }

    private double OldestAgeSeconds() => _accounting.Count == 0 || _open is not { } open ? 0 : open.File.OldestAgeSeconds();

    private sealed record Opened(OutboxFile File, OutboxWriter Writer, LiveHandOver HandOver);
}
