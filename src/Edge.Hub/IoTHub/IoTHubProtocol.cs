using System.Globalization;
using Edge.Routing;
using Edge.Hub.Heads;
using Edge.Hub.Methods;
using Edge.Hub.Routing;
using Edge.Hub.Security;
using Edge.Hub.Twins;
using Edge.Protocol;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.IoTHub;

/// <summary>What the IoT Hub layer made of a message a client published; the head acknowledges (or not) accordingly.</summary>
internal readonly struct Inbound
{
    private Inbound(InboundKind kind, Task completion, string? reason)
    {
        Kind = kind;
        Completion = completion;
        Reason = reason;
    }

    public InboundKind Kind { get; }

    /// <summary>For <see cref="InboundKind.Stored"/> and <see cref="InboundKind.Handled"/>: completes when it is stored or handled.</summary>
    public Task Completion { get; }

    /// <summary>For <see cref="InboundKind.Refused"/>: why (the counter's reason).</summary>
    public string? Reason { get; }

    /// <summary>Acknowledge now (handled at once, or dropped and counted).</summary>
    public static Inbound Accepted { get; } = new(InboundKind.Accepted, Task.CompletedTask, null);

    /// <summary>Telemetry being stored: acknowledge once <paramref name="stored"/> completes; later messages need not wait for it.</summary>
    public static Inbound Stored(Task stored) => new(InboundKind.Stored, stored, null);

    /// <summary>A twin request being handled: wait for <paramref name="handled"/>, then acknowledge.</summary>
    public static Inbound Handled(Task handled) => new(InboundKind.Handled, handled, null);

    /// <summary>Refused the way edgeHub refuses: close the connection before any acknowledgement of it (the sender keeps it).</summary>
    public static Inbound Refused(string reason) => new(InboundKind.Refused, Task.CompletedTask, reason);
}

internal enum InboundKind
{
    Accepted,
    Stored,
    Handled,
    Refused,
}

