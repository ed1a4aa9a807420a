using System.Threading.Channels;
using OpenCvSharp;

namespace CameraCapture;

/// <summary>
/// The pacing loop (<see cref="PeriodicTimer"/> on the <see cref="TimeProvider"/>): takes frames at the target rate — a live
/// frame the moment it is due (woken by the grabber), a pull source's frame on each tick — counts it, feeds the health
/// monitor and hands it to the <see cref="FrameProcessor"/>. A frame that cannot be processed is counted and skipped; the
/// camera keeps running.
/// </summary>
internal sealed class FramePacer(
    string cameraId,
    Func<CameraSettings> settings,
    PipelineContext context,
    CameraSource source,
    LatestFrame frames,
    ChannelReader<bool> frameArrived,
    FrameProcessor processor,
    CameraHealthMonitor health,
    CameraCounters counters)
{
    private readonly KeyValuePair<string, object?> _tag = new("camera", cameraId);
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DateTimeOffset _nextDue;

    /// <summary>Completes when the pacing timer exists (tests advance fake time only after this).</summary>
    public Task Started => _started.Task;

    public async Task RunAsync(CancellationToken ct)
    {
        var time = context.TimeProvider;
        var period = Period(settings());
        using var timer = new PeriodicTimer(period, time);
        _nextDue = time.GetUtcNow() + period;
        _started.TrySetResult();
        Task<bool>? tick = null;
        Task<bool>? arrived = null;
        try
        {
            while (true)
            {
                // Wake on the timer (pull sources, health) or on a new frame of a live source.
                tick ??= timer.WaitForNextTickAsync(ct).AsTask();
                arrived ??= frameArrived.WaitToReadAsync(ct).AsTask();
                await Task.WhenAny(tick, arrived).ConfigureAwait(false);

                var ticked = tick.IsCompleted;
                if (ticked)
                {
                    if (!await tick.ConfigureAwait(false))
                    {
                        break;
                    }

                    tick = null;
                }

                if (arrived.IsCompleted)
                {
                    await arrived.ConfigureAwait(false);
                    arrived = null;
                    frameArrived.TryRead(out _);
                }

                var s = settings();
                var desired = Period(s);
                if (ticked && timer.Period != desired)
                {
                    timer.Period = desired;
                }

                try
                {
                    var now = time.GetUtcNow();
                    if (TakeFrame(now, desired))
                    {
                        var frame = frames.Working;
                        counters.OnCaptured();
                        context.Metrics.FramesCaptured.Add(1, _tag);
                        health.OnFrame(frame);
                        processor.Process(frame, now, s);
                    }

                    await health.EvaluateAsync(ct).ConfigureAwait(false);
                }
                catch (OpenCVException ex)
                {
                    // A frame that cannot be processed (e.g. a corrupt decode) is counted and skipped; the camera keeps running.
                    counters.OnReadErrors(1);
                    health.OnWarning(ex.Message);
                    Log.SourceWarning(context.Logger, cameraId, ex.Message);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A bug or an unexpected native failure must not stop this camera (or any other): log it loudly, keep ticking.
                    counters.OnReadErrors(1);
                    health.OnWarning(ex.Message);
                    Log.PipelineFaulted(context.Logger, cameraId, ex);
                }
                finally
                {
                    if (ticked)
                    {
                        counters.Tick();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            processor.Complete();
        }
    }

    private static TimeSpan Period(CameraSettings s) => TimeSpan.FromSeconds(1.0 / s.Fps);

    /// <summary>
    /// Takes this tick's frame into <see cref="LatestFrame.Working"/>: the next frame of a pull source, or the newest unread
    /// frame of a live one once it is due (at most one frame per <paramref name="period"/> on average).
    /// </summary>
    private bool TakeFrame(DateTimeOffset now, TimeSpan period)
    {
        if (source.TryReadPull(now) is { } pulled)
        {
            return pulled;
        }

        // A frame arriving slightly before its slot (timer rounding, camera jitter) still counts as due.
        var tolerance = TimeSpan.FromTicks(Math.Min(period.Ticks / 4, TimeSpan.TicksPerMillisecond * 5));
        if (!frames.TryTake(due: now >= _nextDue - tolerance))
        {
            return false;
        }

        // The next slot; after a long gap (no frames, a slow tick) start again from now rather than catching up in a burst.
        _nextDue = _nextDue + period > now ? _nextDue + period : now;
        return true;
    }
}
