using OpenCvSharp;

namespace CameraCapture;

/// <summary>
/// A camera's frame buffers, handed over by swapping references under one lock (never copied): <c>_latest</c> is the newest
/// frame the live reader published and the pacing loop has not taken yet; <see cref="Working"/> is the frame the pacing loop
/// processes (it only reads it, so snapshots may copy it concurrently; a pull source decodes into it under the lock);
/// <c>_newest</c> points at whichever of the two holds the newest frame, for snapshots.
/// </summary>
internal sealed class LatestFrame(TimeProvider time) : IDisposable
{
    private readonly Lock _gate = new();
    private Mat _latest = new();
    private Mat _working = new();
    private Mat? _newest;
    private long _version;
    private long _consumedVersion;
    private DateTimeOffset _at;

    /// <summary>The frame the pacing loop took last (read it only on the pacing loop).</summary>
    public Mat Working => _working;

    /// <summary>
    /// The live reader's newly decoded frame becomes the latest; <paramref name="frame"/> gets the buffer the pacer no longer
    /// needs. Returns true when the previous frame was never taken (the camera is faster than the target rate).
    /// </summary>
    public bool Publish(ref Mat frame)
    {
        lock (_gate)
        {
            var skipped = _version != _consumedVersion;
            (_latest, frame) = (frame, _latest);
            _newest = _latest;
            _version++;
            _at = time.GetUtcNow();
            return skipped;
        }
    }

    /// <summary>Takes the latest live frame into <see cref="Working"/> if there is an unread one and it is <paramref name="due"/>.</summary>
    public bool TryTake(bool due)
    {
        lock (_gate)
        {
            if (_version == _consumedVersion || !due)
            {
                return false;
            }

            (_working, _latest) = (_latest, _working);
            _newest = _working;
            _consumedVersion = _version;
            return true;
        }
    }

    /// <summary>A pull source decodes its next frame straight into <see cref="Working"/> (one buffer per pull camera).</summary>
    public ReadStatus ReadInto(IFrameSource source, TimeSpan elapsed, DateTimeOffset now)
    {
        lock (_gate)
        {
            var status = source.Read(elapsed, _working);
            if (status == ReadStatus.Frame)
            {
                _newest = _working;
                _version++;
                _consumedVersion = _version;
                _at = now;
            }

            return status;
        }
    }

    /// <summary>Copies the newest frame into <paramref name="into"/>; false before the first frame (or when a failed decode emptied it).</summary>
    public bool TryCopyNewest(Mat into, out DateTimeOffset at)
    {
        lock (_gate)
        {
            at = _at;

            // A failed decode may have emptied the buffer (FFmpeg releases it at the end of a file).
            if (_version == 0 || _newest is null || _newest.Empty())
            {
                return false;
            }

            _newest.CopyTo(into);
            return true;
        }
    }

    public void Dispose()
    {
        _latest.Dispose();
        _working.Dispose();
    }
}
