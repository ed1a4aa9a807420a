using OpenCvSharp;

namespace CameraCapture;

/// <summary>Result of one <see cref="IFrameSource.Read"/>.</summary>
internal enum ReadStatus
{
    /// <summary>A new frame was written to the destination.</summary>
    Frame,

    /// <summary>No new frame for this media time (the source's native rate is below the target rate); try again next tick.</summary>
    NoNewFrame,

    /// <summary>A finite source ended and does not loop.</summary>
    EndOfStream,

    /// <summary>The source failed; close it and reconnect.</summary>
    Failed,
}

/// <summary>
/// A frame source: the seam at the device boundary. Live sources (<see cref="IsLive"/>) deliver frames in real time and are
/// read continuously on a dedicated reader thread that keeps only the latest frame. Other sources are pulled once per tick
/// with the media time elapsed since they opened, and deliver the frame for that time (files at their native rate).
/// </summary>
internal interface IFrameSource : IDisposable
{
    /// <summary>True for cameras and network streams: <see cref="Read"/> blocks until the next frame and ignores the media time.</summary>
    bool IsLive { get; }

    /// <summary>Frames decoded or passed over but never delivered, because the native rate is above the target rate.</summary>
    long SkippedFrames { get; }

    /// <summary>Frames that could not be read but did not fail the source (e.g. an image deleted before it was read).</summary>
    long ReadErrors => 0;

    /// <summary>Why the last read failed, for logs and reported properties.</summary>
    string? LastError { get; }

    /// <summary>Writes the frame for <paramref name="mediaTime"/> (or the next live frame) into <paramref name="destination"/> as BGR.</summary>
    ReadStatus Read(TimeSpan mediaTime, Mat destination);
}

/// <summary>Opens sources. The seam tests replace to simulate cameras that fail, stall or come back.</summary>
internal interface IFrameSourceFactory
{
    /// <summary>Opens a source; throws <see cref="SourceOpenException"/> with a clear reason when it cannot.</summary>
    IFrameSource Open(SourceSpec spec, CameraSettings camera, TimeProvider timeProvider);
}

/// <summary>A source that cannot be opened. <see cref="Permanent"/> errors (missing file, unsupported codec) mark the camera failed at once.</summary>
internal sealed class SourceOpenException : Exception
{
    public SourceOpenException(string message, bool permanent)
        : base(message)
    {
        Permanent = permanent;
    }

    public SourceOpenException()
    {
    }

    public SourceOpenException(string message)
        : base(message)
    {
    }

    public SourceOpenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Retrying will not help until something outside the module changes.</summary>
    public bool Permanent { get; }
}
