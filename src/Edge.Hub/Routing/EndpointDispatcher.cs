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
    private readonly Func<StoredMessage, CancellationToken, Task<DeliveryResult>> _deliver;
    private readonly HubCounters _counters;
    private readonly TimeProvider _time;
    private readonly TimeSpan _idle;
    private readonly ILogger _logger;
    private readonly Channel<bool> _signal = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;

    public EndpointDispatcher(string target, HubStore store, Func<StoredMessage, CancellationToken, Task<DeliveryResult>> deliver,
        HubCounters counters, TimeProvider time, TimeSpan idle, ILogger logger)
    {
        _target = target;
        _store = store;
        _deliver = deliver;
        _counters = counters;
        _time = time;
        _idle = idle;
        _logger = logger;
        _loop = Task.Run(() => RunAsync(_cts.Token));
    }

    public void Signal() => _signal.Writer.TryWrite(true);

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

    private async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                _signal.Reader.TryRead(out _);
                var (live, expired) = await _store.PeekAsync(_target, _time.GetUtcNow(), 32, ct).ConfigureAwait(false);
                CountExpired(expired);
                if (live.Count == 0)
                {
                    await WaitAsync(ct).ConfigureAwait(false);
                    continue;
                }

                foreach (var m in live)
                {
                    if (m.ExpiresAt <= _time.GetUtcNow())
                    {
                        await _store.DeleteAsync(m.Seq, ct).ConfigureAwait(false);
                        CountExpired([m]);
                        continue;
                    }

                    var result = await _deliver(m, ct).ConfigureAwait(false);
                    if (result == DeliveryResult.Unavailable)
                    {
                        await WaitAsync(ct).ConfigureAwait(false);
                        break;
                    }

                    if (result == DeliveryResult.Retry)
                    {
                        _counters.Redelivered();
                        break;
                    }

                    await _store.DeleteAsync(m.Seq, ct).ConfigureAwait(false);
                    _counters.MessageDelivered(m.Endpoint, m.Target == HubStore.Upstream);
                    if (_signal.Reader.Count > 0)
                    {
                        // New messages arrived (maybe of higher priority): re-read the queue head.
                        break;
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
