using Edge.Protocol.Mqtt;

namespace Edge.Hub.Heads;

/// <summary>
/// A protocol head: accepts client connections on one wire protocol and hands what arrives to the IoT Hub protocol layer
/// (<see cref="IoTHub.IoTHubProtocol"/>). MQTT 3.1.1 over TLS is the only head today (<see cref="Mqtt.MqttHead"/>); an AMQP or an
/// MQTT-over-WebSocket head implements this interface beside it and talks to the same layer (edgeHub: <c>IProtocolHead</c>,
/// <c>Microsoft.Azure.Devices.Edge.Hub.Core/IProtocolHead.cs</c>).
/// </summary>
internal interface IProtocolHead : IAsyncDisposable
{
    /// <summary>The protocol, for logs (<c>MQTT</c>).</summary>
    string Name { get; }

    /// <summary>The port it listens on once started.</summary>
    int Port { get; }

    /// <summary>Starts listening on <paramref name="port"/> (0: any free port).</summary>
    Task StartAsync(int port, CancellationToken ct);

    /// <summary>Stops listening and closes every connection; the IoT Hub layer forgets the sessions.</summary>
    Task StopAsync();
}

/// <summary>
/// One client connection of a head, as the IoT Hub layer sees it: what it needs to send a message to the client and to close the
/// connection. Implemented by each head's connection type.
/// </summary>
internal interface IClientLink
{
    /// <summary>True once the connection is closed (nothing more is sent).</summary>
    bool IsClosed { get; }

    /// <summary>Completes when the connection is closed and the hub has forgotten it.</summary>
    Task Completion { get; }

    /// <summary>Queues a message to the client; false when the connection is closed (or its client stopped reading).</summary>
    /// <param name="topic">The IoT Hub topic name of the message.</param>
    /// <param name="payload">The body.</param>
    /// <param name="qos">At most once, or at least once (then <paramref name="packetId"/> identifies its acknowledgement).</param>
    /// <param name="packetId">The id the client acknowledges (<see cref="IoTHub.ClientState.Acknowledged"/>).</param>
    bool Send(string topic, byte[] payload, MqttQos qos, ushort packetId);

    /// <summary>Closes the connection now (queued bytes that are not written yet are dropped).</summary>
    void Abort(string reason);
}
