using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Hub.Cloud;
using Edge.Hub.Heads;
using Edge.Hub.Heads.Mqtt;
using Edge.Hub.IoTHub;
using Edge.Hub.Methods;
using Edge.Hub.Routing;
using Edge.Hub.Security;
using Edge.Hub.Storage;
using Edge.Hub.Twins;
using Edge.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Edge.Hub;

/// <summary>
/// The local IoT Edge simulator hub: an edgeHub-compatible MQTT-over-TLS broker (SAS auth, per-identity authorization),
/// routes from <c>$edgeHub</c> desired properties, persistent store-and-forward, twins, direct methods, an IoT-Hub-style
/// cloud REST API and fault injection. A development and test tool, never a production replacement for edgeHub.
/// </summary>
/// <remarks>
/// The composition root of the hub core, layered as edgeHub is (docs/architecture.md): protocol head (<see cref="MqttHead"/>) →
/// IoT Hub protocol rules (<see cref="IoTHubProtocol"/>, sessions in <see cref="ClientSessions"/>) → <see cref="Router"/> →
/// message store (<see cref="HubStore"/>) → endpoint executors (<see cref="EndpointExecutors"/>) → endpoints
/// (<see cref="ModuleInputEndpoint"/>, <see cref="UpstreamEndpoint"/>), with <see cref="TwinService"/> and
/// <see cref="MethodService"/> beside the router. Every collaborator is passed to its constructor, in that order from the
/// bottom up; nothing is wired afterwards.
/// </remarks>
public sealed class EdgeHubSimulator : IAsyncDisposable
{
    private readonly SimulatorOptions _options;
    private readonly Core _core;
    private readonly IdentityStore _identities;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _restartGate = new(1, 1);
    private CloudApi? _api;

    private EdgeHubSimulator(SimulatorOptions options, Core core, IdentityStore identities, CertificateAuthority ca, ILogger logger)
    {
        _options = options;
        _core = core;
        _identities = identities;
        _logger = logger;
        CaCertificatePath = ca.CaCertificatePath;
        ServerCertificatePath = ca.ServerCertificatePath;
        ServerKeyPath = ca.ServerKeyPath;
    }

    public string DeviceId => _options.DeviceId;

    public string HubHostName => _options.HubHostName;

    public string GatewayHostName => _options.GatewayHostName;

    public int MqttPort => _core.Head.Port;

    public Uri ApiUri => _api!.Uri;

    /// <summary>PEM of the local CA that issued the hub's server certificate (what modules trust).</summary>
    public string CaCertificatePath { get; }

    /// <summary>PEM of the server certificate chain and its key (reusable by other local TLS servers, e.g. a benchmark broker).</summary>
    public string ServerCertificatePath { get; }

    public string ServerKeyPath { get; }

    /// <summary>The <c>iothubowner</c> policy key (hub-level SAS for the cloud-side API).</summary>
    public string PolicyKey => _identities.PolicyKey;

    /// <summary><c>HostName=...;SharedAccessKeyName=iothubowner;SharedAccessKey=...</c>; send requests to <see cref="ApiUri"/>.</summary>
    public string ServiceConnectionString => $"HostName={_options.HubHostName};SharedAccessKeyName={IdentityStore.PolicyName};SharedAccessKey={_identities.PolicyKey}";

    /// <summary>The cloud-side HTTP server, so the dashboard can share it (map endpoints in <see cref="SimulatorOptions.ConfigureWebApp"/>).</summary>
    public WebApplication WebApp => _api!.App;

    /// <summary>Raised when the <c>$edgeAgent</c> desired properties change (the module supervisor's hook). Argument: desired with <c>$version</c>.</summary>
    public event Func<JsonObject, CancellationToken, Task>? EdgeAgentDesiredChanged
    {
        add => _core.Twins.EdgeAgentDesiredChanged += value;
        remove => _core.Twins.EdgeAgentDesiredChanged -= value;
    }

    public static async Task<EdgeHubSimulator> StartAsync(SimulatorOptions options, ILoggerFactory loggerFactory, TimeProvider time, CancellationToken ct)
    {
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);
        var logger = loggerFactory.CreateLogger<EdgeHubSimulator>();
        Directory.CreateDirectory(options.StateDirectory);
        var ca = CertificateAuthority.LoadOrCreate(options.StateDirectory, options.GatewayHostName, time, out var created);
        if (created)
        {
            Log.CertificatesCreated(logger, options.StateDirectory);
        }

