namespace Edge.Hub;

/// <summary>A message that reached <c>$upstream</c> (what IoT Hub would have received).</summary>
public sealed record UpstreamMessage(string SourceModuleId, string? OutputName, ReadOnlyMemory<byte> Body,
    IReadOnlyDictionary<string, string> Properties, IReadOnlyDictionary<string, string> SystemProperties, DateTimeOffset EnqueuedAt);

/// <summary>A route with how many messages it matched since start.</summary>
public sealed record RouteStatus(string Name, string Text, string Sink, int Priority, uint TimeToLiveSecs, long Matched);

/// <summary>Messages waiting in the store for one endpoint at one priority.</summary>
public sealed record QueueStatus(string Endpoint, int Priority, long Depth);

/// <summary>A connected MQTT client.</summary>
public sealed record ClientStatus(string ClientId, bool ModuleMessagesSubscribed, bool MethodsSubscribed, bool DesiredSubscribed);

/// <summary>A snapshot of the hub for <c>/simulator/status</c> and the dashboard.</summary>
public sealed record HubStatus(
    string DeviceId,
    bool UpstreamOnline,
    TimeSpan UpstreamLatency,
    int StoreAndForwardTimeToLiveSecs,
    IReadOnlyList<RouteStatus> Routes,
    IReadOnlyList<QueueStatus> Queues,
    IReadOnlyList<ClientStatus> Clients,
    IReadOnlyDictionary<string, long> Refusals,
    IReadOnlyDictionary<string, long> Drops,
    long MessagesReceived,
    long MessagesDelivered,
    long UpstreamDelivered,
    long Redeliveries,
    string? LastConfigError);
