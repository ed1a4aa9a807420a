using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

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
    /// Reads <c>createOptions</c>, <c>createOptions01</c>, <c>createOptions02</c>, … (edgeAgent's chunked value: chunks are
    /// read in sequence until one is missing) from a module's <c>settings</c>. A template's unstringified object is accepted too.
    /// </summary>
    public static bool TryParse(JsonObject settings, out CreateOptions options, out string? error)
    {
        options = Empty;
        error = null;
        var first = settings[Name];
        if (first is null)
        {
            return true;
        }

        JsonObject? root;
        if (first is JsonObject obj)
        {
            root = obj;
        }
        else if (first.GetValueKind() == JsonValueKind.String)
        {
            var text = new StringBuilder(first.GetValue<string>());
            var chunk = 1;
            for (; chunk <= 99; chunk++)
            {
                var key = Name + chunk.ToString("00", CultureInfo.InvariantCulture);
                if (settings[key] is not { } part)
                {
                    break;
                }

                if (part.GetValueKind() != JsonValueKind.String)
                {
                    error = $"{key} must be a string, got {part.GetValueKind().ToString().ToLowerInvariant()}";
                    return false;
                }

                text.Append(part.GetValue<string>());
            }

            var stray = settings.Select(p => p.Key)
                .Where(k => k.Length == Name.Length + 2 && k.StartsWith(Name, StringComparison.Ordinal) && int.TryParse(k.AsSpan(Name.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > chunk)
                .Order(StringComparer.Ordinal)
                .FirstOrDefault();
            if (stray is not null)
            {
                error = $"{stray} follows a missing {Name}{chunk.ToString("00", CultureInfo.InvariantCulture)} (chunks are read in sequence)";
                return false;
            }

            var json = text.ToString().Trim();
            if (json.Length == 0 || json == "null")
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
        else
        {
            error = $"expected a string (stringified JSON), got {first.GetValueKind().ToString().ToLowerInvariant()}";
            return false;
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
