using System.Collections.Concurrent;
using Edge.Hub.Storage;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Routing;

/// <summary>
/// The endpoint executors, one per target, created on first use and kept (a second executor would deliver the same messages
/// twice): <c>$upstream</c> goes to <paramref name="upstream"/> one message at a time, a module's inputs to
/// <paramref name="moduleInputs"/> with <see cref="SimulatorOptions.MaxInFlightPerModule"/> in flight. The store tells it
/// about every committed copy (<see cref="ICommitSink"/>), in commit order, so a caught-up executor takes it from memory.
/// </summary>
internal sealed class EndpointExecutors(
    HubStore store,
    IEndpoint upstream,
    IEndpoint moduleInputs,
    SimulatorOptions options,
    HubCounters counters,
    TimeProvider time,
    ILogger logger) : ICommitSink, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, EndpointExecutor> _executors = new(StringComparer.Ordinal);
    private volatile bool _disposed;

    /// <summary>Starts the executors of every target that has messages stored (after a restart).</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        foreach (var target in await store.GetTargetsAsync(ct).ConfigureAwait(false))
        {
            Get(target)?.Wake();
        }
    }

    /// <summary>Something changed for <paramref name="target"/> that is not a new message (a client connected, upstream came back).</summary>
    public void Wake(string target)
    {
        if (_executors.TryGetValue(target, out var e))
        {
            e.Wake();
        }
    }

    /// <inheritdoc/>
    public void Committed(StoredMessage message) => Get(message.Target)?.Offer(message);

    public async ValueTask DisposeAsync()
    {
        lock (_executors)
        {
            _disposed = true;
        }

        foreach (var e in _executors.Values)
        {
            await e.DisposeAsync().ConfigureAwait(false);
        }

        _executors.Clear();
    }

    private EndpointExecutor? Get(string target)
    {
        if (_executors.TryGetValue(target, out var existing))
        {
            return existing;
        }

        lock (_executors)
        {
            if (_disposed)
            {
                return null;
            }

            if (_executors.TryGetValue(target, out existing))
            {
                return existing;
            }

            var created = target == HubStore.Upstream
                ? new EndpointExecutor(target, store, upstream, 1, counters, time, options.IdleRecheckInterval, logger)
                : new EndpointExecutor(target, store, moduleInputs, options.MaxInFlightPerModule, counters, time, options.IdleRecheckInterval, logger);
            _executors[target] = created;
            return created;
        }
    }
}
