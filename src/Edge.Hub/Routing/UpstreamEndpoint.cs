using Edge.Hub.Storage;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Routing;

/// <summary>
/// <c>$upstream</c>: what IoT Hub would receive. The simulator has no cloud: a delivered message goes to the
/// <see cref="Feed"/> (recent history and live readers). Online state and added latency are the fault-injection knobs.
/// </summary>
internal sealed class UpstreamEndpoint(SimulatorOptions options, HubCounters counters, TimeProvider time, ILogger logger) : IEndpoint
{
    private volatile bool _online = options.UpstreamOnline;
    private long _latencyTicks;

    public UpstreamFeed Feed { get; } = new(options.UpstreamHistory, counters, logger);

    public bool Online => _online;

    public TimeSpan Latency => TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks));

    /// <summary>Takes it offline (messages stay stored) or back online; the caller wakes the executor.</summary>
    public void SetOnline(bool online)
    {
        _online = online;
        Log.UpstreamState(logger, online ? "online" : "offline");
    }

    public void SetLatency(TimeSpan latency) => Interlocked.Exchange(ref _latencyTicks, Math.Max(0, latency.Ticks));

    public async ValueTask<Delivery> StartAsync(StoredMessage message, CancellationToken ct) =>
        Delivery.Completed(await DeliverAsync(message, ct).ConfigureAwait(false));

    private async Task<DeliveryResult> DeliverAsync(StoredMessage m, CancellationToken ct)
    {
        if (!_online)
        {
            return DeliveryResult.Unavailable;
        }

        var latency = Latency;
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, time, ct).ConfigureAwait(false);
            if (!_online)
            {
                return DeliveryResult.Unavailable;
            }
        }

        m.SystemProperties.TryGetValue("connectionModuleId", out var module);
        m.SystemProperties.TryGetValue("outputName", out var output);
        Feed.Publish(new UpstreamMessage(module ?? "", output, m.Body, m.Properties, m.SystemProperties, m.EnqueuedAt));
        return DeliveryResult.Delivered;
    }
}
