using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Routing;
using Edge.Hub.IoTHub;
using Edge.Hub.Routing;
using Edge.Hub.Security;
using Edge.Hub.Storage;
using Edge.Protocol;
using Edge.Protocol.Mqtt;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Twins;

/// <summary>
/// Module twins beside the router (edgeHub: <c>TwinManager</c>): twin GET and reported patches from modules, desired changes from
/// the cloud side sent to the module, <c>$edgeHub</c> desired properties applied to the router, <c>$edgeAgent</c> ones
/// handed to the supervisor. Reported patches are routed on <c>/twinChangeNotifications</c> as edgeHub does.
/// </summary>
internal sealed class TwinService(TwinManager twins, Router router, ClientSessions sessions, SimulatorOptions options, HubCounters counters,
    TimeProvider time, ILogger logger)
{
    public const string EdgeHubModule = "$edgeHub";
    public const string EdgeAgentModule = "$edgeAgent";

    private volatile string? _lastConfigError;

    /// <summary>Why the last <c>$edgeHub</c> desired properties were rejected (null when they were applied).</summary>
    public string? LastConfigError => _lastConfigError;

    /// <summary>The <c>$edgeAgent</c> desired properties changed (argument: desired with <c>$version</c>).</summary>
    public event Func<JsonObject, CancellationToken, Task>? EdgeAgentDesiredChanged;

    /// <summary>Loads the twins and applies the stored <c>$edgeHub</c> configuration.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        await twins.LoadAsync(ct).ConfigureAwait(false);
        var hub = await twins.ReadAsync(EdgeHubModule, ct).ConfigureAwait(false);
        if (hub is not null)
        {
            await ApplyEdgeHubDesiredAsync(hub.Desired, hub.DesiredVersion, ct).ConfigureAwait(false);
        }
    }

    public Task<TwinDocument?> ReadAsync(string module, CancellationToken ct) => twins.ReadAsync(module, ct);

    public bool Exists(string module) => twins.Exists(module);

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
        var (patch, version) = await twins.UpdateAsync(module, t =>
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
        var (doc, version) = await twins.UpdateAsync(module, t =>
        {
            JsonMergePatch.Apply(t.Desired, patch, skipMetadata: true);
            t.DesiredVersion++;
            return (TwinDocument.Deserialize(t.Serialize()), t.DesiredVersion);
        }, ct).ConfigureAwait(false);
        await OnDesiredChangedAsync(module, (JsonObject)patch.DeepClone(), version, ct).ConfigureAwait(false);
        return doc;
    }

    /// <summary>A module GETs its twin: answered on <c>$iothub/twin/res/200/?$rid=</c>.</summary>
    public async Task GetAsync(ClientIdentity sender, string rid, CancellationToken ct)
    {
        var twin = await twins.ReadAsync(TwinKey(sender), ct).ConfigureAwait(false) ?? new TwinDocument();
        await RespondAsync(sender, 200, rid, Encoding.UTF8.GetBytes(twin.ToModuleView().ToJsonString()), ct).ConfigureAwait(false);
    }

    /// <summary>A module patches its reported properties: 204, or 400 for a body that is not a JSON object.</summary>
    public async Task PatchReportedAsync(ClientIdentity sender, string rid, byte[] payload, CancellationToken ct)
    {
        JsonObject patch;
        try
        {
            patch = TwinManager.ParseObject(payload);
        }
        catch (JsonException ex)
        {
            Log.TwinRequestRejected(logger, sender.ClientId, IoTHubTopics.ReportedPatchPrefix, 400, ex.Message);
            counters.Refused("bad-reported-patch");
            await RespondAsync(sender, 400, rid, [], ct).ConfigureAwait(false);
            return;
        }

        var version = await twins.UpdateAsync(TwinKey(sender), t =>
        {
            JsonMergePatch.Apply(t.Reported, patch, skipMetadata: true);
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
            ["enqueuedTime"] = time.GetUtcNow().ToString("o", CultureInfo.InvariantCulture),
        };
        if (sender.ModuleId is not null)
        {
            sys["connectionModuleId"] = sender.ModuleId;
        }

        await router.RouteAsync(new RoutingMessage("/twinChangeNotifications", Encoding.UTF8.GetBytes(body.ToJsonString()),
            new Dictionary<string, string>(StringComparer.Ordinal), sys), ct).ConfigureAwait(false);
    }

    private static string TwinKey(ClientIdentity id) => id.ModuleId ?? "$device";

    private async Task ApplyEdgeHubDesiredAsync(JsonObject desired, long version, CancellationToken ct)
    {
        int code;
        string description;
        if (EdgeHubConfig.TryParse(desired, out var config, out var errors) && config is not null)
        {
            router.Configure(config);
            _lastConfigError = null;
            code = 200;
            description = "";
        }
        else
        {
            var error = string.Join("; ", errors);
            _lastConfigError = error;
            Log.RoutesRejected(logger, error);
            code = 400;
            description = error;
        }

        await twins.UpdateAsync(EdgeHubModule, t =>
        {
            t.Reported["lastDesiredVersion"] = version;
            t.Reported["lastDesiredStatus"] = new JsonObject { ["code"] = code, ["description"] = description };
            t.ReportedVersion++;
            return 0;
        }, ct).ConfigureAwait(false);
    }

    private async Task OnDesiredChangedAsync(string module, JsonObject patch, long version, CancellationToken ct)
    {
        if (module == EdgeHubModule)
        {
            var twin = await twins.ReadAsync(module, ct).ConfigureAwait(false);
            await ApplyEdgeHubDesiredAsync(twin!.Desired, version, ct).ConfigureAwait(false);
            return;
        }

        if (module == EdgeAgentModule)
        {
            var twin = await twins.ReadAsync(module, ct).ConfigureAwait(false);
            var handler = EdgeAgentDesiredChanged;
            if (handler is not null)
            {
                try
                {
                    await handler(TwinDocument.WithVersion(twin!.Desired, version), ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.EdgeAgentHandlerFailed(logger, ex);
                }
            }

            return;
        }

        var client = sessions.Get($"{options.DeviceId}/{module}");
        if (client is { Connected: true, Desired: true })
        {
            patch["$version"] = version;
            await sessions.SendAsync(client.Identity.ClientId, $"{IoTHubTopics.DesiredPatchPrefix}?$version={version}",
                Encoding.UTF8.GetBytes(patch.ToJsonString()), MqttQos.AtLeastOnce, ct).ConfigureAwait(false);
        }
    }

    private async Task RespondAsync(ClientIdentity sender, int status, string rid, byte[] body, CancellationToken ct) =>
        await sessions.SendAsync(sender.ClientId, $"{IoTHubTopics.TwinResponsePrefix}{status}/?$rid={Uri.EscapeDataString(rid)}", body,
            MqttQos.AtMostOnce, ct).ConfigureAwait(false);
}
