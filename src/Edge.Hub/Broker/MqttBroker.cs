using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Edge.Hub.Security;
using Edge.Runtime.Mqtt;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Broker;

/// <summary>What the broker hands to the hub after authentication and authorization.</summary>
internal interface IBrokerHandler
{
    /// <summary>
    /// Routes and stores a telemetry message (the hub owns <paramref name="payload"/>); the task completes when it is stored, and the
    /// PUBACK is sent only after that.
    /// </summary>
    Task OnTelemetryAsync(ClientIdentity sender, TelemetryTopic topic, byte[] payload, bool retain, CancellationToken ct);

    Task OnTwinGetAsync(ClientIdentity sender, string rid, CancellationToken ct);

    Task OnReportedPatchAsync(ClientIdentity sender, string rid, byte[] payload, CancellationToken ct);

    void OnMethodResponse(ClientIdentity sender, int status, string rid, byte[] payload);

    /// <summary>A client connected, disconnected or (un)subscribed: dispatchers waiting for it re-check.</summary>
    void OnClientChanged(ClientIdentity identity);
}

/// <summary>Per-identity connection and subscription state (kept across connections: the session of a CleanSession=0 client).</summary>
internal sealed class ClientState(ClientIdentity identity)
{
    public ClientIdentity Identity { get; } = identity;

    public volatile bool Connected;
    public volatile bool ModuleMessages;
    public volatile bool Methods;
    public volatile bool Desired;
    public volatile bool TwinResponses;

    // QoS 1 PUBLISHes sent to this identity and not yet acknowledged, by packet id. Ids are allocated per identity, not per
    // connection, so an id of a connection that was taken over never matches an ack on the next one.
    private readonly Lock _lock = new();
    private readonly Dictionary<ushort, Outbound> _outbound = [];
    private ushort _lastPacketId;

    /// <summary>The live connection of this identity (null when none); changed under <see cref="Gate"/>.</summary>
    internal MqttConnection? Connection { get; set; }

    /// <summary>Whether a CleanSession=0 connection left a session behind (CONNACK session-present of the next one).</summary>
    internal bool HasSession { get; set; }

    internal Lock Gate { get; } = new();

    /// <summary>
    /// The outcome of the module-input PUBLISH sent as <paramref name="packetId"/>: true when the client acknowledged it, false when
    /// its connection ended first (the message stays stored and is delivered again).
    /// </summary>
    public Task<bool> WaitForInputAck(ushort packetId)
    {
        lock (_lock)
        {
            if (!_outbound.TryGetValue(packetId, out var o) || o.Ack is null)
            {
                // Its connection ended (and failed it) before anyone asked.
                return Task.FromResult(false);
            }

            if (o.Ack.Task.IsCompleted)
            {
                _outbound.Remove(packetId);
            }
            else
            {
                o.Waited = true;
            }

            return o.Ack.Task;
        }
    }

    public void ClearSubscriptions()
    {
        ModuleMessages = false;
        Methods = false;
        Desired = false;
        TwinResponses = false;
    }

    /// <summary>Allocates a packet id for a QoS 1 PUBLISH on <paramref name="connection"/>; false when the connection is closed.</summary>
    internal bool TryRegister(MqttConnection connection, bool input, out ushort packetId)
    {
        packetId = 0;
        lock (_lock)
        {
            if (connection.IsClosed || _outbound.Count >= ushort.MaxValue - 1)
            {
                return false;
            }

            do
            {
                packetId = ++_lastPacketId;
            }
            while (packetId == 0 || _outbound.ContainsKey(packetId));

            _outbound[packetId] = new Outbound(connection, input ? new TaskCompletionSource<bool>() : null);
            return true;
        }
    }

    /// <summary>A PUBACK arrived on <paramref name="connection"/>: completes the waiting delivery inline (no scheduler hop).</summary>
    internal void Acknowledged(MqttConnection connection, ushort packetId)
    {
        TaskCompletionSource<bool>? ack;
        lock (_lock)
        {
            if (!_outbound.TryGetValue(packetId, out var o) || o.Connection != connection)
            {
                return;
            }

            ack = o.Ack;
            if (ack is null || o.Waited)
            {
                _outbound.Remove(packetId);
            }
        }

        // Inline continuation on the connection's read loop: the dispatcher queues its next delivery from here.
        ack?.TrySetResult(true);
    }