        var identities = IdentityStore.LoadOrCreate(options.StateDirectory);
        var core = Core.Create(options, ca, identities, logger, time);
        var sim = new EdgeHubSimulator(options, core, identities, ca, logger);
        try
        {
            foreach (var m in options.Modules)
            {
                identities.GetOrCreateModuleKey(m);
            }

            await core.Twins.StartAsync(ct).ConfigureAwait(false);
            await core.Executors.StartAsync(ct).ConfigureAwait(false);
            if (options.Deployment is not null)
            {
                await sim.ApplyDeploymentAsync(options.Deployment, ct).ConfigureAwait(false);
            }

            await core.Head.StartAsync(options.MqttPort, ct).ConfigureAwait(false);
            sim._api = await CloudApi.StartAsync(sim, core.Twins, core.Methods, new ConnectAuthenticator(options, identities, time), options,
                loggerFactory, time, ct).ConfigureAwait(false);
            sim.WriteHubJson();
            Log.HubStarted(logger, options.DeviceId, core.Head.Port, sim.ApiUri);
            return sim;
        }
        catch
        {
            await sim.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The module's <c>EdgeHubConnectionString</c> (iotedgehubdev style); creates the identity if needed.</summary>
    public string GetModuleConnectionString(string moduleId)
    {
        var key = _identities.GetOrCreateModuleKey(moduleId);
        return $"HostName={_options.HubHostName};GatewayHostName={_options.GatewayHostName};DeviceId={_options.DeviceId};ModuleId={moduleId};SharedAccessKey={key}";
    }

    /// <summary>The module's symmetric key (creates the identity if needed).</summary>
    public string GetModuleKey(string moduleId) => _identities.GetOrCreateModuleKey(moduleId);

    /// <summary>A SAS token for the <c>iothubowner</c> policy, for the cloud-side API.</summary>
    public string CreateServiceToken(TimeSpan lifetime, TimeProvider time) =>
        SasToken.Create(System.Net.WebUtility.UrlEncode(_options.HubHostName), _identities.PolicyKey, time.GetUtcNow() + lifetime, IdentityStore.PolicyName).ToString();

    /// <summary>Like applyConfigurationContent: replaces the desired properties of every module listed in <c>modulesContent</c>.</summary>
    public async Task ApplyDeploymentAsync(JsonObject modulesContent, CancellationToken ct)
    {
        foreach (var (module, _) in modulesContent)
        {
            if (!module.StartsWith('$'))
            {
                _identities.GetOrCreateModuleKey(module);
            }
        }

        await _core.Twins.ApplyDeploymentAsync(modulesContent, ct).ConfigureAwait(false);
    }

    /// <summary>Every message reaching <c>$upstream</c> from now on.</summary>
    public IAsyncEnumerable<UpstreamMessage> ReadUpstreamAsync(CancellationToken ct) => _core.Upstream.Feed.ReadAsync(ct);

    /// <summary>The most recent messages that reached <c>$upstream</c> (up to <see cref="SimulatorOptions.UpstreamHistory"/>).</summary>
    public IReadOnlyList<UpstreamMessage> GetRecentUpstream(int count) => _core.Upstream.Feed.Recent(count);

    public HubStatus GetStatus() => GetStatusAsync(CancellationToken.None).GetAwaiter().GetResult();

    public async Task<HubStatus> GetStatusAsync(CancellationToken ct)
    {
        var config = _core.Router.Config;
        var counters = _core.Counters;
        var queues = await _core.Store.GetDepthsAsync(ct).ConfigureAwait(false);
        return new HubStatus(
            _options.DeviceId,
            _core.Upstream.Online,
            _core.Upstream.Latency,
            config.TimeToLiveSecs,
            [.. config.Routes.Select(r => new RouteStatus(r.Name, r.Text, r.Sink.ToString()!, r.Priority, r.TimeToLiveSecs, counters.RouteMatches(r.Name)))],
            queues,
            _core.Sessions.GetClients(),
            counters.Refusals,
            counters.Drops,
            counters.Received,
            counters.Delivered,
            counters.UpstreamDelivered,
            counters.Redeliveries,
            _core.Twins.LastConfigError);
    }

    /// <summary>The module twin as a module sees it: <c>{"desired":{...,"$version"},"reported":{...,"$version"}}</c>.</summary>
    public async Task<JsonObject> GetModuleTwinAsync(string moduleId, CancellationToken ct) =>
        (await ReadTwinAsync(moduleId, ct).ConfigureAwait(false) ?? new TwinDocument()).ToModuleView();

    internal Task<TwinDocument?> ReadTwinAsync(string moduleId, CancellationToken ct) => _core.Twins.ReadAsync(moduleId, ct);

    public async Task PatchModuleDesiredAsync(string moduleId, JsonObject patch, CancellationToken ct) =>
        await _core.Twins.PatchDesiredAsync(moduleId, patch, ct).ConfigureAwait(false);

    /// <summary>
    /// Invokes a direct method on a module and returns the module's status and payload. Throws <see cref="MethodInvocationException"/>
    /// with 404/404103 when the module is not connected (or not subscribed to methods) and 504/504101 when it does not answer in time.
    /// </summary>
    public Task<(int Status, JsonNode? Payload)> InvokeMethodAsync(string moduleId, string method, JsonNode? payload, TimeSpan timeout, CancellationToken ct) =>
        _core.Methods.InvokeAsync(moduleId, method, payload, timeout, ct);

    /// <summary>Takes <c>$upstream</c> offline (messages are kept in the store) or back online (the backlog drains in order).</summary>
    public void SetUpstreamOnline(bool online)
    {
        _core.Upstream.SetOnline(online);
        if (online)
        {
            _core.Executors.Wake(HubStore.Upstream);
        }
    }

    /// <summary>Delays every upstream delivery by <paramref name="latency"/>.</summary>
    public void SetUpstreamLatency(TimeSpan latency) => _core.Upstream.SetLatency(latency);

    /// <summary>Drops a module's MQTT connection (the module is expected to reconnect).</summary>
    public Task DisconnectModuleAsync(string moduleId, CancellationToken ct) => _core.Sessions.DisconnectAsync($"{_options.DeviceId}/{moduleId}", ct);

    /// <summary>Stops the broker (every connection drops) and starts it again on the same port; queued messages and twins are kept.</summary>
    public async Task RestartAsync(CancellationToken ct)
    {
        await _restartGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            Log.Restarting(_logger);
            var port = _core.Head.Port;
            await _core.Head.StopAsync().ConfigureAwait(false);
            await _core.Head.StartAsync(port, ct).ConfigureAwait(false);
        }
        finally
        {
            _restartGate.Release();
        }
    }

