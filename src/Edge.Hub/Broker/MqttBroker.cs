using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using Edge.Hub.Security;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Edge.Hub.Broker;

/// <summary>What the broker hands to the hub after authentication and authorization.</summary>
internal interface IBrokerHandler
{
    /// <summary>Routes and stores a telemetry message; the task completes when it is stored, and the PUBACK is sent only after that.</summary>
    Task OnTelemetryAsync(ClientIdentity sender, TelemetryTopic topic, MqttApplicationMessage message, CancellationToken ct);

    Task OnTwinGetAsync(ClientIdentity sender, string rid, CancellationToken ct);

    Task OnReportedPatchAsync(ClientIdentity sender, string rid, byte[] payload, CancellationToken ct);

    void OnMethodResponse(ClientIdentity sender, int status, string rid, byte[] payload);

    /// <summary>A client connected, disconnected or (un)subscribed: dispatchers waiting for it re-check.</summary>
    void OnClientChanged(ClientIdentity identity);
}

/// <summary>Per-identity connection and subscription state.</summary>
internal sealed class ClientState(ClientIdentity identity)
{
    public ClientIdentity Identity { get; } = identity;

    public volatile bool Connected;
    public volatile bool ModuleMessages;
    public volatile bool Methods;
    public volatile bool Desired;
    public volatile bool TwinResponses;

    /// <summary>The broker session of the current connection (cached: looked up once per connect).</summary>
    public volatile MqttSessionStatus? Session;

    private readonly Dictionary<ushort, TaskCompletionSource<bool>> _inputAcks = [];
    private readonly HashSet<ushort> _earlyAcks = [];
    private readonly ConcurrentDictionary<ushort, Task> _storing = new();

    /// <summary>The packet id of the QoS 1 PUBLISH this client's receive loop is processing (set before the publish is intercepted).</summary>
    public volatile int InboundPacketId = -1;

    /// <summary>Telemetry PUBLISHes of this client whose store commit is still running.</summary>
    public int Storing => _storing.Count;

    /// <summary>Holds back the PUBACK of <paramref name="packetId"/> until <paramref name="stored"/> completes.</summary>
    public void HoldAck(ushort packetId, Task stored) => _storing[packetId] = stored;

    /// <summary>The store commit the PUBACK of <paramref name="packetId"/> waits for, if any.</summary>
    public Task? TakeHeldAck(ushort packetId) => _storing.TryRemove(packetId, out var t) ? t : null;

