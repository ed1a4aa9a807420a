using System.Threading.Channels;
using Edge.Hub.Storage;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Routing;

/// <summary>
/// The endpoint executor of one target (<c>$upstream</c> or one module; edgeHub: <c>StoringAsyncEndpointExecutor</c>): drains the
/// message store for it in priority then arrival order into its <see cref="IEndpoint"/>, with up to a window of deliveries
/// outstanding, deleting a message only after the endpoint took it. Expired messages are dropped (counted), never delivered.
/// </summary>
/// <remarks>
/// Messages come from two places: a read of the store (at start, for a backlog, after a failed delivery or an idle interval) and,
/// once a read has returned the whole queue, the store's commits handed over in memory (<see cref="Offer"/>), so a caught-up
/// executor never reads back what was just written. Both feed one priority queue ordered like the store (priority, then
/// seq); if it grows past a bound, the in-memory feed is dropped and the store is read again.
/// </remarks>
internal sealed class EndpointExecutor : IAsyncDisposable
{
    private const int ReadBatch = 64;
    private const int MaxBuffered = 1024;
    private const long MaxBufferedBytes = 16 * 1024 * 1024;
    private const int MaxPendingDeletes = 256;
    private static readonly TimeSpan FlushDelay = TimeSpan.FromMilliseconds(20);

    private readonly string _target;
    private readonly HubStore _store;
    private readonly IEndpoint _endpoint;
    private readonly int _window;
    private readonly HubCounters _counters;
    private readonly TimeProvider _time;
    private readonly TimeSpan _idle;
    private readonly ILogger _logger;
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;
    private int _pendingPriority = int.MaxValue;
    private DateTimeOffset _lastSweep = DateTimeOffset.MinValue;

    // Known, not yet delivered messages in delivery order; _live: every later commit for this target is offered here.
    private readonly Lock _lock = new();
    private readonly PriorityQueue<StoredMessage, (int Priority, long Seq)> _ready = new();
    private long _readyBytes;
    private bool _live;

    /// <summary>Starts the executor for one target.</summary>
    /// <param name="target"><c>$upstream</c> or a module id.</param>
    /// <param name="store">The message store.</param>
    /// <param name="endpoint">Where the messages go.</param>
    /// <param name="window">How many deliveries may be outstanding at once (1 = strictly one at a time).</param>
    /// <param name="counters">Hub counters.</param>
    /// <param name="time">Time source.</param>
    /// <param name="idle">Re-check interval while nothing is deliverable.</param>
    /// <param name="logger">Logger.</param>
    public EndpointExecutor(string target, HubStore store, IEndpoint endpoint, int window,
        HubCounters counters, TimeProvider time, TimeSpan idle, ILogger logger)
    {
        _window = window;
        _target = target;
        _store = store;
        _endpoint = endpoint;
        _counters = counters;
        _time = time;
        _idle = idle;
        _logger = logger;
        _loop = Task.Run(() => RunAsync(_cts.Token));
    }

    /// <summary>
    /// Wakes the executor for a change that is not a new message (a client connected or subscribed, upstream came back):
    /// a waiting executor re-reads its queue; one that is delivering keeps its window open.
    /// </summary>
    public void Wake() => _signal.Writer.TryWrite(true);

    /// <summary>
    /// A message for this target was committed (called by the store in commit order). A caught-up executor takes it in
    /// memory; otherwise it is read from the store later. A executor delivering a less urgent backlog batch stops after the
    /// current deliveries and re-reads the queue head.
    /// </summary>
    public void Offer(StoredMessage message)
    {
        lock (_lock)
        {
            if (_live)
            {
                if (_ready.Count >= MaxBuffered || _readyBytes + message.Body.Length > MaxBufferedBytes)
                {
                    // Too far behind: the store has all of it; go back to reading it.
                    _live = false;
                    _ready.Clear();
                    _readyBytes = 0;
                }
                else
                {
                    _ready.Enqueue(message, (message.Priority, message.Seq));
                    _readyBytes += message.Body.Length;
                }
            }
        }

        var priority = message.Priority;
        int current;
        do
        {
            current = Volatile.Read(ref _pendingPriority);
            if (priority >= current)
            {
                break;
            }
        }
        while (Interlocked.CompareExchange(ref _pendingPriority, priority, current) != current);

        _signal.Writer.TryWrite(true);
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _cts.Dispose();
    }

    /// <summary>Waits for a signal or the idle interval; true when signalled.</summary>
    private Task<bool> WaitAsync(CancellationToken ct) => WaitAsync(_idle, ct);

    private async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        if (_signal.Reader.TryRead(out _))
        {
            return true;
        }

