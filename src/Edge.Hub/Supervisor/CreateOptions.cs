using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Deployment.Manifests;
using ManifestCreateOptions = Edge.Deployment.Manifests.CreateOptions;

namespace Edge.Hub.Supervisor;

/// <summary>A Docker host path or named volume a module expects (from <c>HostConfig.Binds</c> or <c>HostConfig.Mounts</c>).</summary>
/// <param name="Source">The host side: an absolute path, or a volume name (relative).</param>
/// <param name="Target">The path inside the container.</param>
internal sealed record VolumeBind(string Source, string Target)
{
    public bool IsNamedVolume => !Source.StartsWith('/');
}

/// <summary>
/// The parts of a module's Docker <c>createOptions</c> that mean something for a local process: <c>Env</c> entries and
/// <c>HostConfig.Binds</c>/<c>Mounts</c>. Everything else is Docker-specific and only listed in <see cref="Ignored"/>.
/// </summary>
internal sealed record CreateOptions(
    IReadOnlyList<KeyValuePair<string, string>> Env,
    IReadOnlyList<VolumeBind> Binds,
    IReadOnlyList<string> Ignored)
{
    public static CreateOptions Empty { get; } = new([], [], []);

    private const string Name = "createOptions";

    /// <summary>
    /// Reads <c>createOptions</c>, <c>createOptions01</c>, <c>createOptions02</c>, … (edgeAgent's chunked value) from a module's
    /// <c>settings</c>: the chunks are joined by the manifest format's own code (<see cref="ManifestCreateOptions.Join"/>, the rules
    /// <c>edge manifest validate</c> applies), so the supervisor and the validator cannot disagree. A template's unstringified
    /// object is accepted too.
    /// </summary>
    public static bool TryParse(JsonObject settings, out CreateOptions options, out string? error)
    {
        options = Empty;
        error = null;
        JsonObject? root;
        if (settings[Name] is JsonObject obj)
        {
            root = obj;
        }
        else
        {
            var problems = new List<ManifestProblem>();
            var text = ManifestCreateOptions.Join(settings, "$", problems);
            if (problems.FirstOrDefault(p => p.Severity == ManifestSeverity.Error) is { } problem)
            {
                error = problem.Message;
                return false;
            }

            var json = text?.Trim();
            if (string.IsNullOrEmpty(json) || json == "null")
            {
                return true;
            }

            try
            {
                root = JsonNode.Parse(json) as JsonObject;
            }
            catch (JsonException ex)
            {
                error = $"not valid JSON: {ex.Message.Split('\n')[0].Trim()}";
                return false;
            }

            if (root is null)
            {
                error = "expected a stringified JSON object";
                return false;
            }
        }

        return TryRead(root, out options, out error);
    }

    private static bool TryRead(JsonObject root, out CreateOptions options, out string? error)
    {
        options = Empty;
        error = null;
        var env = new List<KeyValuePair<string, string>>();
        var binds = new List<VolumeBind>();
        var ignored = new List<string>();

        foreach (var (key, value) in root)
        {
            switch (key)
            {
                case "Env" when value is JsonArray entries:
                    foreach (var e in entries)
                    {
                        if (e?.GetValueKind() != JsonValueKind.String)
                        {
                            error = "Env: entries must be \"NAME=value\" strings";
                            return false;
                        }

                        var s = e.GetValue<string>();
                        var eq = s.IndexOf('=', StringComparison.Ordinal);
                        if (eq > 0)
                        {
                            env.Add(new(s[..eq], s[(eq + 1)..]));
                        }
                    }

                    break;
                case "HostConfig" when value is JsonObject hostConfig:
                    foreach (var (hk, hv) in hostConfig)
                    {
                        if (hk == "Binds" && hv is JsonArray bindList)
                        {
                            foreach (var b in bindList)
                            {
                                var parts = b?.GetValueKind() == JsonValueKind.String ? b.GetValue<string>().Split(':') : [];
                                if (parts.Length is < 2 or > 3 || parts[0].Length == 0 || parts[1].Length == 0)
                                {
                                    error = $"HostConfig.Binds: expected \"source:target[:mode]\", got {b?.ToJsonString() ?? "null"}";
                                    return false;
                                }

                                binds.Add(new VolumeBind(parts[0], parts[1]));
                            }
                        }
                        else if (hk == "Mounts" && hv is JsonArray mounts)
                        {
                            foreach (var mount in mounts.OfType<JsonObject>())
                            {
                                if (mount["Source"] is JsonValue src && src.GetValueKind() == JsonValueKind.String && src.GetValue<string>().Length > 0
                                    && mount["Target"] is JsonValue dst && dst.GetValueKind() == JsonValueKind.String)
                                {
                                    binds.Add(new VolumeBind(src.GetValue<string>(), dst.GetValue<string>()));
                                }
                            }
                        }
                        else
                        {
                            ignored.Add("HostConfig." + hk);
                        }
                    }

                    break;
                default:
                    ignored.Add(key);
                    break;
            }
        }

        options = new CreateOptions(env, binds, ignored);
        return true;
    }
}