    /// <summary>Puts a message into a module input's queue as if a route had sent it there.</summary>
    public Task InjectAsync(string moduleId, string input, ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string> properties,
        string? contentType, CancellationToken ct)
    {
        var sys = new Dictionary<string, string>(StringComparer.Ordinal) { ["connectionDeviceId"] = _options.DeviceId };
        if (contentType is not null)
        {
            sys["contentType"] = contentType;
            sys["contentEncoding"] = "utf-8";
        }

        return _core.Router.InjectAsync(moduleId, input, body, properties, sys, ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync().ConfigureAwait(false);
        }

        await _core.DisposeAsync().ConfigureAwait(false);
        _restartGate.Dispose();
    }

    internal HubCounters Counters => _core.Counters;

    private void WriteHubJson()
    {
        var json = new JsonObject
        {
            ["deviceId"] = _options.DeviceId,
            ["hubHostName"] = _options.HubHostName,
            ["gatewayHostName"] = _options.GatewayHostName,
            ["mqttPort"] = MqttPort,
            ["apiUri"] = ApiUri.ToString(),
            ["caCertificatePath"] = CaCertificatePath,
            ["serviceConnectionString"] = ServiceConnectionString,
            ["processId"] = Environment.ProcessId,
        };
        CertificateAuthority.WritePrivate(Path.Combine(_options.StateDirectory, HubInfo.FileName),
            json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The hub core's parts, built bottom-up; disposed top-down (the head first, the store last).</summary>
    private sealed record Core(
        HubCounters Counters,
        HubStore Store,
        ClientSessions Sessions,
        UpstreamEndpoint Upstream,
        EndpointExecutors Executors,
        Router Router,
        TwinService Twins,
        MethodService Methods,
        IProtocolHead Head) : IAsyncDisposable
    {
        public static Core Create(SimulatorOptions options, CertificateAuthority ca, IdentityStore identities, ILogger logger, TimeProvider time)
        {
            var counters = new HubCounters();
            var store = HubStore.Open(options.StateDirectory, time);
            var sessions = new ClientSessions(logger);
            var upstream = new UpstreamEndpoint(options, counters, time, logger);
            var moduleInputs = new ModuleInputEndpoint(options, sessions, time, logger);
            var executors = new EndpointExecutors(store, upstream, moduleInputs, options, counters, time, logger);
            var router = new Router(store, executors, counters, time, logger);
            var twins = new TwinService(new TwinManager(store), router, sessions, options, counters, time, logger);
            var methods = new MethodService(options, sessions, time);
            var iotHub = new IoTHubProtocol(options, new ConnectAuthenticator(options, identities, time), sessions, router, twins, methods,
                executors, counters, time, logger);
            var head = new MqttHead(ca, iotHub, counters, time, logger);
            return new Core(counters, store, sessions, upstream, executors, router, twins, methods, head);
        }

        public async ValueTask DisposeAsync()
        {
            await Head.DisposeAsync().ConfigureAwait(false);
            await Executors.DisposeAsync().ConfigureAwait(false);
            Store.Dispose();
            Counters.Dispose();
        }
    }
}
