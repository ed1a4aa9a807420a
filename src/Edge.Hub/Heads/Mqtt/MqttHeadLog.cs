using Microsoft.Extensions.Logging;

namespace Edge.Hub.Heads.Mqtt;

/// <summary>Log messages of the hub's MQTT head (EventIds 2100–2119 but 2103; the hub's own are 2000–2099 and 2103 in <c>Log</c>).</summary>
internal static partial class MqttHeadLog
{
    [LoggerMessage(HubEventIds.MqttConnectionClosed, LogLevel.Debug, "MQTT connection {Connection} ({ClientId}) closed: {Reason}")]
    public static partial void ConnectionClosed(ILogger logger, long connection, string clientId, string reason);

    [LoggerMessage(HubEventIds.MalformedPacket, LogLevel.Warning, "Malformed MQTT packet from {ClientId} ({Reason}); connection closed")]
    public static partial void MalformedPacket(ILogger logger, string clientId, string reason);

    [LoggerMessage(HubEventIds.KeepAliveExpired, LogLevel.Information, "Client {ClientId} sent nothing for {Timeout} (keep-alive {KeepAlive}); connection closed")]
    public static partial void KeepAliveExpired(ILogger logger, string clientId, TimeSpan timeout, TimeSpan keepAlive);

    [LoggerMessage(HubEventIds.PacketFailed, LogLevel.Warning, "Handling a packet from {ClientId} failed; connection closed")]
    public static partial void PacketFailed(ILogger logger, string clientId, Exception exception);

    [LoggerMessage(HubEventIds.PacketTooLarge, LogLevel.Warning, "Packet of {Length} bytes from {ClientId} is over the limit of {Limit}; connection closed")]
    public static partial void PacketTooLarge(ILogger logger, string clientId, int length, int limit);

    [LoggerMessage(HubEventIds.UnsupportedProtocol, LogLevel.Warning, "Client {ClientId} sent MQTT protocol level {Level}; only 4 (3.1.1) is supported")]
    public static partial void UnsupportedProtocol(ILogger logger, string clientId, int level);

    [LoggerMessage(HubEventIds.SendBacklog, LogLevel.Warning, "Client {ClientId} is not reading: {Bytes} bytes queued for it; connection closed")]
    public static partial void SendBacklog(ILogger logger, string clientId, int bytes);
}
