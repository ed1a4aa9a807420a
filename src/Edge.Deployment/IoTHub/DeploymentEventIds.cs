namespace Edge.Deployment.IoTHub;

/// <summary>
/// Event ids of deployment and the IoT Hub client (3000–3499), each named after the log message that carries it.
/// The <c>[LoggerMessage]</c> attributes and the tests that look for a log record use these constants;
/// the numbers are stable (operators filter on them).
/// </summary>
internal static class DeploymentEventIds
{
    public const int IoTHubRequestCompleted = 3001;
    public const int IoTHubRequestRetrying = 3002;
    public const int StreamReconnecting = 3003;
    public const int BadUpstreamEvent = 3004;
}
