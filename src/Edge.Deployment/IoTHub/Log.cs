using System.Net;
using Microsoft.Extensions.Logging;

namespace Edge.Deployment.IoTHub;

/// <summary>Deployment log messages: EventIds 3000–3499.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = DeploymentEventIds.IoTHubRequestCompleted, Level = LogLevel.Debug, Message = "IoT Hub {Method} {Path} answered {Status} in {ElapsedMs} ms")]
    public static partial void Request(ILogger logger, string method, string path, int status, long elapsedMs);

    [LoggerMessage(EventId = DeploymentEventIds.IoTHubRequestRetrying, Level = LogLevel.Warning, Message = "IoT Hub {Method} {Path}: attempt {Attempt} failed ({Reason}); retrying in {DelayMs} ms")]
    public static partial void Retrying(ILogger logger, string method, string path, int attempt, string reason, long delayMs);

    [LoggerMessage(EventId = DeploymentEventIds.StreamReconnecting, Level = LogLevel.Warning, Message = "upstream stream from {Endpoint} ended ({Reason}); reconnecting in {DelayMs} ms")]
    public static partial void StreamReconnecting(ILogger logger, string endpoint, string reason, long delayMs);

    [LoggerMessage(EventId = DeploymentEventIds.BadUpstreamEvent, Level = LogLevel.Warning, Message = "skipped an upstream event that is not a JSON object: {Reason}")]
    public static partial void BadUpstreamEvent(ILogger logger, string reason);

    public static string Describe(HttpStatusCode status) => $"{(int)status} {status}";
}
