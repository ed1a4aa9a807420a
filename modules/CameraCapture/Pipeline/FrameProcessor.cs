using System.Threading.Channels;
using OpenCvSharp;

namespace CameraCapture;

/// <summary>
/// What happens to a captured frame before it is sent: the motion gate (a still scene sends a keep-alive frame now and then
/// instead of every frame) and the JPEG encode (resized, and reduced until it fits the inline budget), then queued for the
/// send loop. Runs on the pacing loop only.
/// </summary>
internal sealed class FrameProcessor(string cameraId, PipelineContext context, CameraCounters counters, ChannelWriter<CapturedFrame> output) : IDisposable
{
    private readonly MotionGate _motion = new();
    private readonly FrameEncoder _encoder = new();
    private readonly KeyValuePair<string, object?> _tag = new("camera", cameraId);
    private DateTimeOffset? _lastQueuedAt;
    private long _queued;

    /// <summary>Frames queued for sending so far.</summary>
    public long Queued => Interlocked.Read(ref _queued);

    public void Process(Mat frame, DateTimeOffset now, CameraSettings s)
    {
        var keepAlive = false;
        double? score = null;
        if (s.Motion.Enabled)
        {
            score = _motion.Score(frame, s.Motion.PixelDelta);
            if (score < s.Motion.Threshold)
            {
                if (_lastQueuedAt is { } last && now - last < TimeSpan.FromSeconds(s.Motion.KeepAliveSeconds))
                {
                    counters.OnGated();
                    context.Metrics.FramesDropped.Add(1, _tag, new("reason", "motion"));
                    return;
                }

                keepAlive = true;
            }
        }

        var size = FrameEncoder.TargetSize(frame.Size(), s.Width, s.Height);
        var budget = s.Transport == FrameTransport.Inline ? context.InlineBudgetBytes : int.MaxValue;
        var jpeg = _encoder.Encode(frame, size, s.JpegQuality, budget);
        if (jpeg is null)
        {
            counters.OnDroppedOversize();
            context.Metrics.FramesDropped.Add(1, _tag, new("reason", "oversize"));
            Log.FrameTooLarge(context.Logger, cameraId);
            return;
        }

        if (jpeg.Reductions > 0)
        {
            counters.OnResizedToFit();
        }

        if (keepAlive)
        {
            counters.OnKeepAlive();
        }

        _lastQueuedAt = now;
        Interlocked.Increment(ref _queued);
        output.TryWrite(new CapturedFrame(jpeg, now, keepAlive, score, s.Transport));
    }

    /// <summary>No more frames (the pacing loop ended): the send loop finishes what is queued.</summary>
    public void Complete() => output.TryComplete();

    public void Dispose()
    {
        _motion.Dispose();
        _encoder.Dispose();
    }
}
