using System.Diagnostics.Metrics;

namespace Inference;

/// <summary>Inference metrics (meter <c>Edge.Inference</c>).</summary>
internal sealed class InferenceMetrics : IDisposable
{
    public const string MeterName = "Edge.Inference";
    private readonly Meter _meter;

    public InferenceMetrics(IMeterFactory? factory = null)
    {
        _meter = factory?.Create(MeterName) ?? new Meter(MeterName);
        Frames = _meter.CreateCounter<long>("inference.frames", description: "Frames by outcome (processed, dropped, invalid, duplicate, no_model, failed)");
        Latency = _meter.CreateHistogram<double>("inference.latency", "ms", "Decode + preprocess + infer + post-process time per frame");
        Messages = _meter.CreateCounter<long>("inference.messages", description: "Messages sent by output");
    }

    public Counter<long> Frames { get; }

    public Histogram<double> Latency { get; }

    public Counter<long> Messages { get; }

    public void Dispose() => _meter.Dispose();
}