    /// <summary>The connection ended: every delivery it was carrying fails (it stays in the store and is redelivered).</summary>
    internal void Closed(MqttConnection connection)
    {
        List<TaskCompletionSource<bool>>? failed = null;
        lock (_lock)
        {
            foreach (var (id, o) in _outbound)
            {
                if (o.Connection == connection)
                {
                    _outbound.Remove(id);
                    if (o.Ack is not null)
                    {
                        (failed ??= []).Add(o.Ack);
                    }
                }
            }
        }

        if (failed is not null)
        {
            foreach (var t in failed)
            {
                t.TrySetResult(false);
            }
        }
    }

    private sealed class Outbound(MqttConnection connection, TaskCompletionSource<bool>? ack)
    {
        public MqttConnection Connection { get; } = connection;

        public TaskCompletionSource<bool>? Ack { get; } = ack;

        public bool Waited { get; set; }
    }
}

/// <summary>
/// The hub's MQTT 3.1.1 server over TLS on loopback, speaking edgeHub's protocol: SAS authentication, per-identity publish/subscribe
/// authorization, QoS 2 and oversize refusal (connection closed before any PUBACK, so the sender keeps the message), PUBACK of a
/// telemetry PUBLISH only once it is stored. One <see cref="MqttConnection"/> per socket: a read loop that parses packets from a
/// pooled buffer and a single writer that coalesces queued packets into one TLS write.
/// </summary>
internal sealed class MqttBroker : IAsyncDisposable
{
    private readonly SimulatorOptions _options;
    private readonly CertificateAuthority _ca;
    private readonly ConnectAuthenticator _auth;
    private readonly ConcurrentDictionary<string, ClientState> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<MqttConnection, bool> _connections = new();
    private Socket? _listener;
    private CancellationTokenSource? _stopping;
    private Task? _acceptLoop;
    private long _connectionIds;

    public MqttBroker(SimulatorOptions options, CertificateAuthority ca, ConnectAuthenticator auth, HubCounters counters,
        IBrokerHandler handler, TimeProvider time, ILogger logger)
    {
        _options = options;
        _ca = ca;
        _auth = auth;
        Counters = counters;
        Handler = handler;
        Time = time;
        Logger = logger;

        // Body plus properties may reach MaxMessageBytes (refused after parsing, counted as oversize); a topic adds up to 64 KB.
        MaxPacketBytes = options.MaxMessageBytes + ushort.MaxValue + 16;
    }

    public int Port { get; private set; }

    internal SimulatorOptions Options => _options;

    internal HubCounters Counters { get; }

    internal IBrokerHandler Handler { get; }

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal ConnectAuthenticator Authenticator => _auth;

    /// <summary>The largest remaining length accepted before the connection is closed unread.</summary>
    internal int MaxPacketBytes { get; }

    internal SslServerAuthenticationOptions? SslOptions { get; private set; }

    public Task StartAsync(int port, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        SslOptions ??= new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(_ca.ServerCertificate, additionalCertificates: null, offline: true),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,
        };
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
            listener.Listen(128);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        _listener = listener;
        _stopping = new CancellationTokenSource();
        _acceptLoop = AcceptLoopAsync(listener, _stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync()
    {
        var listener = _listener;
        var stopping = _stopping;
        var acceptLoop = _acceptLoop;
        _listener = null;
        _stopping = null;
        _acceptLoop = null;
        if (listener is null)
        {
            return;
        }

        await stopping!.CancelAsync().ConfigureAwait(false);
        listener.Dispose();
        await acceptLoop!.ConfigureAwait(false);
        stopping.Dispose();
        var closing = _connections.Keys.ToList();
        foreach (var c in closing)
        {
            c.Abort("hub stopping");
        }

        await Task.WhenAll(closing.Select(c => c.Completion)).ConfigureAwait(false);

        // A stopped broker keeps no sessions: after a restart every client subscribes again.
        foreach (var c in _clients.Values)
        {
            lock (c.Gate)
            {
                c.Connected = false;
                c.HasSession = false;
                c.ClearSubscriptions();
            }

            Handler.OnClientChanged(c.Identity);
        }
    }

    public IReadOnlyList<ClientStatus> GetClients() =>
        [.. _clients.Values.Where(c => c.Connected).OrderBy(c => c.Identity.ClientId, StringComparer.Ordinal)
            .Select(c => new ClientStatus(c.Identity.ClientId, c.ModuleMessages, c.Methods, c.Desired))];

    public ClientState? GetClient(string clientId) => _clients.TryGetValue(clientId, out var c) ? c : null;

    /// <summary>Sends a PUBLISH to one client only (twin responses, desired patches, method requests and inputs share filters across clients).</summary>
    public Task<bool> DeliverAsync(string clientId, string topic, byte[] payload, MqttQos qos, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled<bool>(ct);
        }

        if (!_clients.TryGetValue(clientId, out var c) || c.Connection is not { } connection || !c.Connected)
        {
            return Task.FromResult(false);
        }

        ushort packetId = 0;
        if (qos == MqttQos.AtLeastOnce && !c.TryRegister(connection, input: false, out packetId))
        {
            return Task.FromResult(false);
        }

        return Task.FromResult(connection.SendPublish(topic, payload, qos, packetId));
    }

