using Microsoft.Extensions.Logging;

namespace CameraCapture;

/// <summary>Source-generated log messages of the capture module (EventIds 4000-4999).</summary>
internal static partial class Log
{
    [LoggerMessage(CaptureEventIds.CameraStarting, LogLevel.Information, "Camera {SourceId} starting: {Source} at {Fps} fps, transport {Transport}")]
    public static partial void CameraStarting(ILogger logger, string sourceId, string source, double fps, FrameTransport transport);

    [LoggerMessage(CaptureEventIds.CameraStopped, LogLevel.Information, "Camera {SourceId} stopped")]
    public static partial void CameraStopped(ILogger logger, string sourceId);

    [LoggerMessage(CaptureEventIds.SourceOpened, LogLevel.Information, "Camera {SourceId} opened {Source} (live: {IsLive})")]
    public static partial void SourceOpened(ILogger logger, string sourceId, string source, bool isLive);

    [LoggerMessage(CaptureEventIds.SourceOpenFailed, LogLevel.Warning, "Camera {SourceId} cannot open its source (attempt {Attempt}, next in {Delay}): {Error}")]
    public static partial void SourceOpenFailed(ILogger logger, string sourceId, int attempt, TimeSpan delay, string error);

    [LoggerMessage(CaptureEventIds.SourceLost, LogLevel.Warning, "Camera {SourceId} lost its source: {Error}")]
    public static partial void SourceLost(ILogger logger, string sourceId, string error);

    [LoggerMessage(CaptureEventIds.EndOfStream, LogLevel.Information, "Camera {SourceId} reached the end of its file (loop is off)")]
    public static partial void EndOfStream(ILogger logger, string sourceId);

    [LoggerMessage(CaptureEventIds.HealthChanged, LogLevel.Warning, "Camera {SourceId} health {PreviousState} -> {State}: {Reason}")]
    public static partial void HealthChanged(ILogger logger, string sourceId, CameraState previousState, CameraState state, string? reason);

    [LoggerMessage(CaptureEventIds.HealthRecovered, LogLevel.Information, "Camera {SourceId} health {PreviousState} -> {State}")]
    public static partial void HealthRecovered(ILogger logger, string sourceId, CameraState previousState, CameraState state);

    [LoggerMessage(CaptureEventIds.SendRejected, LogLevel.Warning, "Camera {SourceId} frame {Seq} ({MessageId}) not accepted by the outbox: {Status}")]
    public static partial void SendRejected(ILogger logger, string sourceId, long seq, string messageId, Edge.Runtime.SendStatus status);

    [LoggerMessage(CaptureEventIds.FrameTooLarge, LogLevel.Warning, "Camera {SourceId} frame too large even at minimum size; dropped")]
    public static partial void FrameTooLarge(ILogger logger, string sourceId);

    [LoggerMessage(CaptureEventIds.SourceWarning, LogLevel.Warning, "Camera {SourceId}: {Error}")]
    public static partial void SourceWarning(ILogger logger, string sourceId, string error);

    [LoggerMessage(CaptureEventIds.PipelineFaulted, LogLevel.Error, "Camera {SourceId} hit an unexpected error; the camera keeps running")]
    public static partial void PipelineFaulted(ILogger logger, string sourceId, Exception exception);

    [LoggerMessage(CaptureEventIds.SendFailed, LogLevel.Warning, "Camera {SourceId} frame {Seq} ({MessageId}) could not be sent")]
    public static partial void SendFailed(ILogger logger, string sourceId, long seq, string messageId, Exception exception);

    [LoggerMessage(CaptureEventIds.SettingsApplied, LogLevel.Information, "Capture settings applied: {Count} camera(s) ({Added} added, {Changed} changed, {Removed} removed)")]
    public static partial void SettingsApplied(ILogger logger, int count, int added, int changed, int removed);

    [LoggerMessage(CaptureEventIds.SettingsRejected, LogLevel.Warning, "Capture settings rejected; keeping the last good settings: {Errors}")]
    public static partial void SettingsRejected(ILogger logger, string errors);

    [LoggerMessage(CaptureEventIds.NoCameras, LogLevel.Information, "No cameras configured: set CAMERA_SOURCE or the twin's desired 'cameras'")]
    public static partial void NoCameras(ILogger logger);

    [LoggerMessage(CaptureEventIds.ReportFailed, LogLevel.Warning, "Could not report capture status")]
    public static partial void ReportFailed(ILogger logger, Exception exception);

    [LoggerMessage(CaptureEventIds.FrameStoreCleaned, LogLevel.Information, "Frame store {Root}: deleted {Count} old frame(s)")]
    public static partial void FrameStoreCleaned(ILogger logger, string root, int count);

    [LoggerMessage(CaptureEventIds.FrameStoreCleanupFailed, LogLevel.Warning, "Frame store cleanup failed")]
    public static partial void FrameStoreCleanupFailed(ILogger logger, Exception exception);

    [LoggerMessage(CaptureEventIds.HealthSendFailed, LogLevel.Warning, "Health event for camera {SourceId} could not be sent")]
    public static partial void HealthSendFailed(ILogger logger, string sourceId, Exception exception);
}