        // A cancelled read leaves no waiter behind (a timed-out one would swallow the next signal).
        using var timer = new CancellationTokenSource(timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timer.Token);
        try
        {
            await _signal.Reader.ReadAsync(linked.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private void CountExpired(StoredMessage m)
    {
        _counters.Dropped("expired");
        Log.MessageExpired(_logger, m.Seq, m.Endpoint, m.EnqueuedAt);
    }

    /// <summary>Takes the store's read as the new content of the ready queue (called by the store with its lock held).</summary>
    private void Load(List<StoredMessage> live, bool complete)
    {
        lock (_lock)
        {
            _ready.Clear();
            _readyBytes = 0;
            foreach (var m in live)
            {
                _ready.Enqueue(m, (m.Priority, m.Seq));
                _readyBytes += m.Body.Length;
            }

            _live = complete;
        }
    }

    /// <summary>Forgets the in-memory messages: the next step reads the store.</summary>
    private void Invalidate()
    {
        lock (_lock)
        {
            _live = false;
            _ready.Clear();
            _readyBytes = 0;
        }
    }

    private async Task<DeliveryResult> CompleteAsync((StoredMessage Message, Delivery Delivery) delivery, CancellationToken ct)
    {
        var result = await delivery.Delivery.Outcome.ConfigureAwait(false);
        switch (result)
        {
            case DeliveryResult.Delivered:
                _counters.MessageDelivered(delivery.Message.Endpoint, delivery.Message.Target == HubStore.Upstream);
                if (_store.DeleteLater(delivery.Message.Seq) >= MaxPendingDeletes)
                {
                    await _store.FlushDeletesAsync(ct).ConfigureAwait(false);
                }

                break;
            case DeliveryResult.Retry:
                _counters.Redelivered();
                break;
            default:
                break;
        }

        return result;
    }

    /// <summary>Waits for every outstanding delivery; returns the first outcome that was not a delivery (or Delivered).</summary>
    private async Task<DeliveryResult> DrainAsync(Queue<(StoredMessage Message, Delivery Delivery)> inFlight, CancellationToken ct)
    {
        var stop = DeliveryResult.Delivered;
        while (inFlight.Count > 0)
        {
            var r = await CompleteAsync(inFlight.Dequeue(), ct).ConfigureAwait(false);
            stop = stop == DeliveryResult.Delivered ? r : stop;
        }

        return stop;
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var inFlight = new Queue<(StoredMessage Message, Delivery Delivery)>();
        var read = true;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var stop = DeliveryResult.Delivered;
                if (read)
                {
                    stop = await DrainAsync(inFlight, ct).ConfigureAwait(false);
                    if (stop == DeliveryResult.Delivered)
                    {
                        _signal.Reader.TryRead(out _);
                        Volatile.Write(ref _pendingPriority, int.MaxValue);
                        var now = _time.GetUtcNow();
                        var sweep = now - _lastSweep >= _idle;
                        if (sweep)
                        {
                            _lastSweep = now;
                        }

                        foreach (var m in await _store.PeekAsync(_target, now, ReadBatch, sweep, Load, ct).ConfigureAwait(false))
                        {
                            CountExpired(m);
                        }

                        read = false;
                    }
                }

                StoredMessage? next = null;
                var live = false;
                if (stop == DeliveryResult.Delivered)
                {
                    lock (_lock)
                    {
                        live = _live;
                        if (_ready.TryDequeue(out next, out _))
                        {
                            _readyBytes -= next.Body.Length;
                        }
                    }
                }

                if (stop == DeliveryResult.Delivered && next is null)
                {
                    if (!live)
                    {
                        // End of a backlog batch: read the next one.
                        read = true;
                        continue;
                    }

                    if (inFlight.Count > 0)
                    {
                        stop = await CompleteAsync(inFlight.Dequeue(), ct).ConfigureAwait(false);
                    }
                    else
                    {
                        // Caught up and idle. The deletes of delivered messages ride on the next commit; if no message comes
                        // shortly, delete them now and wait for an offer. After an idle interval, read the store again (expiry sweep).
                        if (!await WaitAsync(FlushDelay, ct).ConfigureAwait(false))
                        {
                            await _store.FlushDeletesAsync(ct).ConfigureAwait(false);
                            read = !await WaitAsync(_idle, ct).ConfigureAwait(false);
                        }

                        continue;
                    }
                }

                if (next is not null)
                {
                    if (!live && Volatile.Read(ref _pendingPriority) < next.Priority)
                    {
                        // A more urgent message arrived while delivering a backlog batch: re-read the queue head (this one is still stored).
                        Invalidate();
                        read = true;
                        continue;
                    }

                    if (next.ExpiresAt <= _time.GetUtcNow())
                    {
                        _store.DeleteLater(next.Seq);
                        CountExpired(next);
                        continue;
                    }

                    inFlight.Enqueue((next, await _endpoint.StartAsync(next, ct).ConfigureAwait(false)));
                    while (inFlight.Count >= _window && stop == DeliveryResult.Delivered)
                    {
                        stop = await CompleteAsync(inFlight.Dequeue(), ct).ConfigureAwait(false);
                    }
                }

                if (stop != DeliveryResult.Delivered)
                {
                    // Not delivered: it is still stored. Finish the window, forget what is in memory and read the store again
                    // (at once for a retry, after a change or the idle interval when the endpoint is unavailable).
                    var rest = await DrainAsync(inFlight, ct).ConfigureAwait(false);
                    Invalidate();
                    read = true;
                    if (stop == DeliveryResult.Unavailable || rest == DeliveryResult.Unavailable)
                    {
                        await WaitAsync(ct).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.DispatcherFailed(_logger, _target, ex);
                Invalidate();
                inFlight.Clear();
                read = true;
                try
                {
                    await Task.Delay(_idle, _time, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
