using System.Text.Json.Nodes;

namespace Edge.Runtime;

/// <summary>
/// A module's connection to edgeHub. One per process, registered by <c>AddEdgeModule</c>.
/// Register handlers before the host starts; the client subscribes to everything on every (re)connect.
/// </summary>
public interface IModuleClient
{
    /// <summary>This module's device and module id.</summary>
    ModuleIdentity Identity { get; }

    /// <summary>The current connection state.</summary>
    ConnectionState State { get; }

    /// <summary>
    /// Persists the message in the durable outbox and returns; the outbox pump publishes it to <paramref name="outputName"/>
    /// (QoS 1) in order and deletes it only after the PUBACK. A full outbox or an oversize message is a result, not an exception.
    /// </summary>
    ValueTask<SendResult> SendAsync(string outputName, EdgeMessage message, CancellationToken ct);

    /// <summary>
    /// Handles messages routed to an input. The PUBACK is sent only after the handler completes (at-least-once):
    /// a handler that throws, or a crash, means edgeHub redelivers, so handlers must tolerate duplicates.
    /// </summary>
    void SetInputHandler(string inputName, Func<InputMessageArguments, CancellationToken, Task> handler);

    /// <summary>Handles a direct method. Unknown methods are answered 501.</summary>
    void SetMethodHandler(string methodName, Func<MethodRequestArguments, CancellationToken, Task<MethodResponse>> handler);

    /// <summary>
    /// Validates and applies desired properties: called with the full desired document after connect, after a version gap,
    /// after every patch (merged onto the last document) and, before any connection, with the last-known-good document from disk.
    /// </summary>
    void SetDesiredPropertiesHandler(Func<DesiredPropertiesArguments, CancellationToken, Task<DesiredPropertiesResult>> handler);

    /// <summary>Patches reported properties. While disconnected, patches are merged and sent after the next connect.</summary>
    Task ReportPropertiesAsync(JsonObject patch, CancellationToken ct);
}

/// <summary>The identity a module connects as.</summary>
public readonly record struct ModuleIdentity(string DeviceId, string ModuleId)
{
    /// <summary>The MQTT client id: <c>{deviceId}/{moduleId}</c>.</summary>
    public override string ToString() => $"{DeviceId}/{ModuleId}";
}

/// <summary>Connection state of the module client.</summary>
public enum ConnectionState
{
    /// <summary>Not yet connected.</summary>
    Disconnected,

    /// <summary>Connecting or reconnecting.</summary>
    Connecting,

    /// <summary>Connected and subscribed.</summary>
    Connected,
}

/// <summary>Outcome of <see cref="IModuleClient.SendAsync"/>.</summary>
public enum SendStatus
{
    /// <summary>Persisted in the outbox; it will be delivered.</summary>
    Accepted,

    /// <summary>The outbox is full and the output's policy is <c>rejectNew</c>.</summary>
    RejectedFull,

    /// <summary>Body plus properties exceed edgeHub's 256 KB message limit.</summary>
    RejectedTooLarge,
}

/// <summary>Result of a send: the status and, when accepted, the outbox sequence number.</summary>
public readonly record struct SendResult(SendStatus Status, long Sequence)
{
    /// <summary>True when the message is persisted.</summary>
    public bool IsAccepted => Status == SendStatus.Accepted;
}

/// <summary>A message delivered to one of this module's inputs.</summary>
public readonly record struct InputMessageArguments(string InputName, EdgeMessage Message)
{
    /// <summary>The sender's device id (<c>$.cdid</c>).</summary>
    public string? SenderDeviceId => Message.SystemProperties.GetValueOrDefault("$.cdid");

    /// <summary>The sender's module id (<c>$.cmid</c>).</summary>
    public string? SenderModuleId => Message.SystemProperties.GetValueOrDefault("$.cmid");
}

/// <summary>A direct-method request.</summary>
public readonly record struct MethodRequestArguments(string MethodName, ReadOnlyMemory<byte> Payload)
{
    /// <summary>The payload parsed as JSON, or null when empty.</summary>
    public JsonNode? PayloadJson() => Payload.IsEmpty ? null : JsonNode.Parse(Payload.Span);
}

/// <summary>A direct-method response: a status code of the module's choosing and a JSON payload.</summary>
public sealed record MethodResponse(int Status, JsonNode? Payload)
{
    /// <summary>200 with a payload.</summary>
    public static MethodResponse Ok(JsonNode? payload) => new(200, payload);

    /// <summary>An error status with <c>{"message": ...}</c>.</summary>
    public static MethodResponse Error(int status, string message) => new(status, new JsonObject { ["message"] = message });
}

/// <summary>Desired properties to validate and apply.</summary>
/// <param name="Desired">The whole desired document (without <c>$version</c>/<c>$metadata</c>).</param>
/// <param name="Version">The desired <c>$version</c>.</param>
/// <param name="FromCache">True when read from the local last-known-good file before edgeHub was reached.</param>
public readonly record struct DesiredPropertiesArguments(JsonObject Desired, long Version, bool FromCache);

/// <summary>
/// What a module made of desired properties. When <see cref="Accepted"/> the document becomes the last-known-good;
/// otherwise the previous settings stay in force and <see cref="Error"/> is reported.
/// </summary>
public sealed record DesiredPropertiesResult(bool Accepted, JsonObject? Reported, string? Error)
{
    /// <summary>Applied; <paramref name="reported"/> echoes what is now in force.</summary>
    public static DesiredPropertiesResult Applied(JsonObject? reported) => new(true, reported, null);

    /// <summary>Rejected with a reason a user can act on; the last good settings stay.</summary>
    public static DesiredPropertiesResult Rejected(string error, JsonObject? reported = null) => new(false, reported, error);
}
