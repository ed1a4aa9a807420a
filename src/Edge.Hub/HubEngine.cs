using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Routing;
using Edge.Hub.Broker;
using Edge.Hub.Routing;
using Edge.Hub.Security;
using Edge.Hub.Storage;
using Edge.Runtime.Mqtt;
using Edge.Runtime.Protocol;
using Microsoft.Extensions.Logging;

namespace Edge.Hub;

/// <summary>The hub's semantics behind the broker: routing into the store, endpoint dispatchers, twins and direct methods.</summary>
internal sealed class HubEngine : IBrokerHandler, IAsyncDisposable
{
    public const string EdgeHubModule = "$edgeHub";
    public const string EdgeAgentModule = "$edgeAgent";

    private readonly SimulatorOptions _options;
    private readonly HubStore _store;
    private readonly TwinManager _twins;
    private readonly HubCounters _counters;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, EndpointDispatcher> _dispatchers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<(int Status, byte[] Payload)>> _methodCalls = new(StringComparer.OrdinalIgnoreCase);
    private volatile EdgeHubConfig _config = new([], 7200);
    private volatile bool _upstreamOnline = true;
    private long _upstreamLatencyTicks;
    private long _methodRid;
    private string? _lastConfigError;

    public HubEngine(SimulatorOptions options, HubStore store, TwinManager twins, HubCounters counters, TimeProvider time, ILogger logger)
    {
        _options = options;
        _store = store;
        _twins = twins;
        _counters = counters;
        _time = time;
        _logger = logger;
        _upstreamOnline = options.UpstreamOnline;
        Upstream = new UpstreamFeed(options.UpstreamHistory, counters, logger);
        _store.Committed = m => GetDispatcher(m.Target).Offer(m);
    }

    public MqttBroker? Broker { get; set; }

    public UpstreamFeed Upstream { get; }

    public EdgeHubConfig Config => _config;

    public string? LastConfigError => _lastConfigError;

    public bool UpstreamOnline => _upstreamOnline;

    public TimeSpan UpstreamLatency => TimeSpan.FromTicks(Interlocked.Read(ref _upstreamLatencyTicks));

    public event Func<JsonObject, CancellationToken, Task>? EdgeAgentDesiredChanged;

    public async Task StartAsync(CancellationToken ct)
    {
        await _twins.LoadAsync(ct).ConfigureAwait(false);
        var hub = await _twins.ReadAsync(EdgeHubModule, ct).ConfigureAwait(false);
        if (hub is not null)
        {
            await ApplyEdgeHubDesiredAsync(hub.Desired, hub.DesiredVersion, ct).ConfigureAwait(false);
        }

        foreach (var target in await _store.GetTargetsAsync(ct).ConfigureAwait(false))
        {
            GetDispatcher(target).Wake();
        }
    }

    public void SetUpstreamOnline(bool online)
    {
        _upstreamOnline = online;
        Log.UpstreamState(_logger, online ? "online" : "offline");
        if (online && _dispatchers.TryGetValue(HubStore.Upstream, out var d))
        {
            d.Wake();
        }
    }

    public void SetUpstreamLatency(TimeSpan latency) => Interlocked.Exchange(ref _upstreamLatencyTicks, Math.Max(0, latency.Ticks));

    private string ClientIdOf(string module) => $"{_options.DeviceId}/{module}";

    /// <summary>The dispatcher of a target, created once (a second instance would deliver the same messages twice).</summary>
    private EndpointDispatcher GetDispatcher(string target)
    {
        if (_dispatchers.TryGetValue(target, out var existing))
        {
            return existing;
        }

        lock (_dispatchers)
        {
            if (_dispatchers.TryGetValue(target, out existing))
            {
                return existing;
            }

            var created = target == HubStore.Upstream
                ? new EndpointDispatcher(target, _store, async (m, ct) => Task.FromResult(await DeliverUpstreamAsync(m, ct).ConfigureAwait(false)), 1,
                    _counters, _time, _options.IdleRecheckInterval, _logger)
                : new EndpointDispatcher(target, _store, StartModuleDeliveryAsync, _options.MaxInFlightPerModule,
                    _counters, _time, _options.IdleRecheckInterval, _logger);
            _dispatchers[target] = created;
            return created;
        }
    }

