using Microsoft.Extensions.Logging;

namespace Edge.Hub;

/// <summary>Hub log messages (EventIds 2000–2999).</summary>
internal static partial class Log
{
    [LoggerMessage(HubEventIds.HubStarted, LogLevel.Information, "Hub started: device {DeviceId}, MQTT port {MqttPort}, API {ApiUri}")]
    public static partial void HubStarted(ILogger logger, string deviceId, int mqttPort, Uri apiUri);

    [LoggerMessage(HubEventIds.ConnectRefused, LogLevel.Warning, "Connection refused for client {ClientId}: {Reason}")]
    public static partial void ConnectRefused(ILogger logger, string clientId, string reason);

    [LoggerMessage(HubEventIds.ClientConnected, LogLevel.Information, "Client {ClientId} connected")]
    public static partial void ClientConnected(ILogger logger, string clientId);

    [LoggerMessage(HubEventIds.ClientDisconnected, LogLevel.Information, "Client {ClientId} disconnected")]
    public static partial void ClientDisconnected(ILogger logger, string clientId);

    [LoggerMessage(HubEventIds.PublishRefused, LogLevel.Warning, "Publish from {ClientId} on {Topic} refused ({Reason}); connection closed, nothing acknowledged")]
    public static partial void PublishRefused(ILogger logger, string clientId, string topic, string reason);

    [LoggerMessage(HubEventIds.SubscribeRefused, LogLevel.Warning, "Subscription of {ClientId} to {Filter} refused ({Reason})")]
    public static partial void SubscribeRefused(ILogger logger, string clientId, string filter, string reason);

    [LoggerMessage(HubEventIds.UnknownTopic, LogLevel.Warning, "Publish from {ClientId} on unknown topic {Topic} dropped")]
    public static partial void UnknownTopic(ILogger logger, string clientId, string topic);

    [LoggerMessage(HubEventIds.NoRoute, LogLevel.Debug, "Message from {Source} matched no route")]
    public static partial void NoRoute(ILogger logger, string source);

    [LoggerMessage(HubEventIds.RoutesApplied, LogLevel.Information, "Routes applied: {Count} routes, store-and-forward TTL {Ttl} s")]
    public static partial void RoutesApplied(ILogger logger, int count, int ttl);

    [LoggerMessage(HubEventIds.RoutesRejected, LogLevel.Warning, "$edgeHub desired properties rejected, keeping the last good routes: {Errors}")]
    public static partial void RoutesRejected(ILogger logger, string errors);

    [LoggerMessage(HubEventIds.MessageExpired, LogLevel.Warning, "Message {Seq} for {Endpoint} expired before delivery (enqueued {EnqueuedAt:o}); dropped")]
    public static partial void MessageExpired(ILogger logger, long seq, string endpoint, DateTimeOffset enqueuedAt);

    [LoggerMessage(HubEventIds.ModuleAckTimeout, LogLevel.Warning, "Module {ModuleId} did not acknowledge message {Seq} within {Timeout}; redelivering")]
    public static partial void AckTimeout(ILogger logger, string moduleId, long seq, TimeSpan timeout);

    [LoggerMessage(HubEventIds.DispatcherFailed, LogLevel.Error, "Dispatcher for {Endpoint} failed; retrying")]
    public static partial void DispatcherFailed(ILogger logger, string endpoint, Exception exception);

    [LoggerMessage(HubEventIds.UpstreamStateChanged, LogLevel.Information, "Upstream is now {State}")]
    public static partial void UpstreamState(ILogger logger, string state);

    [LoggerMessage(HubEventIds.HubRestarting, LogLevel.Information, "Hub restarting (state kept)")]
    public static partial void Restarting(ILogger logger);

    [LoggerMessage(HubEventIds.TwinRequestRejected, LogLevel.Warning, "Twin request from {ClientId} on {Topic} rejected with {Status}: {Reason}")]
    public static partial void TwinRequestRejected(ILogger logger, string clientId, string topic, int status, string reason);

    [LoggerMessage(HubEventIds.ApiRefused, LogLevel.Warning, "Cloud API request refused with {Status}: {Reason}")]
    public static partial void ApiRefused(ILogger logger, int status, string reason);

    [LoggerMessage(HubEventIds.CertificatesCreated, LogLevel.Information, "Created certificate authority and server certificate in {Directory}")]
    public static partial void CertificatesCreated(ILogger logger, string directory);

    [LoggerMessage(HubEventIds.UpstreamReaderOverflow, LogLevel.Warning, "Live $upstream reader fell behind; oldest messages dropped from its view")]
    public static partial void UpstreamReaderOverflow(ILogger logger);

    [LoggerMessage(HubEventIds.EdgeAgentHandlerFailed, LogLevel.Error, "$edgeAgent desired-properties handler failed")]
    public static partial void EdgeAgentHandlerFailed(ILogger logger, Exception exception);

    [LoggerMessage(HubEventIds.DeliveryStalled, LogLevel.Warning, "Delivery to {ClientId} was not sent within {Timeout}; will retry on the live connection")]
    public static partial void DeliveryStalled(ILogger logger, string clientId, TimeSpan timeout);

    [LoggerMessage(HubEventIds.DeliveryConnectionLost, LogLevel.Warning, "Connection to {ClientId} broke during a delivery ({Reason}); the message stays stored and is redelivered")]
    public static partial void DeliveryConnectionLost(ILogger logger, string clientId, string reason);

    [LoggerMessage(HubEventIds.ClientTakenOver, LogLevel.Information, "Client {ClientId} connected again; its previous connection is closed")]
    public static partial void TakenOver(ILogger logger, string clientId);

    [LoggerMessage(HubEventIds.StoreFailed, LogLevel.Error, "Storing a message from {ClientId} failed; no PUBACK, closing the connection so the client resends")]
    public static partial void StoreFailed(ILogger logger, string clientId, Exception exception);
}
