using System.Diagnostics.Metrics;

namespace CameraCapture;

/// <summary>Metrics of the capture module (meter <c>Edge.CameraCapture</c>, exported on <c>MetricsPort</c>); every instrument is tagged with <c>camera</c>.</summary>
internal sealed class CaptureMetrics : IDisposable
{
    public const string MeterName = "Edge.CameraCapture";

    private readonly Meter _meter;

    public CaptureMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        FramesCaptured = _meter.CreateCounter<long>("capture.frames.captured", "{frame}", "Frames taken from sources at the target rate");
        FramesSent = _meter.CreateCounter<long>("capture.frames.sent", "{frame}", "Frames accepted by the outbox");
        FramesDropped = _meter.CreateCounter<long>("capture.frames.dropped", "{frame}", "Frames not sent, by reason (stale, motion, oversize, rejected, error)");
        Reconnects = _meter.CreateCounter<long>("capture.reconnects", "{attempt}", "Source open attempts that failed");
        FrameBytes = _meter.CreateHistogram<long>("capture.frame.bytes", "By", "Encoded JPEG size");
    }

    public Counter<long> FramesCaptured { get; }

    public Counter<long> FramesSent { get; }

    public Counter<long> FramesDropped { get; }

    public Counter<long> Reconnects { get; }

    public Histogram<long> FrameBytes { get; }

    public void Dispose() => _meter.Dispose();
}