    // ---------------------------------------------------------------- routing

    /// <summary>Routes a telemetry message; the task completes once every routed copy is committed (the PUBACK waits for it).</summary>
    public Task OnTelemetryAsync(ClientIdentity sender, TelemetryTopic topic, byte[] payload, bool retain, CancellationToken ct)
    {
        var props = new Dictionary<string, string>(StringComparer.Ordinal);
        var sys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in topic.Properties)
        {
            if (TopicParser.WireToSystem.TryGetValue(key, out var name))
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
        sys["enqueuedTime"] = _time.GetUtcNow().ToString("o", CultureInfo.InvariantCulture);
        string source = sender.ModuleId is null
            ? "/messages"
            : sys.TryGetValue("outputName", out var output) ? $"/messages/modules/{sender.ModuleId}/outputs/{output}" : $"/messages/modules/{sender.ModuleId}";
        _counters.MessageReceived();
        return RouteAsync(new RoutingMessage(source, payload, props, sys), ct);
    }

    /// <summary>
    /// Evaluates every route and stores one copy per distinct endpoint (highest priority among the matching routes wins); the task
    /// completes when they are committed.
    /// </summary>
    public Task RouteAsync(RoutingMessage message, CancellationToken ct)
    {
        var config = _config;
        var targets = new Dictionary<(string, string), EnqueueTarget>();
        foreach (var route in config.Routes)
        {
            if (!route.IsMatch(message))
            {
                continue;
            }

            _counters.RouteMatched(route.Name);
            var (target, input) = route.Sink switch
            {
                ModuleInputSink m => (m.ModuleId, m.InputName),
                _ => (HubStore.Upstream, ""),
            };
            long ttl = route.TimeToLiveSecs > 0 ? route.TimeToLiveSecs : config.TimeToLiveSecs;
            if (!targets.TryGetValue((target, input), out var existing) || route.Priority < existing.Priority)
            {
                targets[(target, input)] = new EnqueueTarget(target, input, route.Priority, ttl, route.Name);
            }
        }

        if (targets.Count == 0)
        {
            _counters.Dropped("no-route");
            Log.NoRoute(_logger, message.Source);
            return Task.CompletedTask;
        }

        // The routing message owns its body (copied off the MQTT buffer) and dictionaries: the store keeps them for the in-memory
        // hand-over to the dispatchers. Every copy is offered to its dispatcher by the store once committed.
        var body = MemoryMarshal.TryGetArray(message.Body, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : message.Body.ToArray();
        return _store.EnqueueAsync(body, message.Properties, message.SystemProperties, message.Source, [.. targets.Values], _time.GetUtcNow(), ct);
    }

    /// <summary>Puts a message straight into a module input's queue (the simulator's inject endpoint).</summary>
    public async Task InjectAsync(string moduleId, string input, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string> properties,
        IReadOnlyDictionary<string, string> systemProperties, CancellationToken ct)
    {
        var ttl = _config.TimeToLiveSecs;
        await _store.EnqueueAsync(body.ToArray(), new Dictionary<string, string>(properties, StringComparer.Ordinal),
            new Dictionary<string, string>(systemProperties, StringComparer.Ordinal), "/simulator/inject",
            [new EnqueueTarget(moduleId, input, 0, ttl, "$inject")], _time.GetUtcNow(), ct).ConfigureAwait(false);
    }

    private async Task<DeliveryResult> DeliverUpstreamAsync(StoredMessage m, CancellationToken ct)
    {
        if (!_upstreamOnline)
        {
            return DeliveryResult.Unavailable;
        }

        var latency = UpstreamLatency;
        if (latency > TimeSpan.Zero)
        {
            await Task.Delay(latency, _time, ct).ConfigureAwait(false);
            if (!_upstreamOnline)
            {
                return DeliveryResult.Unavailable;
            }
        }

        m.SystemProperties.TryGetValue("connectionModuleId", out var module);
        m.SystemProperties.TryGetValue("outputName", out var output);
        Upstream.Publish(new UpstreamMessage(module ?? "", output, m.Body, m.Properties, m.SystemProperties, m.EnqueuedAt));
        return DeliveryResult.Delivered;
    }

    /// <summary>The topic a module input receives (§8): app properties then mapped system properties; <c>$.on</c> not forwarded.</summary>
    internal string InputTopic(StoredMessage m)
    {
        var bag = new List<KeyValuePair<string, string?>>();
        foreach (var (k, v) in m.Properties)
        {
            bag.Add(new(k, v));
        }

        foreach (var (k, v) in m.SystemProperties)
        {
            if (TopicParser.SystemToWire.TryGetValue(k, out var wire))
            {
                bag.Add(new(wire, v));
            }
        }

        return $"devices/{_options.DeviceId}/modules/{m.Target}/inputs/{m.Input}/{PropertyBag.Encode(bag)}";
    }

    /// <summary>
    /// Sends one message to a module input and returns a task that completes with the outcome of its PUBACK (or
    /// <see cref="DeliveryResult.Unavailable"/> at once when the module is not connected and subscribed).
    /// </summary>
    private async Task<Task<DeliveryResult>> StartModuleDeliveryAsync(StoredMessage m, CancellationToken ct)
    {
        var broker = Broker;
        var client = broker?.GetClient(ClientIdOf(m.Target));
        if (broker is null || client is null || !client.Connected || !client.ModuleMessages)
        {
            return Task.FromResult(DeliveryResult.Unavailable);
        }

        var packetId = await broker.DeliverInputAsync(client, InputTopic(m), m.Body, ct).ConfigureAwait(false);
        if (packetId is null)
        {
            return Task.FromResult(DeliveryResult.Unavailable);
        }

        return WaitForAckAsync(client.WaitForInputAck(packetId.Value), m, ct);
    }

    private async Task<DeliveryResult> WaitForAckAsync(Task<bool> ack, StoredMessage m, CancellationToken ct)
    {
        try
        {
            var acked = await ack.WaitAsync(_options.MessageAckTimeout, _time, ct).ConfigureAwait(false);
            return acked ? DeliveryResult.Delivered : DeliveryResult.Unavailable;
        }
        catch (TimeoutException)
        {
            Log.AckTimeout(_logger, m.Target, m.Seq, _options.MessageAckTimeout);
            return DeliveryResult.Retry;
        }
    }

    public void OnClientChanged(ClientIdentity identity)
    {
        if (identity.ModuleId is not null && _dispatchers.TryGetValue(identity.ModuleId, out var d))
        {
            d.Wake();
        }
    }

    // ---------------------------------------------------------------- configuration

    private async Task ApplyEdgeHubDesiredAsync(JsonObject desired, long version, CancellationToken ct)
    {
        int code;
        string description;
        if (EdgeHubConfig.TryParse(desired, out var config, out var errors) && config is not null)
        {
            _config = config;
            _lastConfigError = null;
            Log.RoutesApplied(_logger, config.Routes.Count, config.TimeToLiveSecs);
            code = 200;
            description = "";
        }
        else
        {
            _lastConfigError = string.Join("; ", errors);
            Log.RoutesRejected(_logger, _lastConfigError);
            code = 400;
            description = _lastConfigError;
        }

        await _twins.UpdateAsync(EdgeHubModule, t =>
        {
            t.Reported["lastDesiredVersion"] = version;
            t.Reported["lastDesiredStatus"] = new JsonObject { ["code"] = code, ["description"] = description };
            t.ReportedVersion++;
            return 0;
        }, ct).ConfigureAwait(false);
    }

    /// <summary>applyConfigurationContent: replaces the desired properties of every listed module.</summary>
    public async Task ApplyDeploymentAsync(JsonObject modulesContent, CancellationToken ct)
    {
        foreach (var (module, content) in modulesContent)
        {
            if (content?["properties.desired"] is not JsonObject desired)
            {
                continue;
            }

            await ReplaceDesiredAsync(module, (JsonObject)desired.DeepClone(), ct).ConfigureAwait(false);
        }
    }

    public async Task ReplaceDesiredAsync(string module, JsonObject desired, CancellationToken ct)
    {
        desired.Remove("$version");
        desired.Remove("$metadata");
        var (patch, version) = await _twins.UpdateAsync(module, t =>
        {
            var p = (JsonObject)desired.DeepClone();
            foreach (var (k, _) in t.Desired)
            {
                if (!desired.ContainsKey(k))
                {
                    p[k] = null;
                }
            }

            t.Desired = (JsonObject)desired.DeepClone();
            t.DesiredVersion++;
            return (p, t.DesiredVersion);
        }, ct).ConfigureAwait(false);
        await OnDesiredChangedAsync(module, patch, version, ct).ConfigureAwait(false);
    }

    public async Task<TwinDocument> PatchDesiredAsync(string module, JsonObject patch, CancellationToken ct)
    {
        var (doc, version) = await _twins.UpdateAsync(module, t =>
        {
            TwinDocument.Merge(t.Desired, patch);
            t.DesiredVersion++;
            return (TwinDocument.Deserialize(t.Serialize()), t.DesiredVersion);
        }, ct).ConfigureAwait(false);
        await OnDesiredChangedAsync(module, (JsonObject)patch.DeepClone(), version, ct).ConfigureAwait(false);
        return doc;
    }

    private async Task OnDesiredChangedAsync(string module, JsonObject patch, long version, CancellationToken ct)
    {
        if (module == EdgeHubModule)
        {
            var twin = await _twins.ReadAsync(module, ct).ConfigureAwait(false);
            await ApplyEdgeHubDesiredAsync(twin!.Desired, version, ct).ConfigureAwait(false);
            return;
        }

        if (module == EdgeAgentModule)
        {
            var twin = await _twins.ReadAsync(module, ct).ConfigureAwait(false);
            var handler = EdgeAgentDesiredChanged;
            if (handler is not null)
            {
                try
                {
                    await handler(TwinDocument.WithVersion(twin!.Desired, version), ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.EdgeAgentHandlerFailed(_logger, ex);
                }
            }

            return;
        }

        var broker = Broker;
        var client = broker?.GetClient(ClientIdOf(module));
        if (broker is not null && client is { Connected: true, Desired: true })
        {
            patch["$version"] = version;
            await broker.DeliverAsync(client.Identity.ClientId, $"$iothub/twin/PATCH/properties/desired/?$version={version}",
                Encoding.UTF8.GetBytes(patch.ToJsonString()), MqttQos.AtLeastOnce, ct).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- twins over MQTT

    private static string TwinKey(ClientIdentity id) => id.ModuleId ?? "$device";

    public async Task OnTwinGetAsync(ClientIdentity sender, string rid, CancellationToken ct)
    {
        var twin = await _twins.ReadAsync(TwinKey(sender), ct).ConfigureAwait(false) ?? new TwinDocument();
        await RespondAsync(sender, 200, rid, Encoding.UTF8.GetBytes(twin.ToModuleView().ToJsonString()), ct).ConfigureAwait(false);
    }

    public async Task OnReportedPatchAsync(ClientIdentity sender, string rid, byte[] payload, CancellationToken ct)
    {
        JsonObject patch;
        try
        {
            patch = TwinManager.ParseObject(payload);
        }
        catch (JsonException ex)
        {
            Log.TwinRequestRejected(_logger, sender.ClientId, "$iothub/twin/PATCH/properties/reported/", 400, ex.Message);
            _counters.Refused("bad-reported-patch");
            await RespondAsync(sender, 400, rid, [], ct).ConfigureAwait(false);
            return;
        }

        var version = await _twins.UpdateAsync(TwinKey(sender), t =>
        {
            TwinDocument.Merge(t.Reported, patch);
            t.ReportedVersion++;
            return t.ReportedVersion;
        }, ct).ConfigureAwait(false);
        await RespondAsync(sender, 204, rid, [], ct).ConfigureAwait(false);

        // edgeHub routes every reported-properties update on /twinChangeNotifications.
        var body = (JsonObject)patch.DeepClone();
        body["$version"] = version;
        var sys = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["connectionDeviceId"] = sender.DeviceId,
            ["messageSchema"] = "twinChangeNotification",
            ["contentType"] = "application/json",
            ["contentEncoding"] = "utf-8",
            ["enqueuedTime"] = _time.GetUtcNow().ToString("o", CultureInfo.InvariantCulture),
        };
        if (sender.ModuleId is not null)
        {
            sys["connectionModuleId"] = sender.ModuleId;
        }

        await RouteAsync(new RoutingMessage("/twinChangeNotifications", Encoding.UTF8.GetBytes(body.ToJsonString()),
            new Dictionary<string, string>(StringComparer.Ordinal), sys), ct).ConfigureAwait(false);
    }

    private async Task RespondAsync(ClientIdentity sender, int status, string rid, byte[] body, CancellationToken ct)
    {
        var broker = Broker;
        if (broker is not null)
        {
            await broker.DeliverAsync(sender.ClientId, $"$iothub/twin/res/{status}/?$rid={Uri.EscapeDataString(rid)}", body,
                MqttQos.AtMostOnce, ct).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- direct methods

    public void OnMethodResponse(ClientIdentity sender, int status, string rid, byte[] payload)
    {
        if (_methodCalls.TryRemove($"{sender.ClientId}|{rid}", out var call))
        {
            call.TrySetResult((status, payload));
        }
    }

    /// <summary>Invokes a direct method like IoT Hub: 404 (404103) when the module is not connected/subscribed, 504 when it does not answer in time.</summary>
    public async Task<(int Status, JsonNode? Payload)> InvokeMethodAsync(string moduleId, string method, JsonNode? payload, TimeSpan timeout, CancellationToken ct)
    {
        var broker = Broker;
        var clientId = ClientIdOf(moduleId);
        var client = broker?.GetClient(clientId);
        if (broker is null || client is not { Connected: true, Methods: true })
        {
            throw new MethodInvocationException(404, 404103, $"Timed out waiting for device to connect. Module {moduleId} is not connected or not subscribed to methods.");
        }

        var rid = Interlocked.Increment(ref _methodRid).ToString("x", CultureInfo.InvariantCulture);
        var call = new TaskCompletionSource<(int, byte[])>(TaskCreationOptions.RunContinuationsAsynchronously);
        var key = $"{clientId}|{rid}";
        _methodCalls[key] = call;
        try
        {
            var body = payload is null ? "null"u8.ToArray() : Encoding.UTF8.GetBytes(payload.ToJsonString());
            await broker.DeliverAsync(clientId, $"$iothub/methods/POST/{method}/?$rid={rid}", body, MqttQos.AtLeastOnce, ct)
                .ConfigureAwait(false);
            var (status, response) = await call.Task.WaitAsync(timeout, _time, ct).ConfigureAwait(false);
            JsonNode? json = null;
            if (response.Length > 0)
            {
                try
                {
                    json = JsonNode.Parse(response);
                }
                catch (JsonException)
                {
                    json = JsonValue.Create(Encoding.UTF8.GetString(response));
                }
            }

            return (status, json);
        }
        catch (TimeoutException)
        {
            throw new MethodInvocationException(504, 504101, $"Timed out waiting for the response from module {moduleId} for method {method}.");
        }
        finally
        {
            _methodCalls.TryRemove(key, out _);
        }
    }

    public Task<TwinDocument?> ReadTwinAsync(string module, CancellationToken ct) => _twins.ReadAsync(module, ct);

    public bool TwinExists(string module) => _twins.Exists(module);

    public async Task<IReadOnlyList<QueueStatus>> GetQueuesAsync(CancellationToken ct) => await _store.GetDepthsAsync(ct).ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        _store.Committed = null;
        foreach (var d in _dispatchers.Values)
        {
            await d.DisposeAsync().ConfigureAwait(false);
        }

        _dispatchers.Clear();
    }
}

/// <summary>A direct method call failed the way IoT Hub reports it: HTTP status plus a 6-digit error code.</summary>
public sealed class MethodInvocationException : Exception
{
    public MethodInvocationException()
    {
    }

    public MethodInvocationException(string message)
        : base(message)
    {
    }

    public MethodInvocationException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public MethodInvocationException(int status, int errorCode, string message)
        : base(message)
    {
        Status = status;
        ErrorCode = errorCode;
    }

    /// <summary>HTTP status: 404 (not connected) or 504 (no answer in time).</summary>
    public int Status { get; }

    /// <summary>IoT Hub error code: 404103 DeviceNotOnline, 504101 GatewayTimeout.</summary>
    public int ErrorCode { get; }
}
