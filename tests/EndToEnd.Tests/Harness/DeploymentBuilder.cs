using System.Globalization;
using System.Text.Json.Nodes;

namespace EndToEnd.Tests.Harness;

/// <summary>What a deployed module runs.</summary>
internal enum ModuleKind
{
    /// <summary>tests/LoadGen (send, relay or idle).</summary>
    LoadGen,

    /// <summary>modules/CameraCapture.</summary>
    CameraCapture,

    /// <summary>modules/Inference.</summary>
    Inference,
}

/// <summary>
/// Builds a deployment's <c>modulesContent</c> (<c>$edgeAgent</c> modules with env, <c>$edgeHub</c> routes with priority and
/// TTL, module desired properties) for <see cref="SolutionHarness"/>. Mutable so a scenario can change one thing and redeploy.
/// </summary>
internal sealed class DeploymentBuilder
{
    private readonly Dictionary<string, (ModuleKind Kind, Dictionary<string, string> Env, string Status, string RestartPolicy)> _modules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _routes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _desired = new(StringComparer.Ordinal);
    private uint _storeTtl = 7200;

    public IReadOnlyDictionary<string, ModuleKind> Modules => _modules.ToDictionary(p => p.Key, p => p.Value.Kind, StringComparer.Ordinal);

    public DeploymentBuilder Module(string id, ModuleKind kind, IReadOnlyDictionary<string, string>? env = null, string status = "running", string restartPolicy = "always")
    {
        _modules[id] = (kind, new Dictionary<string, string>(env ?? new Dictionary<string, string>(), StringComparer.Ordinal), status, restartPolicy);
        return this;
    }

    /// <summary>A LoadGen sender: <paramref name="count"/> messages (0 = unlimited) at <paramref name="rate"/> per second on output <c>out</c>.</summary>
    public DeploymentBuilder Sender(string id, double rate, long count, int payloadBytes = 0, string status = "running") =>
        Module(id, ModuleKind.LoadGen, new Dictionary<string, string>
        {
            ["LoadGen__Mode"] = "Send",
            ["LoadGen__Source"] = id, // explicit: LoadGen's default (the module id) is read before the client knows its identity
            ["LoadGen__Output"] = "out",
            ["LoadGen__Rate"] = rate.ToString(CultureInfo.InvariantCulture),
            ["LoadGen__Count"] = count.ToString(CultureInfo.InvariantCulture),
            ["LoadGen__PayloadBytes"] = payloadBytes.ToString(CultureInfo.InvariantCulture),
        }, status);

    /// <summary>A LoadGen relay: input <c>in</c> to output <c>out</c>.</summary>
    public DeploymentBuilder Relay(string id) =>
        Module(id, ModuleKind.LoadGen, new Dictionary<string, string> { ["LoadGen__Mode"] = "Relay", ["LoadGen__Input"] = "in", ["LoadGen__Output"] = "out" });

    public DeploymentBuilder Env(string id, string name, string value)
    {
        _modules[id].Env[name] = value;
        return this;
    }

    public bool HasEnv(string id, string name) => _modules[id].Env.ContainsKey(name);

    public DeploymentBuilder Status(string id, string status)
    {
        var m = _modules[id];
        _modules[id] = m with { Status = status };
        return this;
    }

    /// <summary>Adds a route; <paramref name="ttlSecs"/> overrides the store-and-forward TTL for it (schema 1.1).</summary>
    public DeploymentBuilder Route(string name, string text, int? priority = null, uint? ttlSecs = null)
    {
        var r = new JsonObject { ["route"] = text };
        if (priority is { } p)
        {
            r["priority"] = p;
        }

        if (ttlSecs is { } t)
        {
            r["timeToLiveSecs"] = t;
        }

        _routes[name] = r;
        return this;
    }

    /// <summary><c>storeAndForwardConfiguration.timeToLiveSecs</c>.</summary>
    public DeploymentBuilder StoreTtl(uint secs)
    {
        _storeTtl = secs;
        return this;
    }

    /// <summary>The module twin's desired properties in the deployment.</summary>
    public DeploymentBuilder Desired(string id, JsonObject desired)
    {
        _desired[id] = desired;
        return this;
    }

    public JsonObject EdgeAgentDesired()
    {
        var modules = new JsonObject();
        foreach (var (id, m) in _modules.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var env = new JsonObject();
            foreach (var (k, v) in m.Env.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                env[k] = new JsonObject { ["value"] = v };
            }

            modules[id] = new JsonObject
            {
                ["version"] = "1.0",
                ["type"] = "docker",
                ["status"] = m.Status,
                ["restartPolicy"] = m.RestartPolicy,
                ["settings"] = new JsonObject { ["image"] = $"localhost:5000/{m.Kind.ToString().ToLowerInvariant()}:e2e", ["createOptions"] = "{}" },
                ["env"] = env,
            };
        }

        return new JsonObject
        {
            ["schemaVersion"] = "1.1",
            ["runtime"] = new JsonObject { ["type"] = "docker", ["settings"] = new JsonObject { ["minDockerVersion"] = "v1.25" } },
            ["systemModules"] = new JsonObject
            {
                ["edgeAgent"] = new JsonObject { ["type"] = "docker", ["settings"] = new JsonObject { ["image"] = "mcr.microsoft.com/azureiotedge-agent:1.5" } },
                ["edgeHub"] = new JsonObject
                {
                    ["type"] = "docker", ["status"] = "running", ["restartPolicy"] = "always",
                    ["settings"] = new JsonObject { ["image"] = "mcr.microsoft.com/azureiotedge-hub:1.5" },
                },
            },
            ["modules"] = modules,
        };
    }

    public JsonObject Build()
    {
        var routes = new JsonObject();
        foreach (var (name, r) in _routes)
        {
            routes[name] = r.DeepClone();
        }

        var content = new JsonObject
        {
            ["$edgeAgent"] = new JsonObject { ["properties.desired"] = EdgeAgentDesired() },
            ["$edgeHub"] = new JsonObject
            {
                ["properties.desired"] = new JsonObject
                {
                    ["schemaVersion"] = "1.1",
                    ["routes"] = routes,
                    ["storeAndForwardConfiguration"] = new JsonObject { ["timeToLiveSecs"] = _storeTtl },
                },
            },
        };
        foreach (var (id, _) in _modules)
        {
            content[id] = new JsonObject { ["properties.desired"] = _desired.TryGetValue(id, out var d) ? d.DeepClone() : new JsonObject() };
        }

        return content;
    }
}
