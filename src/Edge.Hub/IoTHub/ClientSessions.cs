using System.Collections.Concurrent;
using Edge.Hub.Heads;
using Edge.Hub.Security;
using Edge.Protocol.Mqtt;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.IoTHub;

/// <summary>
/// The hub's client sessions, whatever head a client came through (edgeHub: <c>ConnectionManager</c>): one
/// <see cref="ClientState"/> per identity, its live connection, its subscriptions, and sending to one client. Heads change it
/// through <see cref="IoTHubProtocol"/>; endpoints, twins and methods read it to deliver.
/// </summary>
internal sealed class ClientSessions(ILogger logger)
{
    private readonly ConcurrentDictionary<string, ClientState> _clients = new(StringComparer.Ordinal);

    public IReadOnlyList<ClientStatus> GetClients() =>
        [.. _clients.Values.Where(c => c.Connected).OrderBy(c => c.Identity.ClientId, StringComparer.Ordinal)
            .Select(c => new ClientStatus(c.Identity.ClientId, c.ModuleMessages, c.Methods, c.Desired))];

    public ClientState? Get(string clientId) => _clients.TryGetValue(clientId, out var c) ? c : null;

    /// <summary>Sends a message to one client only (twin responses, desired patches, method requests share filters across clients).</summary>
    public Task<bool> SendAsync(string clientId, string topic, byte[] payload, MqttQos qos, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled<bool>(ct);
        }

        if (!_clients.TryGetValue(clientId, out var c) || c.Link is not { } link || !c.Connected)
        {
            return Task.FromResult(false);
        }

        ushort packetId = 0;
        if (qos == MqttQos.AtLeastOnce && !c.TryRegister(link, input: false, out packetId))
        {
            return Task.FromResult(false);
        }

        return Task.FromResult(link.Send(topic, payload, qos, packetId));
    }

    /// <summary>
    /// Queues an at-least-once module-input message on the client's connection; returns its packet id (wait for the
    /// acknowledgement with <see cref="ClientState.WaitForInputAck"/>), or null when the client is gone.
    /// </summary>
    public ValueTask<ushort?> SendInputAsync(ClientState c, string topic, byte[] payload, CancellationToken ct)
    {
        if (ct.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<ushort?>(ct);
        }

        if (c.Link is not { } link || !c.Connected || !c.TryRegister(link, input: true, out var packetId))
        {
            return new ValueTask<ushort?>((ushort?)null);
        }

        // A connection that closes after the registration fails it, so the executor's wait ends with "unavailable".
        return link.Send(topic, payload, MqttQos.AtLeastOnce, packetId)
            ? new ValueTask<ushort?>(packetId)
            : new ValueTask<ushort?>((ushort?)null);
    }

    /// <summary>Drops a client's connection; completes once its state is cleaned up.</summary>
    public async Task DisconnectAsync(string clientId, CancellationToken ct)
    {
        if (_clients.TryGetValue(clientId, out var c) && c.Link is { } link)
        {
            link.Abort("disconnected by the hub");
            await link.Completion.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// An authenticated connection becomes the identity's live one. An earlier connection of the same identity is closed
    /// (edgeHub: one connection per identity). Returns the state and whether a session was present.
    /// </summary>
    public ClientState Attach(IClientLink link, ClientIdentity identity, bool cleanSession, out bool sessionPresent)
    {
        var state = _clients.GetOrAdd(identity.ClientId, _ => new ClientState(identity));
        IClientLink? previous;
        lock (state.Gate)
        {
            previous = state.Link;
            state.Link = link;
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
            Log.TakenOver(logger, identity.ClientId);
            previous.Abort("taken over by a new connection");
            state.Closed(previous);
        }

        return state;
    }

    /// <summary>The connection's acceptance is queued: deliveries may start. False when a newer connection took over already.</summary>
    public bool Connected(IClientLink link, ClientState state)
    {
        lock (state.Gate)
        {
            if (state.Link != link)
            {
                // Taken over already: the newer connection announces itself.
                return false;
            }

            state.Connected = true;
        }

        Log.ClientConnected(logger, state.Identity.ClientId);
        return true;
    }

    /// <summary>A connection ended; true when it was its identity's live connection (the identity is now disconnected).</summary>
    public bool Detach(IClientLink link, ClientState state)
    {
        bool current;
        lock (state.Gate)
        {
            current = state.Link == link;
            if (current)
            {
                state.Link = null;
                state.Connected = false;
            }
        }

        state.Closed(link);
        if (current)
        {
            Log.ClientDisconnected(logger, state.Identity.ClientId);
        }

        return current;
    }

    /// <summary>Every head stopped: no sessions are kept (after a restart every client subscribes again). Returns the identities.</summary>
    public IReadOnlyList<ClientIdentity> Reset()
    {
        var reset = new List<ClientIdentity>();
        foreach (var c in _clients.Values)
        {
            lock (c.Gate)
            {
                c.Connected = false;
                c.HasSession = false;
                c.ClearSubscriptions();
            }

            reset.Add(c.Identity);
        }

        return reset;
    }
}
