using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Edge.Hub;

/// <summary>Counters of the hub, kept for <see cref="HubStatus"/> and published through <see cref="System.Diagnostics.Metrics"/> (meter <c>Edge.Hub</c>).</summary>
internal sealed class HubCounters : IDisposable
{
    public const string MeterName = "Edge.Hub";

    private readonly ConcurrentDictionary<string, long> _refusals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _drops = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _routeMatches = new(StringComparer.Ordinal);
    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _received;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _redelivered;
    private long _receivedCount;
    private long _deliveredCount;
    private long _upstreamCount;
    private long _redeliveries;

    public HubCounters()
    {
        _received = _meter.CreateCounter<long>("edgehub.messages.received", description: "Messages accepted from clients (stored before PUBACK).");
        _delivered = _meter.CreateCounter<long>("edgehub.messages.delivered", description: "Messages delivered to an endpoint (module input or $upstream).");
        _refused = _meter.CreateCounter<long>("edgehub.refusals", description: "Connections, publishes and subscriptions refused, by reason.");
        _dropped = _meter.CreateCounter<long>("edgehub.drops", description: "Messages dropped, by reason (expired, no-route, ...).");
        _redelivered = _meter.CreateCounter<long>("edgehub.messages.redelivered", description: "Module-input deliveries repeated after an ack timeout.");
    }

    public long Received => Interlocked.Read(ref _receivedCount);

    public long Delivered => Interlocked.Read(ref _deliveredCount);

    public long UpstreamDelivered => Interlocked.Read(ref _upstreamCount);

    public long Redeliveries => Interlocked.Read(ref _redeliveries);

    public void MessageReceived()
    {
        Interlocked.Increment(ref _receivedCount);
        _received.Add(1);
    }

    public void MessageDelivered(string endpoint, bool upstream)
    {
        Interlocked.Increment(ref _deliveredCount);
        if (upstream)
        {
            Interlocked.Increment(ref _upstreamCount);
        }

        _delivered.Add(1, new KeyValuePair<string, object?>("endpoint", endpoint));
    }

    public void Redelivered()
    {
        Interlocked.Increment(ref _redeliveries);
        _redelivered.Add(1);
    }

    public void Refused(string reason)
    {
        _refusals.AddOrUpdate(reason, 1, (_, v) => v + 1);
        _refused.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }

    public void Dropped(string reason, long count = 1)
    {
        _drops.AddOrUpdate(reason, count, (_, v) => v + count);
        _dropped.Add(count, new KeyValuePair<string, object?>("reason", reason));
    }

    public void RouteMatched(string route) => _routeMatches.AddOrUpdate(route, 1, (_, v) => v + 1);

    public long RouteMatches(string route) => _routeMatches.TryGetValue(route, out var v) ? v : 0;

    public IReadOnlyDictionary<string, long> Refusals => new SortedDictionary<string, long>(_refusals, StringComparer.Ordinal);

    public IReadOnlyDictionary<string, long> Drops => new SortedDictionary<string, long>(_drops, StringComparer.Ordinal);

    public long RefusalCount(string reason) => _refusals.TryGetValue(reason, out var v) ? v : 0;

    public long DropCount(string reason) => _drops.TryGetValue(reason, out var v) ? v : 0;

    public void Dispose() => _meter.Dispose();
}
