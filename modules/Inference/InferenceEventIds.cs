namespace Inference;

/// <summary>
/// Event ids of the inference module (5000–5999), each named after the log message that carries it.
/// The <c>[LoggerMessage]</c> attributes and the tests that look for a log record use these constants;
/// the numbers are stable (operators filter on them).
/// </summary>
internal static class InferenceEventIds
{
    // Inference (5000–5099)
    public const int ModelLoaded = 5000;
    public const int ModelLoadFailed = 5001;
    public const int ExecutionProviderFallback = 5002;
    public const int ModelRecordUnreadable = 5003;
    public const int FrameSkipped = 5010;
    public const int FrameDropped = 5011;
    public const int SendRefused = 5012;
    public const int InferenceFailed = 5013;
    public const int DesiredRejected = 5020;
    public const int ThresholdsApplied = 5021;
    public const int ReportFailed = 5022;

    // Tracking and events (5100–5199)
    public const int EventSent = 5100;
    public const int EventEndedOnRestart = 5101;
    public const int EventStateUnreadable = 5102;
    public const int EventSettingsApplied = 5103;
}
