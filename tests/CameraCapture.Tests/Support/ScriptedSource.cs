using OpenCvSharp;

namespace CameraCapture.Tests;

/// <summary>
/// A fake camera device (the boundary we do not control): it delivers frames from a script, can stall, freeze
/// (repeat one frame), fail reads, or refuse to open a number of times.
/// </summary>
internal sealed class ScriptedSourceFactory : IFrameSourceFactory
{
    public int FailOpens { get; set; }

    public bool PermanentFailure { get; set; }

    public int Opens { get; private set; }

    public ScriptedSource? Current { get; private set; }

    public Func<ScriptedSource> Create { get; set; } = () => new ScriptedSource();

    public IFrameSource Open(SourceSpec spec, CameraSettings camera, TimeProvider timeProvider)
    {
        Opens++;
        if (FailOpens > 0)
        {
            FailOpens--;
            throw new SourceOpenException("device not found (scripted)", PermanentFailure);
        }

        Current = Create();
        return Current;
    }
}

/// <summary>A pull source driven by the test.</summary>
internal sealed class ScriptedSource : IFrameSource
{
    private long _counter;

    public bool IsLive => false;

    public long SkippedFrames => 0;

    public string? LastError { get; private set; }

    /// <summary>Deliver nothing (a stalled stream).</summary>
    public volatile bool Stalled;

    /// <summary>Deliver the same frame every time (a frozen stream).</summary>
    public volatile bool Frozen;

    /// <summary>Fail the next read (the device went away).</summary>
    public volatile bool Fail;

    public bool Disposed { get; private set; }

    public ReadStatus Read(TimeSpan mediaTime, Mat destination)
    {
        if (Fail)
        {
            LastError = "device unplugged (scripted)";
            return ReadStatus.Failed;
        }

        if (Stalled)
        {
            return ReadStatus.NoNewFrame;
        }

        if (!Frozen)
        {
            _counter++;
        }

        destination.Create(48, 64, MatType.CV_8UC3);
        destination.SetTo(Scalar.All(0));
        Cv2.PutText(destination, _counter.ToString(System.Globalization.CultureInfo.InvariantCulture), new Point(2, 30), HersheyFonts.HersheySimplex, 0.8, Scalar.White);
        return ReadStatus.Frame;
    }

    public void Dispose() => Disposed = true;
}

/// <summary>A live fake camera: each <see cref="Deliver"/> lets one frame (with a distinct grey level) through; <see cref="Unplug"/> fails the read.</summary>
internal sealed class LiveScriptedSource : IFrameSource
{
    private readonly SemaphoreSlim _frames = new(0);
    private volatile bool _unplugged;
    private int _level;

    public bool IsLive => true;

    public long SkippedFrames => 0;

    public string? LastError { get; private set; }

    /// <summary>Frames handed to the reader so far.</summary>
    public int Delivered => Volatile.Read(ref _level);

    public void Deliver(int count = 1) => _frames.Release(count);

    public void Unplug()
    {
        _unplugged = true;
        _frames.Release();
    }

    public ReadStatus Read(TimeSpan mediaTime, Mat destination)
    {
        if (!_frames.Wait(TimeSpan.FromSeconds(30)) || _unplugged)
        {
            LastError = "device unplugged (scripted)";
            return ReadStatus.Failed;
        }

        var level = Interlocked.Increment(ref _level);
        destination.Create(48, 64, MatType.CV_8UC3);
        destination.SetTo(Scalar.All(TestMedia.LevelOf(level)));
        return ReadStatus.Frame;
    }

    public void Dispose()
    {
        // The semaphore is left to the GC: a test may still unplug a camera the pipeline already closed.
    }
}

/// <summary>Opens <see cref="LiveScriptedSource"/>s.</summary>
internal sealed class LiveSourceFactory : IFrameSourceFactory
{
    public List<LiveScriptedSource> Opened { get; } = [];

    public IFrameSource Open(SourceSpec spec, CameraSettings camera, TimeProvider timeProvider)
    {
        var source = new LiveScriptedSource();
        lock (Opened)
        {
            Opened.Add(source);
        }

        return source;
    }
}