/// <summary>
/// IoT Hub's protocol rules between the protocol heads and the hub (edgeHub: the device proxy, <c>DeviceListener</c> and
/// the MQTT head's topic templates): who may connect (SAS, identity), what each identity may publish and subscribe to (its
/// own topics and the twin/method topics), the message size limit, and turning a published message into a
/// <see cref="RoutingMessage"/> for the router, a twin request or a method response. Heads call it for every client event.
/// </summary>
internal sealed class IoTHubProtocol(
    SimulatorOptions options,
    ConnectAuthenticator authenticator,
    ClientSessions sessions,
    Router router,
    TwinService twins,
    MethodService methods,
    EndpointExecutors executors,
    HubCounters counters,
    TimeProvider time,
    ILogger logger)
{
    /// <summary>
    /// The largest packet body a head reads before closing the connection: a message of <see cref="SimulatorOptions.MaxMessageBytes"/>
    /// with its properties (refused after parsing, counted as oversize) plus a topic of up to 64 KB.
    /// </summary>
    public int MaxPacketBytes { get; } = options.MaxMessageBytes + ushort.MaxValue + 16;

    /// <summary>Checks a connection's credentials; counts and logs a refusal.</summary>
    public bool TryAuthenticate(string clientId, string? username, string? password, out ClientIdentity identity, out string reason)
    {
        if (authenticator.TryAuthenticate(clientId, username, password, out identity, out reason))
        {
            return true;
        }

        counters.Refused(reason);
        Log.ConnectRefused(logger, clientId, reason);
        return false;
    }

    /// <summary>An authenticated connection becomes the identity's live one (see <see cref="ClientSessions.Attach"/>).</summary>
    public ClientState Attach(IClientLink link, ClientIdentity identity, bool cleanSession, out bool sessionPresent) =>
        sessions.Attach(link, identity, cleanSession, out sessionPresent);

    /// <summary>The head queued the connection's acceptance: deliveries to it may start.</summary>
    public void Connected(IClientLink link, ClientState state)
    {
        if (sessions.Connected(link, state))
        {
            Changed(state.Identity);
        }
    }

    /// <summary>A connection ended (<paramref name="state"/> null when it never authenticated).</summary>
    public void Detached(IClientLink link, ClientState? state)
    {
        if (state is not null && sessions.Detach(link, state))
        {
            Changed(state.Identity);
        }
    }

    /// <summary>A head stopped: sessions are forgotten and every executor waiting for a client re-checks.</summary>
    public void HeadStopped()
    {
        foreach (var identity in sessions.Reset())
        {
            Changed(identity);
        }
    }

    /// <summary>Whether <paramref name="state"/>'s identity may subscribe to <paramref name="filter"/>; a refusal is counted and logged.</summary>
    public bool MaySubscribe(ClientState state, string filter)
    {
        if (IsAllowedFilter(state.Identity, filter))
        {
            return true;
        }

        counters.Refused("subscribe-not-authorized");
        Log.SubscribeRefused(logger, state.Identity.ClientId, filter, "not this client's topic");
        return false;
    }

    /// <summary>The head acknowledged a subscription (or an unsubscription): the matching deliveries start (or stop).</summary>
    public void SetSubscription(ClientState c, string filter, bool on)
    {
        var id = c.Identity;
        if (filter == IoTHubTopics.TwinResponses)
        {
            c.TwinResponses = on;
        }
        else if (filter.StartsWith(IoTHubTopics.DesiredPatchPrefix, StringComparison.Ordinal))
        {
            c.Desired = on;
        }
        else if (filter.StartsWith(IoTHubTopics.MethodPrefix, StringComparison.Ordinal))
        {
            c.Methods = on;
        }
        else if (id.ModuleId is not null && filter == IoTHubTopics.ModuleMessages(id.DeviceId, id.ModuleId))
        {
            c.ModuleMessages = on;
        }

        Changed(id);
    }

    /// <summary>The filters an identity may subscribe to (edgeHub <c>SessionStateParser</c>): its own topics and the twin/method filters.</summary>
    internal static bool IsAllowedFilter(ClientIdentity id, string filter)
    {
        if (filter == IoTHubTopics.TwinResponses || filter.StartsWith(IoTHubTopics.DesiredPatchPrefix, StringComparison.Ordinal) ||
            filter.StartsWith(IoTHubTopics.MethodPrefix, StringComparison.Ordinal))
        {
            return true;
        }

        var own = id.ModuleId is null
            ? $"devices/{id.DeviceId}/messages/devicebound/"
            : $"devices/{id.DeviceId}/modules/{id.ModuleId}/";
        return filter.StartsWith(own, StringComparison.Ordinal);
    }

    /// <summary>Refuses a message for a reason the head found (e.g. a delivery guarantee IoT Hub does not offer): counted and logged.</summary>
    public Inbound Refuse(ClientState state, string topic, string reason)
    {
        counters.Refused(reason);
        Log.PublishRefused(logger, state.Identity.ClientId, topic, reason);
        return Inbound.Refused(reason);
    }

    /// <summary>
    /// Applies IoT Hub's rules to a published message. <paramref name="payload"/> is valid only during the call (it is copied
    /// when kept); <paramref name="ct"/> ends with the connection.
    /// </summary>
    public Inbound Publish(ClientState state, string topic, ReadOnlySpan<byte> payload, bool retain, CancellationToken ct)
    {
        var id = state.Identity;
        if (topic.StartsWith("devices/", StringComparison.Ordinal))
        {
            if (!IoTHubTopics.TryParseTelemetry(topic, out var parsed, out var badBag))
            {
                return badBag ? Refuse(state, topic, "malformed-property-bag") : Drop(state, topic);
            }

            if (!string.Equals(parsed!.DeviceId, id.DeviceId, StringComparison.Ordinal) ||
                !string.Equals(parsed.ModuleId, id.ModuleId, StringComparison.Ordinal))
            {
                return Refuse(state, topic, "publish-as-other");
            }

            var size = payload.Length;
            foreach (var (k, v) in parsed.Properties)
            {
                size += k.Length + (v?.Length ?? 0);
            }

            // edgeHub also counts the system properties it adds (connection ids, enqueued time, message id).
            size += 64 + id.DeviceId.Length + (id.ModuleId?.Length ?? 0);
            if (size > options.MaxMessageBytes)
            {
                return Refuse(state, topic, "oversize");
            }

            counters.MessageReceived();
            return Inbound.Stored(router.RouteAsync(ToRoutingMessage(id, parsed, payload.ToArray(), retain), ct));
        }

        if (topic.StartsWith(IoTHubTopics.TwinGetPrefix, StringComparison.Ordinal))
        {
            var rid = IoTHubTopics.QueryValue(topic, "$rid");
            return string.IsNullOrEmpty(rid) ? RejectTwinRequest(state, topic) : Inbound.Handled(twins.GetAsync(id, rid, ct));
        }

        if (topic.StartsWith(IoTHubTopics.ReportedPatchPrefix, StringComparison.Ordinal))
        {
            var rid = IoTHubTopics.QueryValue(topic, "$rid");
            return string.IsNullOrEmpty(rid)
                ? RejectTwinRequest(state, topic)
                : Inbound.Handled(twins.PatchReportedAsync(id, rid, payload.ToArray(), ct));
        }

        if (topic.StartsWith(IoTHubTopics.MethodResponsePrefix, StringComparison.Ordinal))
        {
            var parts = topic.Split('/');
            var rid = IoTHubTopics.QueryValue(topic, "$rid");
            if (parts.Length >= 4 && int.TryParse(parts[3], out var status) && !string.IsNullOrEmpty(rid))
            {
                methods.OnResponse(id, status, rid, payload.ToArray());
                return Inbound.Accepted;
            }
        }

        return Drop(state, topic);
    }

    /// <summary>The message as edgeHub routes it: application properties, mapped system properties, connection ids, enqueued time, source.</summary>
    private RoutingMessage ToRoutingMessage(ClientIdentity sender, TelemetryTopic topic, byte[] payload, bool retain)
    {
        var props = new Dictionary<string, string>(StringComparer.Ordinal);
        var sys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in topic.Properties)
        {
            if (IoTHubTopics.WireToSystem.TryGetValue(key, out var name))
            {
                sys[name] = value ?? "";
            }
            else
            {
                props[key] = value ?? "";
            }
        }

        if (retain)
        {
            props["mqtt-retain"] = "true";
        }

        sys["connectionDeviceId"] = sender.DeviceId;
        if (sender.ModuleId is not null)
        {
            sys["connectionModuleId"] = sender.ModuleId;
        }

        sys["edgeHubOriginInterface"] = sender.ModuleId is null ? "downstream" : "internal";
        sys["enqueuedTime"] = time.GetUtcNow().ToString("o", CultureInfo.InvariantCulture);
        string source = sender.ModuleId is null
            ? "/messages"
            : sys.TryGetValue("outputName", out var output) ? $"/messages/modules/{sender.ModuleId}/outputs/{output}" : $"/messages/modules/{sender.ModuleId}";
        return new RoutingMessage(source, payload, props, sys);
    }

    private Inbound Drop(ClientState state, string topic)
    {
        counters.Dropped("unknown-topic");
        Log.UnknownTopic(logger, state.Identity.ClientId, topic);
        return Inbound.Accepted;
    }

    private Inbound RejectTwinRequest(ClientState state, string topic)
    {
        counters.Dropped("twin-request-without-rid");
        Log.TwinRequestRejected(logger, state.Identity.ClientId, topic, 400, "missing $rid");
        return Inbound.Accepted;
    }

    /// <summary>A client connected, disconnected or (un)subscribed: the executor of its module input re-checks.</summary>
    private void Changed(ClientIdentity identity)
    {
        if (identity.ModuleId is not null)
        {
            executors.Wake(identity.ModuleId);
        }
    }
}
