namespace Edge.Hub;

/// <summary>
/// Event ids of the hub (2000–2999), each named after the log message that carries it.
/// The <c>[LoggerMessage]</c> attributes and the tests that look for a log record use these constants;
/// the numbers are stable (operators filter on them).
/// </summary>
internal static class HubEventIds
{
    // Hub core (Log, 2000–2099 and 2103)
    public const int HubStarted = 2000;
    public const int ConnectRefused = 2001;
    public const int ClientConnected = 2002;
    public const int ClientDisconnected = 2003;
    public const int PublishRefused = 2004;
    public const int SubscribeRefused = 2005;
    public const int UnknownTopic = 2006;
    public const int NoRoute = 2007;
    public const int RoutesApplied = 2008;
    public const int RoutesRejected = 2009;
    public const int MessageExpired = 2010;
    public const int ModuleAckTimeout = 2011;
    public const int DispatcherFailed = 2012;
    public const int UpstreamStateChanged = 2013;
    public const int HubRestarting = 2014;
    public const int TwinRequestRejected = 2015;
    public const int ApiRefused = 2016;
    public const int CertificatesCreated = 2017;
    public const int UpstreamReaderOverflow = 2018;
    public const int EdgeAgentHandlerFailed = 2019;
    public const int DeliveryStalled = 2020;
    public const int DeliveryConnectionLost = 2021;
    public const int ClientTakenOver = 2103;
    public const int StoreFailed = 2022;

    // MQTT head (MqttHeadLog, 2100–2119 but 2103)
    public const int MqttConnectionClosed = 2100;
    public const int MalformedPacket = 2101;
    public const int KeepAliveExpired = 2102;
    public const int PacketFailed = 2104;
    public const int PacketTooLarge = 2105;
    public const int UnsupportedProtocol = 2106;
    public const int SendBacklog = 2107;

    // Supervisor (Supervisor.Log, 2800–2899)
    public const int ModuleStarted = 2800;
    public const int ModuleExited = 2801;
    public const int ModuleBackoff = 2802;
    public const int ModuleStopped = 2803;
    public const int ModuleStartFailed = 2804;
    public const int StopGraceExpired = 2805;
    public const int EdgeAgentDesiredRejected = 2806;
    public const int EdgeAgentApplying = 2807;
    public const int CreateOptionsIgnored = 2808;
    public const int VolumeCreated = 2809;
    public const int HostBindSkipped = 2810;
    public const int EnvOverridden = 2811;
    public const int ModuleKilled = 2812;
    public const int SupervisorHandlerFailed = 2813;
    public const int SupervisionFailed = 2814;
    public const int LogFileFailed = 2815;
}
