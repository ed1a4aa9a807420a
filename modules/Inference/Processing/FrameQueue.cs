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
/// </summary>
internal sealed class FrameQueue(int capacityPerCamera)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Queue<QueuedFrame>> _byCamera = new(StringComparer.Ordinal);
    private readonly Queue<string> _ready = new();
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
            else
            {
                if (q.Count == 0)
                {
                    _ready.Enqueue(frame.CameraId);
                }
            }

            q.Enqueue(frame);
        }

        if (dropped is null)
        {
            _available.Release();
        }

        return dropped;
    }

    /// <summary>Waits for the next frame (round-robin across cameras).</summary>
    public async ValueTask<QueuedFrame> DequeueAsync(CancellationToken ct)
    {
        await _available.WaitAsync(ct).ConfigureAwait(false);
        lock (_lock)
        {
            var camera = _ready.Dequeue();
            var q = _byCamera[camera];
            var frame = q.Dequeue();
            if (q.Count > 0)
            {
                _ready.Enqueue(camera);
            }

            return frame;
        }
    }

    /// <summary>Takes a frame if one is waiting.</summary>
    public bool TryDequeue(out QueuedFrame? frame)
    {
        if (!_available.Wait(0))
        {
            frame = null;
            return false;
        }

        lock (_lock)
        {
            var camera = _ready.Dequeue();
            var q = _byCamera[camera];
            frame = q.Dequeue();
            if (q.Count > 0)
            {
                _ready.Enqueue(camera);
            }

            return true;
        }
    }
}
