using Microsoft.Extensions.Logging;

namespace Edge.Runtime.Diagnostics;

/// <summary>Runtime log messages (EventIds 1000-1999).</summary>
internal static partial class Log
{
    [LoggerMessage(RuntimeEventIds.HubConnecting, LogLevel.Information, "Connecting to edgeHub at {Host}:{Port} as {ClientId} ({Mode})")]
    public static partial void Connecting(ILogger logger, string host, int port, string clientId, string mode);

    [LoggerMessage(RuntimeEventIds.HubConnected, LogLevel.Information, "Connected to edgeHub as {ClientId}; token expires {ExpiresAt:o}")]
    public static partial void Connected(ILogger logger, string clientId, DateTimeOffset expiresAt);

    [LoggerMessage(RuntimeEventIds.HubConnectFailed, LogLevel.Warning, "Connection to edgeHub failed (attempt {Attempt}): {Reason}")]
    public static partial void ConnectFailed(ILogger logger, int attempt, string reason);

    [LoggerMessage(RuntimeEventIds.HubDisconnected, LogLevel.Warning, "Disconnected from edgeHub: {Reason}")]
    public static partial void Disconnected(ILogger logger, string reason);

    [LoggerMessage(RuntimeEventIds.RenewingToken, LogLevel.Information, "Renewing the SAS token (expires {ExpiresAt:o}): reconnecting")]
    public static partial void RenewingToken(ILogger logger, DateTimeOffset expiresAt);

    [LoggerMessage(RuntimeEventIds.CertificateRejected, LogLevel.Error, "TLS: refusing edgeHub's certificate: {Reason}")]
    public static partial void CertificateRejected(ILogger logger, string reason);

    [LoggerMessage(RuntimeEventIds.InvalidConfiguration, LogLevel.Critical, "Invalid runtime configuration: {Message}")]
    public static partial void InvalidConfiguration(ILogger logger, string message);

    [LoggerMessage(RuntimeEventIds.HubConnectRefused, LogLevel.Warning, "edgeHub refused the connection: {Code} {Reason}")]
    public static partial void ConnectRefused(ILogger logger, string code, string? reason);

    [LoggerMessage(RuntimeEventIds.InputHandlerFailed, LogLevel.Warning, "Input {Input}: handler failed, message not acknowledged (edgeHub redelivers) MessageId={MessageId}")]
    public static partial void InputHandlerFailed(ILogger logger, Exception ex, string input, string? messageId);

    [LoggerMessage(RuntimeEventIds.InputUnhandled, LogLevel.Warning, "Input {Input} has no handler: message acknowledged and counted as unhandled MessageId={MessageId}")]
    public static partial void InputUnhandled(ILogger logger, string input, string? messageId);

    [LoggerMessage(RuntimeEventIds.UnexpectedTopic, LogLevel.Warning, "Ignoring a message on unexpected topic {Topic}")]
    public static partial void UnexpectedTopic(ILogger logger, string topic);

    [LoggerMessage(RuntimeEventIds.MethodUnknown, LogLevel.Warning, "Method {Method} is not implemented: answered 501")]
    public static partial void MethodUnknown(ILogger logger, string method);

    [LoggerMessage(RuntimeEventIds.MethodFailed, LogLevel.Warning, "Method {Method} handler failed: answered 500")]
    public static partial void MethodFailed(ILogger logger, Exception ex, string method);

    [LoggerMessage(RuntimeEventIds.DesiredApplied, LogLevel.Information, "Desired properties version {Version} applied (fromCache={FromCache})")]
    public static partial void DesiredApplied(ILogger logger, long version, bool fromCache);

    [LoggerMessage(RuntimeEventIds.DesiredRejected, LogLevel.Warning, "Desired properties version {Version} rejected: {Reason}; last good settings stay")]
    public static partial void DesiredRejected(ILogger logger, long version, string reason);

    [LoggerMessage(RuntimeEventIds.DesiredGap, LogLevel.Information, "Desired patch version {Version} after {Last}: gap, fetching the full twin")]
    public static partial void DesiredGap(ILogger logger, long version, long last);

    [LoggerMessage(RuntimeEventIds.TwinFailed, LogLevel.Warning, "Twin operation failed: {Reason}")]
    public static partial void TwinFailed(ILogger logger, string reason);

    [LoggerMessage(RuntimeEventIds.DesiredCacheUnreadable, LogLevel.Warning, "Last-known-good desired properties at {Path} are unreadable and were ignored: {Reason}")]
    public static partial void DesiredCacheUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(RuntimeEventIds.DesiredHandlerThrew, LogLevel.Error, "Desired properties handler threw for version {Version}")]
    public static partial void DesiredHandlerThrew(ILogger logger, Exception ex, long version);

    [LoggerMessage(RuntimeEventIds.OutboxFull, LogLevel.Warning, "Outbox: output {Output} is full ({Bytes} bytes); policy {Policy}")]
    public static partial void OutboxFull(ILogger logger, string output, long bytes, string policy);

    [LoggerMessage(RuntimeEventIds.OutboxRoom, LogLevel.Information, "Outbox: output {Output} has room again")]
    public static partial void OutboxRoom(ILogger logger, string output);

    [LoggerMessage(RuntimeEventIds.OutboxQuarantined, LogLevel.Error, "Outbox database {Path} is corrupt ({Reason}); quarantined as {Quarantine}, starting empty")]
    public static partial void OutboxQuarantined(ILogger logger, string path, string reason, string quarantine);

    [LoggerMessage(RuntimeEventIds.OutboxOpened, LogLevel.Information, "Outbox opened at {Path}: {Count} messages ({Bytes} bytes) waiting")]
    public static partial void OutboxOpened(ILogger logger, string path, long count, long bytes);

    [LoggerMessage(RuntimeEventIds.OutboxExpired, LogLevel.Warning, "Outbox: {Count} messages expired before delivery on output {Output}")]
    public static partial void OutboxExpired(ILogger logger, int count, string output);

    [LoggerMessage(RuntimeEventIds.OutboxPublishFailed, LogLevel.Warning, "Outbox publish of Seq={Seq} MessageId={MessageId} to {Output} failed: {Reason}; will resend")]
    public static partial void PublishFailed(ILogger logger, long seq, string? messageId, string output, string reason);

    [LoggerMessage(RuntimeEventIds.OutboxDroppedOldest, LogLevel.Warning, "Outbox: dropped {Count} oldest messages of output {Output} to make room")]
    public static partial void OutboxDroppedOldest(ILogger logger, int count, string output);

    [LoggerMessage(RuntimeEventIds.ShutdownPending, LogLevel.Information, "Shutting down: {Pending} messages still in the outbox will be sent on the next start")]
    public static partial void ShutdownPending(ILogger logger, long pending);

    [LoggerMessage(RuntimeEventIds.MetricsListening, LogLevel.Information, "Metrics endpoint listening on :{Port}/metrics")]
    public static partial void MetricsListening(ILogger logger, int port);

    [LoggerMessage(RuntimeEventIds.MetricsError, LogLevel.Warning, "Metrics endpoint error: {Reason}")]
    public static partial void MetricsError(ILogger logger, string reason);
}
