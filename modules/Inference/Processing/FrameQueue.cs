namespace Inference.Processing;

/// <summary>A frame waiting for inference: the JPEG body, or a reference to a file with its size and SHA-256.</summary>
internal sealed record QueuedFrame(
    string CameraId,
    long Seq,
    string? CapturedAt,
    ReadOnlyMemory<byte> Jpeg,
    string? FrameRef,
    long? FrameSize,
    string? FrameSha256,
    long EnqueuedTimestamp,
    int Width = 0,
    int Height = 0);

/// <summary>
/// Latest-frame queue: at most <c>capacityPerCamera</c> frames per camera; a new frame for a full camera drops that camera's
/// oldest (counted), so latency stays bounded when inference is slower than capture. Cameras are served round-robin so a
/// fast camera cannot starve a slow one. Enqueue never blocks.
/// Concurrent workers take frames with <see cref="DequeueAsync"/>, which marks the frame's camera busy until the worker calls
/// <see cref="Complete"/>: a busy camera's frames wait, so frames of different cameras are processed in parallel and a camera's
/// frames one at a time, in order.
/// </summary>
internal sealed class FrameQueue(int capacityPerCamera)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Queue<QueuedFrame>> _byCamera = new(StringComparer.Ordinal);

    // Cameras with queued frames that no worker holds, in round-robin order; _available counts them.
    private readonly Queue<string> _ready = new();
    private readonly HashSet<string> _busy = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _available = new(0);
    private long _dropped;

    /// <summary>Frames dropped because a newer frame of the same camera arrived while the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Frames waiting.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byCamera.Values.Sum(q => q.Count);
            }
        }
    }

    /// <summary>Adds a frame; returns the frame it displaced (dropped), if any.</summary>
    public QueuedFrame? Enqueue(QueuedFrame frame)
    {
        QueuedFrame? dropped = null;
        var becameReady = false;
        lock (_lock)
        {
            if (!_byCamera.TryGetValue(frame.CameraId, out var q))
            {
                q = new Queue<QueuedFrame>(capacityPerCamera);
                _byCamera[frame.CameraId] = q;
            }

            if (q.Count >= capacityPerCamera)
            {
                dropped = q.Dequeue();
                Interlocked.Increment(ref _dropped);
            }
            else if (q.Count == 0 && !_busy.Contains(frame.CameraId))
            {
                _ready.Enqueue(frame.CameraId);
                becameReady = true;
            }

            q.Enqueue(frame);
        }

        if (becameReady)
        {
            _available.Release();
        }

        return dropped;
    }

    /// <summary>
    /// Waits for the next frame of a camera no worker holds (round-robin across cameras) and marks that camera busy;
    /// call <see cref="Complete"/> with the camera when done with the frame.
    /// </summary>
    public async ValueTask<QueuedFrame> DequeueAsync(CancellationToken ct)
    {
        await _available.WaitAsync(ct).ConfigureAwait(false);
        lock (_lock)
        {
            var camera = _ready.Dequeue();
            _busy.Add(camera);
            return _byCamera[camera].Dequeue();
        }
    }

    /// <summary>Releases a camera taken by <see cref="DequeueAsync"/>: its next queued frame (if any) becomes available.</summary>
    public void Complete(string camera)
    {
        var becameReady = false;
        lock (_lock)
        {
            if (!_busy.Remove(camera))
            {
                throw new InvalidOperationException($"camera {camera} is not being processed");
            }

            if (_byCamera.TryGetValue(camera, out var q) && q.Count > 0)
            {
                _ready.Enqueue(camera);
                becameReady = true;
            }
        }

        if (becameReady)
        {
            _available.Release();
        }
    }

    /// <summary>Takes a frame if one is waiting (single caller: the camera is not marked busy, no <see cref="Complete"/> needed).</summary>
    public bool TryDequeue(out QueuedFrame? frame)
    {
        if (!_available.Wait(0))
        {
            frame = null;
            return false;
        }

        var stillReady = false;
        lock (_lock)
        {
            var camera = _ready.Dequeue();
            var q = _byCamera[camera];
            frame = q.Dequeue();
            if (q.Count > 0)
            {
                _ready.Enqueue(camera);
                stillReady = true;
            }
        }

        if (stillReady)
        {
            _available.Release();
        }

        return true;
    }
}