    /// <summary>The connection ended: its packet ids mean nothing any more.</summary>
    public void ClearHeldAcks()
    {
        foreach (var id in _storing.Keys)
        {
            if (_storing.TryRemove(id, out var t))
            {
                // Nobody waits for these PUBACKs any more: observe a failed store so it is not an unobserved task exception.
                _ = t.ContinueWith(static f => _ = f.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }
    }

    /// <summary>
    /// Registers interest in the PUBACK of a module-input PUBLISH by packet id. The ack may already have arrived (the id is only
    /// known once the packet is sent), so early acks are remembered.
    /// </summary>
    public Task<bool> WaitForInputAck(ushort packetId)
    {
        lock (_inputAcks)
        {
            if (_earlyAcks.Remove(packetId))
            {
                return Task.FromResult(true);
            }

            var tcs = new TaskCompletionSource<bool>();
            _inputAcks[packetId] = tcs;
            return tcs.Task;
        }
    }

    public void InputAcknowledged(ushort packetId)
    {
        TaskCompletionSource<bool>? tcs;
        lock (_inputAcks)
        {
            if (!_inputAcks.Remove(packetId, out tcs))
            {
                _earlyAcks.Add(packetId);
                return;
            }
        }

        // Inline continuation on the broker's receive loop: the next delivery is queued without a thread-pool hop.
        tcs.TrySetResult(true);
    }

    /// <summary>The connection ended: every delivery waiting for a PUBACK fails (it stays in the store and is redelivered).</summary>
    public void FailInputAcks()
    {
        List<TaskCompletionSource<bool>> waiting;
        lock (_inputAcks)
        {
            waiting = [.. _inputAcks.Values];
            _inputAcks.Clear();
            _earlyAcks.Clear();
        }

        foreach (var t in waiting)
        {
            t.TrySetResult(false);
        }
    }

    public void ClearSubscriptions()
    {
        ModuleMessages = false;
        Methods = false;
        Desired = false;
        TwinResponses = false;
    }
}

/// <summary>
/// MQTT 3.1.1 over TLS on loopback (MQTTnet.Server) speaking edgeHub's protocol: SAS authentication, per-identity
/// publish/subscribe authorization, QoS 2 and oversize refusal (connection closed before any PUBACK, so the sender keeps the message).
/// </summary>
internal sealed class MqttBroker : IAsyncDisposable
{
    private const string IdentityKey = "edge.identity";

    // A client with this many PUBLISHes waiting for their commit is paced: the next one waits for its own commit.
    private const int MaxHeldAcks = 256;

    private readonly SimulatorOptions _options;
    private readonly CertificateAuthority _ca;
    private readonly ConnectAuthenticator _auth;
    private readonly HubCounters _counters;
    private readonly IBrokerHandler _handler;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, ClientState> _clients = new(StringComparer.Ordinal);
    private MqttServer? _server;

    public MqttBroker(SimulatorOptions options, CertificateAuthority ca, ConnectAuthenticator auth, HubCounters counters,
        IBrokerHandler handler, ILogger logger)
    {
        _options = options;
        _ca = ca;
        _auth = auth;
        _counters = counters;
        _handler = handler;
        _logger = logger;
    }

    public int Port { get; private set; }

    public async Task StartAsync(int port, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (port == 0)
        {
            port = FreePort();
        }

        var options = new MqttServerOptionsBuilder()
            .WithoutDefaultEndpoint()
            .WithEncryptedEndpoint()
            .WithEncryptedEndpointBoundIPAddress(IPAddress.Loopback)
            .WithEncryptedEndpointPort(port)
            .WithEncryptionCertificate(_ca.ServerCertificate)
            .WithEncryptionSslProtocol(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13)
            .WithPersistentSessions()
            .WithoutPacketFragmentation() // one write (one TLS record) per packet instead of fixed header and rest apart
            .Build();
        var server = new MqttServerFactory().CreateMqttServer(options);
        server.ValidatingConnectionAsync += ValidateAsync;
        server.ClientConnectedAsync += ConnectedAsync;
        server.ClientDisconnectedAsync += DisconnectedAsync;
        server.InterceptingSubscriptionAsync += InterceptSubscriptionAsync;
        server.ClientSubscribedTopicAsync += SubscribedAsync;
        server.ClientUnsubscribedTopicAsync += UnsubscribedAsync;
        server.InterceptingPublishAsync += InterceptPublishAsync;
        server.ClientAcknowledgedPublishPacketAsync += AcknowledgedAsync;
        server.InterceptingInboundPacketAsync += InboundPacketAsync;
        server.InterceptingOutboundPacketAsync += OutboundPacketAsync;
        await server.StartAsync().ConfigureAwait(false);
        _server = server;
        Port = port;
    }

    public async Task StopAsync()
    {
        var server = _server;
        _server = null;
        if (server is null)
        {
            return;
        }

        await server.StopAsync(new MqttServerStopOptions()).ConfigureAwait(false);
        server.Dispose();
        foreach (var c in _clients.Values)
        {
            c.Connected = false;
            c.Session = null;
            c.ClearSubscriptions();
            c.FailInputAcks();
            _handler.OnClientChanged(c.Identity);
        }
    }

    public IReadOnlyList<ClientStatus> GetClients() =>
        [.. _clients.Values.Where(c => c.Connected).OrderBy(c => c.Identity.ClientId, StringComparer.Ordinal)
            .Select(c => new ClientStatus(c.Identity.ClientId, c.ModuleMessages, c.Methods, c.Desired))];

    public ClientState? GetClient(string clientId) => _clients.TryGetValue(clientId, out var c) ? c : null;

    /// <summary>Sends a PUBLISH to one client only (twin responses, desired patches, method requests and inputs share filters across clients).</summary>
    public async Task<bool> DeliverAsync(string clientId, string topic, byte[] payload, MqttQualityOfServiceLevel qos, CancellationToken ct)
    {
        var server = _server;
        if (server is null || !_clients.TryGetValue(clientId, out var c) || !c.Connected)
        {
            return false;
        }

        var session = c.Session ??= await server.GetSessionAsync(clientId).ConfigureAwait(false);
        if (session is null)
        {
            return false;
        }

        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(qos).Build();
        await session.DeliverApplicationMessageAsync(message).WaitAsync(ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>Sends a QoS 1 module-input PUBLISH to one client; returns the packet id once it is on the wire, or null when the client is gone.</summary>
    public async Task<ushort?> DeliverInputAsync(ClientState c, string topic, byte[] payload, CancellationToken ct)
    {
        var server = _server;
        if (server is null || !c.Connected)
        {
            return null;
        }

        var session = c.Session ??= await server.GetSessionAsync(c.Identity.ClientId).ConfigureAwait(false);
        if (session is null)
        {
            return null;
        }

        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
        try
        {
            // A delivery queued on a session whose connection just died (kill -9) may never be sent: bound the wait, drop the
            // cached session and report "unavailable", so the dispatcher retries on the live connection (at-least-once).
            var result = await session.DeliverApplicationMessageAsync(message).WaitAsync(_options.MessageAckTimeout, ct).ConfigureAwait(false);
            return result.PacketIdentifier;
        }
        catch (TimeoutException)
        {
            c.Session = null;
            Log.DeliveryStalled(_logger, c.Identity.ClientId, _options.MessageAckTimeout);
            return null;
        }
        catch (MQTTnet.Exceptions.MqttCommunicationException ex)
        {
            // The connection broke while the packet was being written (the module crashed): the message stays stored.
            c.Session = null;
            Log.DeliveryConnectionLost(_logger, c.Identity.ClientId, ex.Message);
            return null;
        }
    }

    public async Task DisconnectAsync(string clientId, CancellationToken ct)
    {
        var server = _server;
        if (server is null)
        {
            return;
        }

        var clients = await server.GetClientsAsync().ConfigureAwait(false);
        var client = clients.FirstOrDefault(c => c.Id == clientId);
        if (client is not null)
        {
            await client.DisconnectAsync(new MqttServerClientDisconnectOptions { ReasonCode = MqttDisconnectReasonCode.AdministrativeAction })
                .WaitAsync(ct).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private static int FreePort()
    {
        using var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private Task ValidateAsync(ValidatingConnectionEventArgs e)
    {
        if (!_auth.TryAuthenticate(e.ClientId, e.UserName, e.Password, out var identity, out var reason))
        {
            _counters.Refused(reason);
            Log.ConnectRefused(_logger, e.ClientId, reason);
            e.ReasonCode = MqttConnectReasonCode.NotAuthorized;
            return Task.CompletedTask;
        }

        e.SessionItems[IdentityKey] = identity;
        var state = _clients.GetOrAdd(identity.ClientId, _ => new ClientState(identity));
        if (e.CleanSession != false)
        {
            state.ClearSubscriptions();
        }

        return Task.CompletedTask;
    }

    private async Task ConnectedAsync(ClientConnectedEventArgs e)
    {
        if (_clients.TryGetValue(e.ClientId, out var c))
        {
            c.Session = _server is { } server ? await server.GetSessionAsync(e.ClientId).ConfigureAwait(false) : null;
            c.Connected = true;
            Log.ClientConnected(_logger, e.ClientId);
            _handler.OnClientChanged(c.Identity);
        }
    }

    private Task DisconnectedAsync(ClientDisconnectedEventArgs e)
    {
        if (e.DisconnectType != MqttClientDisconnectType.Takeover && _clients.TryGetValue(e.ClientId, out var c))
        {
            c.Connected = false;
            c.Session = null;
            c.FailInputAcks();
            c.ClearHeldAcks();
            Log.ClientDisconnected(_logger, e.ClientId);
            _handler.OnClientChanged(c.Identity);
        }

        return Task.CompletedTask;
    }

    private static bool TryGetIdentity(System.Collections.IDictionary items, out ClientIdentity identity)
    {
        if (items[IdentityKey] is ClientIdentity id)
        {
            identity = id;
            return true;
        }

        identity = default;
        return false;
    }

    /// <summary>The filters an identity may subscribe to (edgeHub SessionStateParser): its own topics and the $iothub twin/method filters.</summary>
    internal static bool IsAllowedFilter(ClientIdentity id, string filter)
    {
        if (filter == "$iothub/twin/res/#" || filter.StartsWith("$iothub/twin/PATCH/properties/desired/", StringComparison.Ordinal) ||
            filter.StartsWith("$iothub/methods/POST/", StringComparison.Ordinal))
        {
            return true;
        }

        var own = id.ModuleId is null
            ? $"devices/{id.DeviceId}/messages/devicebound/"
            : $"devices/{id.DeviceId}/modules/{id.ModuleId}/";
        return filter.StartsWith(own, StringComparison.Ordinal);
    }

    private Task InterceptSubscriptionAsync(InterceptingSubscriptionEventArgs e)
    {
        if (!TryGetIdentity(e.SessionItems, out var id) || !IsAllowedFilter(id, e.TopicFilter.Topic))
        {
            _counters.Refused("subscribe-not-authorized");
            Log.SubscribeRefused(_logger, e.ClientId, e.TopicFilter.Topic, "not this client's topic");
            e.ProcessSubscription = false;
            e.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
            return Task.CompletedTask;
        }

        if (e.TopicFilter.QualityOfServiceLevel == MqttQualityOfServiceLevel.ExactlyOnce)
        {
            // PG grants QoS 1 for a QoS 2 subscription.
            e.TopicFilter.QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce;
            e.Response.ReasonCode = MqttSubscribeReasonCode.GrantedQoS1;
        }

        return Task.CompletedTask;
    }

    private Task SubscribedAsync(ClientSubscribedTopicEventArgs e) => SetSubscription(e.ClientId, e.TopicFilter.Topic, true);

    private Task UnsubscribedAsync(ClientUnsubscribedTopicEventArgs e) => SetSubscription(e.ClientId, e.TopicFilter, false);

    private Task SetSubscription(string clientId, string filter, bool on)
    {
        if (!_clients.TryGetValue(clientId, out var c))
        {
            return Task.CompletedTask;
        }

        var id = c.Identity;
        if (filter == "$iothub/twin/res/#")
        {
            c.TwinResponses = on;
        }
        else if (filter.StartsWith("$iothub/twin/PATCH/properties/desired/", StringComparison.Ordinal))
        {
            c.Desired = on;
        }
        else if (filter.StartsWith("$iothub/methods/POST/", StringComparison.Ordinal))
        {
            c.Methods = on;
        }
        else if (id.ModuleId is not null && filter == $"devices/{id.DeviceId}/modules/{id.ModuleId}/#")
        {
            // edgeHub: ^devices/.+/modules/.+/#$ is the module-messages subscription.
            c.ModuleMessages = on;
        }

        _handler.OnClientChanged(id);
        return Task.CompletedTask;
    }

    private Task AcknowledgedAsync(ClientAcknowledgedPublishPacketEventArgs e)
    {
        if (_clients.TryGetValue(e.ClientId, out var c) && c.Identity.ModuleId is { } module &&
            e.PublishPacket.Topic.StartsWith($"devices/{c.Identity.DeviceId}/modules/{module}/inputs/", StringComparison.Ordinal))
        {
            c.InputAcknowledged(e.PublishPacket.PacketIdentifier);
        }

        return Task.CompletedTask;
    }

    private Task InboundPacketAsync(InterceptingPacketEventArgs e)
    {
        if (e.Packet is MqttPublishPacket { QualityOfServiceLevel: MqttQualityOfServiceLevel.AtLeastOnce } publish &&
            _clients.TryGetValue(e.ClientId, out var c))
        {
            c.InboundPacketId = publish.PacketIdentifier;
        }

        return Task.CompletedTask;
    }

    /// <summary>A PUBACK to a publisher goes out only once the message is stored; if storing failed, none goes out and the connection closes.</summary>
    private Task OutboundPacketAsync(InterceptingPacketEventArgs e)
    {
        if (e.Packet is not MqttPubAckPacket ack || !_clients.TryGetValue(e.ClientId, out var c) || c.TakeHeldAck(ack.PacketIdentifier) is not { } stored ||
            stored.IsCompletedSuccessfully)
        {
            return Task.CompletedTask;
        }

        return WaitStoredAsync(e, stored);
    }

    private async Task WaitStoredAsync(InterceptingPacketEventArgs e, Task stored)
    {
        try
        {
            await stored.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            e.ProcessPacket = false;
            Log.StoreFailed(_logger, e.ClientId, ex);
            _ = CloseAsync(e.ClientId);
        }
    }

    private async Task CloseAsync(string clientId)
    {
        try
        {
            await DisconnectAsync(clientId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.StoreFailed(_logger, clientId, ex);
        }
    }

    private void Refuse(InterceptingPublishEventArgs e, string reason)
    {
        _counters.Refused(reason);
        Log.PublishRefused(_logger, e.ClientId, e.ApplicationMessage.Topic, reason);
        e.ProcessPublish = false;
        e.CloseConnection = true;
    }

    private async Task InterceptPublishAsync(InterceptingPublishEventArgs e)
    {
        // The hub never fans client publishes out itself: everything goes through routing, twins or methods.
        e.ProcessPublish = false;
        if (!TryGetIdentity(e.SessionItems, out var id))
        {
            Refuse(e, "unauthenticated");
            return;
        }

        var message = e.ApplicationMessage;
        if (message.QualityOfServiceLevel == MqttQualityOfServiceLevel.ExactlyOnce)
        {
            Refuse(e, "qos2");
            return;
        }

        var topic = message.Topic;
        if (topic.StartsWith("devices/", StringComparison.Ordinal))
        {
            if (!TopicParser.TryParseTelemetry(topic, out var parsed, out var badBag))
            {
                if (badBag)
                {
                    Refuse(e, "malformed-property-bag");
                    return;
                }

                _counters.Dropped("unknown-topic");
                Log.UnknownTopic(_logger, e.ClientId, topic);
                return;
            }

            if (!string.Equals(parsed!.DeviceId, id.DeviceId, StringComparison.Ordinal) ||
                !string.Equals(parsed.ModuleId, id.ModuleId, StringComparison.Ordinal))
            {
                Refuse(e, "publish-as-other");
                return;
            }

            var size = message.Payload.Length;
            foreach (var (k, v) in parsed.Properties)
            {
                size += k.Length + (v?.Length ?? 0);
            }

            // edgeHub also counts the system properties it adds (connection ids, enqueued time, message id).
            size += 64 + id.DeviceId.Length + (id.ModuleId?.Length ?? 0);
            if (size > _options.MaxMessageBytes)
            {
                Refuse(e, "oversize");
                return;
            }

            var stored = _handler.OnTelemetryAsync(id, parsed, message, e.CancellationToken);
            if (!stored.IsCompleted && message.QualityOfServiceLevel == MqttQualityOfServiceLevel.AtLeastOnce &&
                _clients.TryGetValue(e.ClientId, out var state) && state.InboundPacketId is >= 0 and var packetId && state.Storing < MaxHeldAcks)
            {
                // Pipelined: the receive loop goes on with the next PUBLISH (whose rows can share the commit) while the PUBACK of
                // this one is held back in the send path until its rows are committed (OutboundPacketAsync).
                state.HoldAck((ushort)packetId, stored);
                return;
            }

            await stored.ConfigureAwait(false);
            return;
        }

        if (topic.StartsWith("$iothub/twin/GET/", StringComparison.Ordinal))
        {
            var rid = TopicParser.QueryValue(topic, "$rid");
            if (string.IsNullOrEmpty(rid))
            {
                _counters.Dropped("twin-request-without-rid");
                Log.TwinRequestRejected(_logger, e.ClientId, topic, 400, "missing $rid");
                return;
            }

            await _handler.OnTwinGetAsync(id, rid, e.CancellationToken).ConfigureAwait(false);
            return;
        }

        if (topic.StartsWith("$iothub/twin/PATCH/properties/reported/", StringComparison.Ordinal))
        {
            var rid = TopicParser.QueryValue(topic, "$rid");
            if (string.IsNullOrEmpty(rid))
            {
                _counters.Dropped("twin-request-without-rid");
                Log.TwinRequestRejected(_logger, e.ClientId, topic, 400, "missing $rid");
                return;
            }

            await _handler.OnReportedPatchAsync(id, rid, message.Payload.ToArray(), e.CancellationToken).ConfigureAwait(false);
            return;
        }

        if (topic.StartsWith("$iothub/methods/res/", StringComparison.Ordinal))
        {
            var parts = topic.Split('/');
            var rid = TopicParser.QueryValue(topic, "$rid");
            if (parts.Length >= 4 && int.TryParse(parts[3], out var status) && !string.IsNullOrEmpty(rid))
            {
                _handler.OnMethodResponse(id, status, rid, message.Payload.ToArray());
                return;
            }
        }

        _counters.Dropped("unknown-topic");
        Log.UnknownTopic(_logger, e.ClientId, topic);
    }
}
