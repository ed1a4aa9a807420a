using Microsoft.Extensions.Logging;

namespace Inference;

/// <summary>Tracking and event log events (EventIds 5100–5199).</summary>
internal static partial class Log
{
    [LoggerMessage(InferenceEventIds.EventSent, LogLevel.Information, "Event {Type} {EventId} ({Label}) sent (SourceId {SourceId})")]
    public static partial void EventSent(ILogger logger, string sourceId, string type, string eventId, string label);

    [LoggerMessage(InferenceEventIds.EventEndedOnRestart, LogLevel.Information, "Event {EventId} was open at the last stop: end sent with reason restart (SourceId {SourceId})")]
    public static partial void EventEndedOnRestart(ILogger logger, string sourceId, string eventId);

    [LoggerMessage(InferenceEventIds.EventStateUnreadable, LogLevel.Warning, "The event state {Path} is unreadable ({Reason}); open events of the last run cannot be ended")]
    public static partial void EventStateUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(InferenceEventIds.EventSettingsApplied, LogLevel.Information, "Event settings applied: {Settings}")]
    public static partial void EventSettingsApplied(ILogger logger, string settings);
}
