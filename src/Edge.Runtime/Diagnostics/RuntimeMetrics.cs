using System.Diagnostics.Metrics;

namespace Edge.Runtime.Diagnostics;

/// <summary>Runtime instruments (meter <c>Edge.Runtime</c>), exported in Prometheus format when <c>MetricsPort</c> is set.</summary>
internal sealed class RuntimeMetrics : IDisposable
{
    public const string MeterName = "Edge.Runtime";
    private readonly Meter _meter;
    private int _connected;

    public RuntimeMetrics(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        Reconnects = _meter.CreateCounter<long>("edge_reconnects_total", description: "Connections to edgeHub after the first");
        Dropped = _meter.CreateCounter<long>("edge_outbox_dropped_total", description: "Outbox messages dropped or rejected, by reason");
        Sent = _meter.CreateCounter<long>("edge_messages_sent_total", description: "Messages acknowledged by edgeHub (PUBACK)");
        Received = _meter.CreateCounter<long>("edge_messages_received_total", description: "Input messages, by result (handled, failed, unhandled)");
        Quarantined = _meter.CreateCounter<long>("edge_outbox_quarantined_total", description: "Corrupt outbox databases set aside");
        PublishLatency = _meter.CreateHistogram<double>("edge_publish_latency_ms", "ms", "Outbox persist to PUBACK");
        _meter.CreateObservableGauge("edge_connected", () => Volatile.Read(ref _connected), description: "1 when connected to edgeHub");
    }

    public Counter<long> Reconnects { get; }

    public Counter<long> Dropped { get; }

    public Counter<long> Sent { get; }

    public Counter<long> Received { get; }

    public Counter<long> Quarantined { get; }

    public Histogram<double> PublishLatency { get; }

    public Meter Meter => _meter;

    public void SetConnected(bool connected) => Volatile.Write(ref _connected, connected ? 1 : 0);

    public void Dispose() => _meter.Dispose();
}
