using System.Threading.Channels;
using Edge.Hub.Storage;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Routing;

internal enum DeliveryResult
{
    Delivered,

    /// <summary>The endpoint cannot take messages now (offline, not connected, not subscribed): keep them, wait for a change.</summary>
    Unavailable,

    /// <summary>Delivery was attempted and not acknowledged in time: deliver the same message again.</summary>
    Retry,
}

/// <summary>
/// Drains the store for one target (<c>$upstream</c> or one module) in priority then arrival order, one message at a time,
/// deleting a message only after the endpoint took it. Expired messages are dropped (counted), never delivered.
/// </summary>
internal sealed class EndpointDispatcher : IAsyncDisposable
{
    private readonly string _target;
    private readonly HubStore _store;
    private readonly Func<StoredMessage, CancellationToken, Task<Task<DeliveryResult>>> _deliver;
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

    // Delivered but not yet deleted: flushed in one transaction before the queue is read again (a crash in between
    // redelivers them: at-least-once, as edgeHub).
    private readonly List<long> _delivered = [];

    /// <summary>Starts the dispatcher for one target.</summary>
    /// <param name="target"><c>$upstream</c> or a module id.</param>
    /// <param name="store">The message store.</param>
    /// <param name="deliver">Starts delivering one message; the inner task is its outcome (e.g. the PUBACK).</param>
    /// <param name="window">How many deliveries may be outstanding at once (1 = strictly one at a time).</param>
    /// <param name="counters">Hub counters.</param>
    /// <param name="time">Time source.</param>
    /// <param name="idle">Re-check interval while nothing is deliverable.</param>
    /// <param name="logger">Logger.</param>
    public EndpointDispatcher(string target, HubStore store, Func<StoredMessage, CancellationToken, Task<Task<DeliveryResult>>> deliver, int window,
        HubCounters counters, TimeProvider time, TimeSpan idle, ILogger logger)
    {
        _window = window;
        _target = target;
        _store = store;
        _deliver = deliver;
        _counters = counters;
        _time = time;
        _idle = idle;
        _logger = logger;
        _loop = Task.Run(() => RunAsync(_cts.Token));
    }

    /// <summary>
    /// Wakes the dispatcher for a change that is not a new message (a client connected or subscribed, upstream came back):
    /// a waiting dispatcher re-reads its queue; one that is delivering keeps its window open.
    /// </summary>
    public void Wake() => _signal.Writer.TryWrite(true);

    /// <summary>
    /// Wakes the dispatcher for newly stored messages of <paramref name="priority"/> (lower = more urgent): a dispatcher
    /// delivering less urgent messages stops after the current ones and re-reads the queue head.
    /// </summary>
    public void Signal(int priority)
    {
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

    private async Task WaitAsync(CancellationToken ct)
    {
        try
        {
            await _signal.Reader.ReadAsync(ct).AsTask().WaitAsync(_idle, _time, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    private void CountExpired(List<StoredMessage> expired)
    {
        foreach (var m in expired)
        {
            _counters.Dropped("expired");
            Log.MessageExpired(_logger, m.Seq, m.Endpoint, m.EnqueuedAt);
        }
    }

    private async Task<DeliveryResult> CompleteAsync((StoredMessage Message, Task<DeliveryResult> Outcome) delivery)
    {
        var result = await delivery.Outcome.ConfigureAwait(false);
        switch (result)
        {
            case DeliveryResult.Delivered:
                _delivered.Add(delivery.Message.Seq);
                _counters.MessageDelivered(delivery.Message.Endpoint, delivery.Message.Target == HubStore.Upstream);
                break;
            case DeliveryResult.Retry:
                _counters.Redelivered();
                break;
            default:
                break;
        }

        return result;
    }

    private async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _store.DeleteAsync(_delivered, ct).ConfigureAwait(false);
                _delivered.Clear();
                _signal.Reader.TryRead(out _);
                Volatile.Write(ref _pendingPriority, int.MaxValue);
                var now = _time.GetUtcNow();
                var sweep = now - _lastSweep >= _idle;
                if (sweep)
                {
                    _lastSweep = now;
                }

                var (live, expired) = await _store.PeekAsync(_target, now, 32, sweep, ct).ConfigureAwait(false);
                CountExpired(expired);
                if (live.Count == 0)
                {
                    await WaitAsync(ct).ConfigureAwait(false);
                    continue;
                }

                var inFlight = new Queue<(StoredMessage Message, Task<DeliveryResult> Outcome)>();
                var stop = DeliveryResult.Delivered;
                foreach (var m in live)
                {
                    if (m.ExpiresAt <= _time.GetUtcNow())
                    {
                        await _store.DeleteAsync(m.Seq, ct).ConfigureAwait(false);
                        CountExpired([m]);
                        continue;
                    }

                    inFlight.Enqueue((m, await _deliver(m, ct).ConfigureAwait(false)));
                    while (inFlight.Count >= _window && stop == DeliveryResult.Delivered)
                    {
                        stop = await CompleteAsync(inFlight.Dequeue()).ConfigureAwait(false);
                    }

                    if (stop != DeliveryResult.Delivered || Volatile.Read(ref _pendingPriority) < m.Priority)
                    {
                        // Stopped, or a more urgent message arrived since the batch was read: re-read the queue head.
                        break;
                    }
                }

                while (inFlight.Count > 0)
                {
                    var r = await CompleteAsync(inFlight.Dequeue()).ConfigureAwait(false);
                    stop = stop == DeliveryResult.Delivered ? r : stop;
                }

                if (stop == DeliveryResult.Unavailable)
                {
                    await WaitAsync(ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.DispatcherFailed(_logger, _target, ex);
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
