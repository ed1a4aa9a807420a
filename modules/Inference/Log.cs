using Microsoft.Extensions.Logging;

namespace Inference;

/// <summary>Inference log events (EventIds 5000–5999).</summary>
internal static partial class Log
{
    [LoggerMessage(InferenceEventIds.ModelLoaded, LogLevel.Information, "Model {Name} {Version} (sha256 {Sha256}) loaded in {LoadMs:F0} ms on {Provider}")]
    public static partial void ModelLoaded(ILogger logger, string name, string version, string sha256, double loadMs, string provider);

    [LoggerMessage(InferenceEventIds.ModelLoadFailed, LogLevel.Warning, "Model {Requested} was not loaded: {Reason}")]
    public static partial void ModelLoadFailed(ILogger logger, string requested, string reason);

    [LoggerMessage(InferenceEventIds.ExecutionProviderFallback, LogLevel.Warning, "{Message}")]
    public static partial void ExecutionProviderFallback(ILogger logger, string message);

    [LoggerMessage(InferenceEventIds.ModelRecordUnreadable, LogLevel.Warning, "The last-good model record {Path} is unreadable ({Reason}); loading the configured model")]
    public static partial void ModelRecordUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(InferenceEventIds.FrameSkipped, LogLevel.Warning, "Frame skipped (SourceId {SourceId}, Seq {Seq}, MessageId {MessageId}): {Reason}")]
    public static partial void FrameSkipped(ILogger logger, string sourceId, long seq, string? messageId, string reason);

    [LoggerMessage(InferenceEventIds.FrameDropped, LogLevel.Debug, "Frame dropped by the latest-frame queue (SourceId {SourceId}, Seq {Seq})")]
    public static partial void FrameDropped(ILogger logger, string sourceId, long seq);

    [LoggerMessage(InferenceEventIds.SendRefused, LogLevel.Warning, "Output {Output} refused a message (SourceId {SourceId}, Seq {Seq}): {Status}")]
    public static partial void SendRefused(ILogger logger, string output, string sourceId, long seq, string status);

    [LoggerMessage(InferenceEventIds.InferenceFailed, LogLevel.Error, "Inference failed (SourceId {SourceId}, Seq {Seq}); the frame is skipped")]
    public static partial void InferenceFailed(ILogger logger, Exception ex, string sourceId, long seq);

    [LoggerMessage(InferenceEventIds.DesiredRejected, LogLevel.Warning, "Desired properties rejected: {Reason}")]
    public static partial void DesiredRejected(ILogger logger, string reason);

    [LoggerMessage(InferenceEventIds.ThresholdsApplied, LogLevel.Information, "Thresholds applied: {Thresholds}")]
    public static partial void ThresholdsApplied(ILogger logger, string thresholds);

    [LoggerMessage(InferenceEventIds.ReportFailed, LogLevel.Warning, "Reporting properties failed: {Reason}")]
    public static partial void ReportFailed(ILogger logger, string reason);
}
