namespace Edge.Runtime.Diagnostics;

/// <summary>
/// Event ids of the module runtime (1000–1999), each named after the log message that carries it.
/// The <c>[LoggerMessage]</c> attributes and the tests that look for a log record use these constants;
/// the numbers are stable (operators filter on them).
/// </summary>
internal static class RuntimeEventIds
{
    public const int HubConnecting = 1000;
    public const int HubConnected = 1001;
    public const int HubConnectFailed = 1002;
    public const int HubDisconnected = 1003;
    public const int RenewingToken = 1004;
    public const int CertificateRejected = 1005;
    public const int InvalidConfiguration = 1006;
    public const int HubConnectRefused = 1007;
    public const int InputHandlerFailed = 1010;
    public const int InputUnhandled = 1011;
    public const int UnexpectedTopic = 1012;
    public const int MethodUnknown = 1020;
    public const int MethodFailed = 1021;
    public const int DesiredApplied = 1030;
    public const int DesiredRejected = 1031;
    public const int DesiredGap = 1032;
    public const int TwinFailed = 1033;
    public const int DesiredCacheUnreadable = 1034;
    public const int DesiredHandlerThrew = 1035;
    public const int OutboxFull = 1040;
    public const int OutboxRoom = 1041;
    public const int OutboxQuarantined = 1042;
    public const int OutboxOpened = 1043;
    public const int OutboxExpired = 1044;
    public const int OutboxPublishFailed = 1045;
    public const int OutboxDroppedOldest = 1046;
    public const int ShutdownPending = 1050;
    public const int MetricsListening = 1051;
    public const int MetricsError = 1052;
}
