using Microsoft.Extensions.Logging;

namespace CameraCapture;

/// <summary>Source-generated log messages of the capture module (EventIds 4000-4999).</summary>
internal static partial class Log
{
    [LoggerMessage(4000, LogLevel.Information, "Camera {SourceId} starting: {Source} at {Fps} fps, transport {Transport}")]
    public static partial void CameraStarting(ILogger logger, string sourceId, string source, double fps, FrameTransport transport);

    [LoggerMessage(4001, LogLevel.Information, "Camera {SourceId} stopped")]
    public static partial void CameraStopped(ILogger logger, string sourceId);

    [LoggerMessage(4002, LogLevel.Information, "Camera {SourceId} opened {Source} (live: {IsLive})")]
    public static partial void SourceOpened(ILogger logger, string sourceId, string source, bool isLive);

    [LoggerMessage(4003, LogLevel.Warning, "Camera {SourceId} cannot open its source (attempt {Attempt}, next in {Delay}): {Error}")]
    public static partial void SourceOpenFailed(ILogger logger, string sourceId, int attempt, TimeSpan delay, string error);

    [LoggerMessage(4004, LogLevel.Warning, "Camera {SourceId} lost its source: {Error}")]
    public static partial void SourceLost(ILogger logger, string sourceId, string error);

    [LoggerMessage(4005, LogLevel.Information, "Camera {SourceId} reached the end of its file (loop is off)")]
    public static partial void EndOfStream(ILogger logger, string sourceId);

    [LoggerMessage(4006, LogLevel.Warning, "Camera {SourceId} health {PreviousState} -> {State}: {Reason}")]
    public static partial void HealthChanged(ILogger logger, string sourceId, CameraState previousState, CameraState state, string? reason);

    [LoggerMessage(4007, LogLevel.Information, "Camera {SourceId} health {PreviousState} -> {State}")]
    public static partial void HealthRecovered(ILogger logger, string sourceId, CameraState previousState, CameraState state);

    [LoggerMessage(4008, LogLevel.Warning, "Camera {SourceId} frame {Seq} ({MessageId}) not accepted by the outbox: {Status}")]
    public static partial void SendRejected(ILogger logger, string sourceId, long seq, string messageId, Edge.Runtime.SendStatus status);

    [LoggerMessage(4009, LogLevel.Warning, "Camera {SourceId} frame too large even at minimum size; dropped")]
    public static partial void FrameTooLarge(ILogger logger, string sourceId);

    [LoggerMessage(4010, LogLevel.Warning, "Camera {SourceId}: {Error}")]
    public static partial void SourceWarning(ILogger logger, string sourceId, string error);

    [LoggerMessage(4011, LogLevel.Error, "Camera {SourceId} hit an unexpected error; the camera keeps running")]
    public static partial void PipelineFaulted(ILogger logger, string sourceId, Exception exception);

    [LoggerMessage(4012, LogLevel.Warning, "Camera {SourceId} frame {Seq} ({MessageId}) could not be sent")]
    public static partial void SendFailed(ILogger logger, string sourceId, long seq, string messageId, Exception exception);

    [LoggerMessage(4020, LogLevel.Information, "Capture settings applied: {Count} camera(s) ({Added} added, {Changed} changed, {Removed} removed)")]
    public static partial void SettingsApplied(ILogger logger, int count, int added, int changed, int removed);

    [LoggerMessage(4021, LogLevel.Warning, "Capture settings rejected; keeping the last good settings: {Errors}")]
    public static partial void SettingsRejected(ILogger logger, string errors);

    [LoggerMessage(4022, LogLevel.Information, "No cameras configured: set CAMERA_SOURCE or the twin's desired 'cameras'")]
    public static partial void NoCameras(ILogger logger);

    [LoggerMessage(4023, LogLevel.Warning, "Could not report capture status")]
    public static partial void ReportFailed(ILogger logger, Exception exception);

    [LoggerMessage(4024, LogLevel.Information, "Frame store {Root}: deleted {Count} old frame(s)")]
    public static partial void FrameStoreCleaned(ILogger logger, string root, int count);

    [LoggerMessage(4025, LogLevel.Warning, "Frame store cleanup failed")]
    public static partial void FrameStoreCleanupFailed(ILogger logger, Exception exception);

    [LoggerMessage(4026, LogLevel.Warning, "Health event for camera {SourceId} could not be sent")]
    public static partial void HealthSendFailed(ILogger logger, string sourceId, Exception exception);
}
