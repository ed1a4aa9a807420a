namespace CameraCapture;

/// <summary>
/// Event ids of the capture module (4000–4999), each named after the log message that carries it.
/// The <c>[LoggerMessage]</c> attributes and the tests that look for a log record use these constants;
/// the numbers are stable (operators filter on them).
/// </summary>
internal static class CaptureEventIds
{
    public const int CameraStarting = 4000;
    public const int CameraStopped = 4001;
    public const int SourceOpened = 4002;
    public const int SourceOpenFailed = 4003;
    public const int SourceLost = 4004;
    public const int EndOfStream = 4005;
    public const int HealthChanged = 4006;
    public const int HealthRecovered = 4007;
    public const int SendRejected = 4008;
    public const int FrameTooLarge = 4009;
    public const int SourceWarning = 4010;
    public const int PipelineFaulted = 4011;
    public const int SendFailed = 4012;
    public const int SettingsApplied = 4020;
    public const int SettingsRejected = 4021;
    public const int NoCameras = 4022;
    public const int ReportFailed = 4023;
    public const int FrameStoreCleaned = 4024;
    public const int FrameStoreCleanupFailed = 4025;
    public const int HealthSendFailed = 4026;
}
