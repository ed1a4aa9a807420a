using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Edge.Hub.Supervisor;

internal enum RestartPolicy
{
    Never,
    OnFailure,
    OnUnhealthy,
    Always,
}

/// <summary>
/// One validated <c>modules.{id}</c> entry of an <c>$edgeAgent</c> desired document. <c>Env</c> is the module's env merged
/// over its createOptions <c>Env</c>; <c>Fingerprint</c> is canonical JSON of everything but <c>status</c> (a change means recreate).
/// </summary>
internal sealed record ModuleDefinition(
    string Id,
    bool DesiredRunning,
    RestartPolicy RestartPolicy,
    uint StartupOrder,
    IReadOnlyList<KeyValuePair<string, string>> Env,
    string Image,
    CreateOptions CreateOptions,
    string Fingerprint);

/// <summary>Parses and validates <c>$edgeAgent</c> desired properties (docs/protocol.md "$edgeAgent desired properties") into module definitions.</summary>
internal static class EdgeAgentDesired
{
    public const uint DefaultStartupOrder = uint.MaxValue;

    public static IReadOnlyDictionary<string, ModuleDefinition> Parse(JsonObject desired, out IReadOnlyList<string> errors)
    {
        var problems = new List<string>();
        var result = new Dictionary<string, ModuleDefinition>(StringComparer.Ordinal);

        if (desired["schemaVersion"] is { } schema)
        {
            if (schema.GetValueKind() != JsonValueKind.String || !IsSupportedSchema(schema.GetValue<string>()))
            {
                problems.Add($"schemaVersion: unsupported schema version {schema.ToJsonString()}; expected \"1.0\" or \"1.1\"");
            }
        }

        switch (desired["modules"])
        {
            case null:
                break;
            case JsonObject modules:
                foreach (var (id, node) in modules)
                {
                    if (id.StartsWith('$'))
                    {
                        continue; // twin metadata ($metadata, $version), never a module: module ids cannot start with '$'
                    }

                    var path = "modules." + id;
                    if (ParseModule(id, node, path, problems) is { } def)
                    {
                        result[id] = def;
                    }
                }

                break;
            default:
                problems.Add($"modules: expected an object, got {desired["modules"]!.GetValueKind()}");
                break;
        }

        errors = problems;
        return result;
    }

    private static bool IsSupportedSchema(string s) =>
        Version.TryParse(s.Contains('.', StringComparison.Ordinal) ? s : s + ".0", out var v) && v.Major == 1 && v <= new Version(1, 1, 0);

