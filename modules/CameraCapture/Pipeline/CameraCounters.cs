using System.Text.Json.Nodes;

namespace CameraCapture;

/// <summary>Per-camera counters since the camera started in this process; reported in status and <c>getStatus</c>.</summary>
internal sealed class CameraCounters
{
    private long _ticks;
    private long _captured;
    private long _sent;
    private long _skipped;
    private long _droppedStale;
    private long _gated;
    private long _keepAlives;
    private long _resizedToFit;
    private long _droppedOversize;
    private long _rejected;
    private long _sendErrors;
    private long _reconnects;
    private long _readErrors;
    private long _bytesSent;

    /// <summary>Pacing ticks handled.</summary>
    public long Ticks => Interlocked.Read(ref _ticks);

    /// <summary>Frames taken from the source at the target rate.</summary>
    public long Captured => Interlocked.Read(ref _captured);

    /// <summary>Frames accepted by the outbox.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Source frames passed over because the source is faster than the target rate.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>Encoded frames dropped because sending lagged (latest-frame semantics).</summary>
    public long DroppedStale => Interlocked.Read(ref _droppedStale);

    /// <summary>Frames not sent because the motion gate saw no motion.</summary>
    public long Gated => Interlocked.Read(ref _gated);

    /// <summary>Frames sent without motion to show the camera is alive.</summary>
    public long KeepAlives => Interlocked.Read(ref _keepAlives);

    /// <summary>Frames whose quality or size was reduced to fit the hub's message limit.</summary>
    public long ResizedToFit => Interlocked.Read(ref _resizedToFit);

    /// <summary>Frames that could not fit even at the minimum size.</summary>
    public long DroppedOversize => Interlocked.Read(ref _droppedOversize);

    /// <summary>Frames the outbox refused (full or too large).</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>Sends that threw.</summary>
    public long SendErrors => Interlocked.Read(ref _sendErrors);

    /// <summary>Failed attempts to open the source.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>Frames the source could not deliver (unreadable or vanished images).</summary>
    public long ReadErrors => Interlocked.Read(ref _readErrors);

    /// <summary>Bytes of JPEG accepted by the outbox (inline transport) or written to the frame store (reference transport).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public void Tick() => Interlocked.Increment(ref _ticks);

    public void OnCaptured() => Interlocked.Increment(ref _captured);

    public void OnSent(long bytes)
    {
        Interlocked.Increment(ref _sent);
        Interlocked.Add(ref _bytesSent, bytes);
    }

    public void SetSkipped(long value) => Interlocked.Exchange(ref _skipped, value);

    public void AddSkipped(long value) => Interlocked.Add(ref _skipped, value);

    public void OnDroppedStale() => Interlocked.Increment(ref _droppedStale);

    public void OnGated() => Interlocked.Increment(ref _gated);

    public void OnKeepAlive() => Interlocked.Increment(ref _keepAlives);

    public void OnResizedToFit() => Interlocked.Increment(ref _resizedToFit);

    public void OnDroppedOversize() => Interlocked.Increment(ref _droppedOversize);

    public void OnRejected() => Interlocked.Increment(ref _rejected);

    public void OnSendError() => Interlocked.Increment(ref _sendErrors);

    public void OnReconnect() => Interlocked.Increment(ref _reconnects);

    public void OnReadErrors(long count) => Interlocked.Add(ref _readErrors, count);

    public JsonObject ToJson() => new()
    {
        ["captured"] = Captured,
        ["sent"] = Sent,
        ["bytesSent"] = BytesSent,
        ["skipped"] = Skipped,
        ["droppedStale"] = DroppedStale,
        ["motionGated"] = Gated,
        ["keepAlives"] = KeepAlives,
        ["resizedToFit"] = ResizedToFit,
        ["droppedOversize"] = DroppedOversize,
        ["rejected"] = Rejected,
        ["sendErrors"] = SendErrors,
        ["reconnects"] = Reconnects,
        ["readErrors"] = ReadErrors,
    };
}
