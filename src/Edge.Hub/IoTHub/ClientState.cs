using Edge.Hub.Heads;
using Edge.Hub.Security;

namespace Edge.Hub.IoTHub;

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

    /// <summary>The live connection of this identity, whichever head it came through (null when none); changed under <see cref="Gate"/>.</summary>
    internal IClientLink? Link { get; set; }

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
    internal bool TryRegister(IClientLink connection, bool input, out ushort packetId)
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
    internal void Acknowledged(IClientLink connection, ushort packetId)
    {
        TaskCompletionSource<bool>? ack;
        lock (_lock)
        {
            if (!_outbound.TryGetValue(packetId, out var o) || o.Link != connection)
            {
                return;
            }

            ack = o.Ack;
            if (ack is null || o.Waited)
            {
                _outbound.Remove(packetId);
            }
        }

        // Inline continuation on the connection's read loop: the endpoint executor queues its next delivery from here.
        ack?.TrySetResult(true);
    }

    /// <summary>The connection ended: every delivery it was carrying fails (it stays in the store and is redelivered).</summary>
    internal void Closed(IClientLink connection)
    {
        List<TaskCompletionSource<bool>>? failed = null;
        lock (_lock)
        {
            foreach (var (id, o) in _outbound)
            {
                if (o.Link == connection)
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

    private sealed class Outbound(IClientLink connection, TaskCompletionSource<bool>? ack)
    {
        public IClientLink Link { get; } = connection;

        public TaskCompletionSource<bool>? Ack { get; } = ack;

        public bool Waited { get; set; }
    }
}