    private static ModuleDefinition? ParseModule(string id, JsonNode? node, string path, List<string> problems)
    {
        var before = problems.Count;
        if (!IsValidModuleId(id))
        {
            problems.Add($"{path}: invalid module id '{id}': it must be non-empty and contain no '/', '\\', whitespace or control characters, and not be '.' or '..'");
        }

        if (node is not JsonObject m)
        {
            problems.Add($"{path}: expected an object, got {Kind(node)}");
            return null;
        }

        if (m["type"] is { } type && !(type.GetValueKind() == JsonValueKind.String && type.GetValue<string>() == "docker"))
        {
            problems.Add($"{path}.type: unsupported module type {type.ToJsonString()}; expected \"docker\"");
        }

        var running = true;
        if (m["status"] is { } status)
        {
            switch (StringOf(status)?.ToLowerInvariant())
            {
                case "running":
                    break;
                case "stopped":
                    running = false;
                    break;
                default:
                    problems.Add($"{path}.status: invalid status {status.ToJsonString()}; expected \"running\" or \"stopped\"");
                    break;
            }
        }

        var policy = RestartPolicy.Always;
        if (m["restartPolicy"] is { } rp)
        {
            switch (StringOf(rp)?.ToLowerInvariant())
            {
                case "never":
                    policy = RestartPolicy.Never;
                    break;
                case "on-failure":
                    policy = RestartPolicy.OnFailure;
                    break;
                case "on-unhealthy":
                    policy = RestartPolicy.OnUnhealthy;
                    break;
                case "always":
                    policy = RestartPolicy.Always;
                    break;
                default:
                    problems.Add($"{path}.restartPolicy: invalid restart policy {rp.ToJsonString()}; expected \"never\", \"on-failure\", \"on-unhealthy\" or \"always\"");
                    break;
            }
        }

        var order = DefaultStartupOrder;
        if (m["startupOrder"] is { } so)
        {
            if (so.GetValueKind() == JsonValueKind.Number
                && decimal.TryParse(so.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
                && d == decimal.Truncate(d) && d >= 0 && d <= uint.MaxValue)
            {
                order = (uint)d;
            }
            else
            {
                problems.Add($"{path}.startupOrder: invalid startup order {so.ToJsonString()}; expected an integer from 0 to 4294967295");
            }
        }

        var env = new List<KeyValuePair<string, string>>();
        switch (m["env"])
        {
            case null:
                break;
            case JsonObject envObject:
                foreach (var (name, value) in envObject)
                {
                    var envPath = $"{path}.env.{name}";
                    if (name.Length == 0 || name.Contains('=', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
                    {
                        problems.Add($"{envPath}: invalid environment variable name");
                    }
                    else if (value is JsonObject ev && ev["value"] is JsonValue v && v.GetValueKind() is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)
                    {
                        env.Add(new(name, v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString()));
                    }
                    else
                    {
                        problems.Add($"{envPath}: expected {{\"value\": \"...\"}} with a string value, got {Kind(value)}{(value is JsonObject ? " without a string 'value'" : "")}");
                    }
                }

                break;
            default:
                problems.Add($"{path}.env: expected an object, got {Kind(m["env"])}");
                break;
        }

        var image = "";
        var createOptions = CreateOptions.Empty;
        if (m["settings"] is JsonObject settings)
        {
            if (settings["image"] is JsonValue img && img.GetValueKind() == JsonValueKind.String && img.GetValue<string>().Length > 0)
            {
                image = img.GetValue<string>();
            }
            else
            {
                problems.Add($"{path}.settings.image: expected a non-empty string, got {Kind(settings["image"])}");
            }

            if (!CreateOptions.TryParse(settings, out createOptions, out var coError))
            {
                problems.Add($"{path}.settings.createOptions: {coError}");
            }
        }
        else
        {
            problems.Add($"{path}.settings: expected an object with 'image', got {Kind(m["settings"])}");
        }

        if (problems.Count > before)
        {
            return null;
        }

        // Docker's createOptions.Env entries come first; the module's env wins (as edgeAgent merges them).
        var merged = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in createOptions.Env)
        {
            merged[k] = v;
        }

        foreach (var (k, v) in env)
        {
            merged[k] = v;
        }

        var fingerprintSource = (JsonObject)m.DeepClone();
        fingerprintSource.Remove("status");
        return new ModuleDefinition(id, running, policy, order, [.. merged], image, createOptions, Canonical(fingerprintSource));
    }

    private static bool IsValidModuleId(string id) =>
        id.Length > 0 && id != "." && id != ".."
        && !id.Any(c => c is '/' or '\\' || char.IsWhiteSpace(c) || char.IsControl(c));

    private static string? StringOf(JsonNode node) =>
        node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : null;

    private static string Kind(JsonNode? node) => node is null ? "null" : node.GetValueKind().ToString().ToLowerInvariant();

    /// <summary>JSON with object keys sorted and twin metadata (<c>$</c> keys) left out, so equal definitions compare equal.</summary>
    internal static string Canonical(JsonNode? node)
    {
        var sb = new StringBuilder();
        Write(node, sb);
        return sb.ToString();

        static void Write(JsonNode? n, StringBuilder sb)
        {
            switch (n)
            {
                case JsonObject o:
                    sb.Append('{');
                    var first = true;
                    foreach (var (k, v) in o.Where(p => !p.Key.StartsWith('$')).OrderBy(p => p.Key, StringComparer.Ordinal))
                    {
                        if (!first)
                        {
                            sb.Append(',');
                        }

                        first = false;
                        sb.Append(JsonSerializer.Serialize(k)).Append(':');
                        Write(v, sb);
                    }

                    sb.Append('}');
                    break;
                case JsonArray a:
                    sb.Append('[');
                    for (var i = 0; i < a.Count; i++)
                    {
                        if (i > 0)
                        {
                            sb.Append(',');
                        }

                        Write(a[i], sb);
                    }

                    sb.Append(']');
                    break;
                case null:
                    sb.Append("null");
                    break;
                default:
                    sb.Append(n.ToJsonString());
                    break;
            }
        }
    }
}