    /// <summary>
    /// Queues a QoS 1 module-input PUBLISH on the client's connection; returns its packet id (wait for the PUBACK with
    /// <see cref="ClientState.WaitForInputAck"/>), or null when the client is gone.
    /// </summary>
    public ValueTask<ushort?> DeliverInputAsync(ClientState c, string topic, byte[] payload, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<ushort?>(ct);
        }

        if (c.Connection is not { } connection || !c.Connected || !c.TryRegister(connection, input: true, out var packetId))
        {
            return new ValueTask<ushort?>((ushort?)null);
        }

        // A connection that closes after the registration fails it, so the dispatcher's wait ends with "unavailable".
        return connection.SendPublish(topic, payload, MqttQos.AtLeastOnce, packetId)
            ? new ValueTask<ushort?>(packetId)
            : new ValueTask<ushort?>((ushort?)null);
    }

    /// <summary>Drops a client's connection (MQTT 3.1.1 has no server DISCONNECT); completes once its state is cleaned up.</summary>
    public async Task DisconnectAsync(string clientId, CancellationToken ct)
    {
        if (_clients.TryGetValue(clientId, out var c) && c.Connection is { } connection)
        {
            connection.Abort("disconnected by the hub");
            await connection.Completion.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

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

    /// <summary>
    /// A CONNECT was authenticated: the connection becomes the identity's live one. An earlier connection of the same identity is
    /// closed (edgeHub: one connection per identity). Returns the state and whether a session was present.
    /// </summary>
    internal ClientState Attach(MqttConnection connection, ClientIdentity identity, bool cleanSession, out bool sessionPresent)
    {
        var state = _clients.GetOrAdd(identity.ClientId, _ => new ClientState(identity));
        MqttConnection? previous;
        lock (state.Gate)
        {
            previous = state.Connection;
            state.Connection = connection;
            sessionPresent = !cleanSession && state.HasSession;

            // Nothing goes out on the new connection before its CONNACK (Connected is set again once it is queued).
            state.Connected = false;
            state.HasSession = !cleanSession;
            if (cleanSession || !sessionPresent)
            {
                state.ClearSubscriptions();
            }
        }

        if (previous is not null)
        {
            BrokerLog.TakenOver(Logger, identity.ClientId);
            previous.Abort("taken over by a new connection");
            state.Closed(previous);
        }

        return state;
    }

    /// <summary>The CONNACK of an attached connection is queued: deliveries may start.</summary>
    internal void Connected(MqttConnection connection, ClientState state)
    {
        lock (state.Gate)
        {
            if (state.Connection != connection)
            {
                // Taken over already: the newer connection announces itself.
                return;
            }

            state.Connected = true;
        }

        Log.ClientConnected(Logger, state.Identity.ClientId);
        Handler.OnClientChanged(state.Identity);
    }

    /// <summary>A connection's loops ended; if it was its identity's live connection, the identity is disconnected.</summary>
    internal void Detach(MqttConnection connection, ClientState? state)
    {
        _connections.TryRemove(connection, out _);
        if (state is null)
        {
            return;
        }

        bool current;
        lock (state.Gate)
        {
            current = state.Connection == connection;
            if (current)
            {
                state.Connection = null;
                state.Connected = false;
            }
        }

        state.Closed(connection);
        if (current)
        {
            Log.ClientDisconnected(Logger, state.Identity.ClientId);
            Handler.OnClientChanged(state.Identity);
        }
    }

    internal void SetSubscription(ClientState c, string filter, bool on)
    {
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

        Handler.OnClientChanged(id);
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException ||
                                       (ex is SocketException && ct.IsCancellationRequested))
            {
                return;
            }
            catch (SocketException)
            {
                // The peer reset before the accept completed: nothing to serve.
                continue;
            }

            socket.NoDelay = true;
            var connection = new MqttConnection(this, socket, Interlocked.Increment(ref _connectionIds));
            _connections[connection] = true;
            connection.Start();
        }
    }
}
