using System.Runtime.InteropServices;
using Edge.Routing;
using Edge.Hub.Storage;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Routing;

/// <summary>
/// The router (edgeHub: <c>Router</c>): evaluates the routes of the current <c>$edgeHub</c> configuration against a message and
/// stores one copy per distinct endpoint in the message store; the store hands each committed copy to its endpoint executor
/// (<see cref="EndpointExecutors"/>).
/// </summary>
internal sealed class Router(HubStore store, EndpointExecutors executors, HubCounters counters, TimeProvider time, ILogger logger)
{
    private volatile EdgeHubConfig _config = new([], 7200);

    /// <summary>The routes and store-and-forward TTL in force.</summary>
    public EdgeHubConfig Config => _config;

    /// <summary>Replaces the routes (a validated <c>$edgeHub</c> configuration); messages already stored keep their endpoints.</summary>
    public void Configure(EdgeHubConfig config)
    {
        _config = config;
        Log.RoutesApplied(logger, config.Routes.Count, config.TimeToLiveSecs);
    }

    /// <summary>
    /// Evaluates every route and stores one copy per distinct endpoint (highest priority among the matching routes wins); the task
    /// completes when they are committed (a PUBACK waits for it).
    /// </summary>
    public Task RouteAsync(RoutingMessage message, CancellationToken ct)
    {
        var config = _config;
        var targets = new Dictionary<(string, string), EnqueueTarget>();
        foreach (var route in config.Routes)
        {
            if (!route.IsMatch(message))
            {
                continue;
            }

            counters.RouteMatched(route.Name);
            var (target, input) = route.Sink switch
            {
                ModuleInputSink m => (m.ModuleId, m.InputName),
                _ => (HubStore.Upstream, ""),
            };
            long ttl = route.TimeToLiveSecs > 0 ? route.TimeToLiveSecs : config.TimeToLiveSecs;
            if (!targets.TryGetValue((target, input), out var existing) || route.Priority < existing.Priority)
            {
                targets[(target, input)] = new EnqueueTarget(target, input, route.Priority, ttl, route.Name);
            }
        }

        if (targets.Count == 0)
        {
            counters.Dropped("no-route");
            Log.NoRoute(logger, message.Source);
            return Task.CompletedTask;
        }

        // The routing message owns its body (copied off the connection's buffer) and dictionaries: the store keeps them for the
        // in-memory hand-over to the executors.
        var body = MemoryMarshal.TryGetArray(message.Body, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : message.Body.ToArray();
        return store.EnqueueAsync(body, message.Properties, message.SystemProperties, message.Source, [.. targets.Values], time.GetUtcNow(),
            executors, ct);
    }

    /// <summary>Puts a message straight into a module input's queue (the simulator's inject endpoint).</summary>
    public async Task InjectAsync(string moduleId, string input, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string> properties,
        IReadOnlyDictionary<string, string> systemProperties, CancellationToken ct)
    {
        var ttl = _config.TimeToLiveSecs;
        await store.EnqueueAsync(body.ToArray(), new Dictionary<string, string>(properties, StringComparer.Ordinal),
            new Dictionary<string, string>(systemProperties, StringComparer.Ordinal), "/simulator/inject",
            [new EnqueueTarget(moduleId, input, 0, ttl, "$inject")], time.GetUtcNow(), executors, ct).ConfigureAwait(false);
    }
}
