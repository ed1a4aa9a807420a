using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Edge.Routing;

namespace Edge.Deployment.Manifests;

/// <summary>
/// Checks a deployment manifest (the output of <c>edge manifest build</c>, or any <c>modulesContent</c> document) against
/// what edgeAgent, edgeHub and IoT Hub accept (docs/protocol.md, "$edgeHub desired properties" and "$edgeAgent desired properties"), listing every problem with its JSON path.
/// </summary>
public static partial class ManifestValidator
{
    /// <summary>IoT Hub's limit on the desired properties of one twin.</summary>
    public const int MaxDesiredBytes = 32 * 1024;

    /// <summary>IoT Edge's limit on modules in one deployment.</summary>
    public const int MaxModules = 50;

    /// <summary>IoT Hub's limit on twin nesting depth.</summary>
    public const int MaxDepth = 10;

    private static readonly string[] Statuses = ["running", "stopped"];
    private static readonly string[] RestartPolicies = ["never", "on-failure", "on-unhealthy", "always"];
    private static readonly string[] PullPolicies = ["on-create", "never"];

    /// <summary>Validates manifest text (a syntax error is reported as one problem).</summary>
    public static IReadOnlyList<ManifestProblem> Validate(string json)
    {
        try
        {
            return Validate(ManifestJson.Parse(json));
        }
        catch (ManifestException ex)
        {
            return ex.Problems;
        }
    }

    /// <summary>Validates a parsed manifest; errors first in document order, then warnings.</summary>
    public static IReadOnlyList<ManifestProblem> Validate(JsonObject root)
    {
        var p = new List<ManifestProblem>();
        if (root.ContainsKey("$schema-template"))
        {
            p.Add(ManifestProblem.Warning("$['$schema-template']", "this is a template key: run 'edge manifest build' to produce the manifest to deploy"));
        }

        var (content, path) = ManifestJson.FindModulesContent(root);
        if (content is null)
        {
            p.Add(ManifestProblem.Error("$.modulesContent", "required object is missing"));
            return p;
        }

        if (path == "$.moduleContent")
        {
            p.Add(ManifestProblem.Warning(path, "the key is 'modulesContent'; 'moduleContent' is read here but IoT Hub applies 'modulesContent' to edge devices"));
        }

        CheckPlaceholders(root, "$", p);

        var agentPath = JsonPath.Child(path, "$edgeAgent");
        var hubPath = JsonPath.Child(path, "$edgeHub");
        var agent = Desired(content, "$edgeAgent", agentPath, p, required: true);
        var hub = Desired(content, "$edgeHub", hubPath, p, required: true);

        var moduleIds = new HashSet<string>(StringComparer.Ordinal);
        if (agent is not null)
        {
            ValidateAgent(agent, JsonPath.Child(agentPath, "properties.desired"), moduleIds, p);
        }

        if (hub is not null)
        {
            ValidateHub(hub, JsonPath.Child(hubPath, "properties.desired"), agent is null ? null : moduleIds, p);
        }

        foreach (var (id, node) in content)
        {
            if (id is "$edgeAgent" or "$edgeHub")
            {
                continue;
            }

            var twinPath = JsonPath.Child(path, id);
            var desired = Desired(content, id, twinPath, p, required: true);
            if (agent is not null && !moduleIds.Contains(id))
            {
                p.Add(ManifestProblem.Warning(twinPath, $"desired properties for '{id}', which $edgeAgent does not deploy"));
            }

            if (desired is not null)
            {
                CheckTwinKeys(desired, JsonPath.Child(twinPath, "properties.desired"), 1, p);
            }
        }

        return p.OrderBy(x => x.Severity == ManifestSeverity.Error ? 0 : 1).ToList();
    }

    private static JsonObject? Desired(JsonObject content, string id, string path, List<ManifestProblem> p, bool required)
    {
        var twin = content[id];
        if (twin is null)
        {
            if (required)
            {
                p.Add(ManifestProblem.Error(path, "required system module twin is missing"));
            }

            return null;
        }

        if (twin is not JsonObject twinObject)
        {
            p.Add(ManifestProblem.Error(path, $"must be an object with 'properties.desired', found {CreateOptions.Describe(twin)}"));
            return null;
        }

        if (twinObject["properties.desired"] is not JsonObject desired)
        {
            p.Add(ManifestProblem.Error(JsonPath.Child(path, "properties.desired"), "required object is missing"));
            return null;
        }

        var size = ManifestJson.CompactSize(desired);
        if (size > MaxDesiredBytes)
        {
            p.Add(ManifestProblem.Error(JsonPath.Child(path, "properties.desired"),
                $"desired properties are {size} bytes; IoT Hub allows {MaxDesiredBytes} bytes per twin"));
        }

        return desired;
    }

    private static Version? CheckSchemaVersion(JsonObject d, string path, int maxMinor, string owner, List<ManifestProblem> p)
    {
        var sp = JsonPath.Child(path, "schemaVersion");
        if (d["schemaVersion"] is not { } node || node.GetValueKind() != JsonValueKind.String)
        {
            p.Add(ManifestProblem.Error(sp, "required string is missing (\"1.1\")"));
            return null;
        }

        var text = node.GetValue<string>();
        if (!Version.TryParse(text, out var v) || v.Major != 1 || v.Minor > maxMinor || (v.Minor == maxMinor && v.Build > 0))
        {
            p.Add(ManifestProblem.Error(sp, $"'{text}' is not a schema version {owner} accepts (1.0 to 1.{maxMinor})"));
            return null;
        }

        return new Version(v.Major, v.Minor);
    }

    private static void CheckStartupOrder(JsonObject m, string mp, Version? schema, List<ManifestProblem> p)
    {
        if (m["startupOrder"] is not { } so)
        {
            return;
        }

        var sp = JsonPath.Child(mp, "startupOrder");
        if (so.GetValueKind() != JsonValueKind.Number || !so.AsValue().TryGetValue<uint>(out _))
        {
            p.Add(ManifestProblem.Error(sp, $"must be an integer 0 to 4294967295 (0 starts first), found {so.ToJsonString()}"));
        }
        else if (schema is not null && schema < new Version(1, 1))
        {
            p.Add(ManifestProblem.Warning(sp, "startupOrder needs $edgeAgent schemaVersion 1.1; edgeAgent ignores it with 1.0"));
        }
    }

    private static void CheckModuleId(string id, string path, List<ManifestProblem> p)
    {
        if (id.Length is 0 or > 128 || !ModuleIdRegex().IsMatch(id))
        {
            p.Add(ManifestProblem.Error(path,
                $"module id '{id}' is invalid: 1–128 characters of letters, digits, '-' and '_' (it becomes a twin key and a container name, so no '.', '$', '#' or spaces)"));
        }
        else if (id.Equals("edgeAgent", StringComparison.OrdinalIgnoreCase) || id.Equals("edgeHub", StringComparison.OrdinalIgnoreCase))
        {
            p.Add(ManifestProblem.Error(path, $"'{id}' is a system module: configure it under systemModules"));
        }
        else if (!char.IsAsciiLetterOrDigit(id[0]))
        {
            p.Add(ManifestProblem.Warning(path, $"module id '{id}' should start with a letter or digit (Docker container names do)"));
        }
    }

    private static void CheckImage(string image, string path, List<ManifestProblem> p)
    {
        if (image.Contains("${", StringComparison.Ordinal) || image.Contains('$', StringComparison.Ordinal))
        {
            return; // reported by CheckPlaceholders
        }

        if (AnglePlaceholderRegex().IsMatch(image))
        {
            p.Add(ManifestProblem.Warning(path, $"image '{image}' holds <placeholders> of another tool; they must be replaced before deployment"));
            return;
        }

        var m = ImageRegex().Match(image);
        if (!m.Success)
        {
            p.Add(ManifestProblem.Error(path, $"'{image}' is not a valid image reference ([registry/]repository[:tag][@digest], repository lower-case)"));
            return;
        }

        if (!m.Groups["tag"].Success && !m.Groups["digest"].Success)
        {
            p.Add(ManifestProblem.Warning(path, $"image '{image}' has no tag: 'latest' is pulled, which changes under a running fleet; pin a version"));
        }
    }

    private static void CheckPlaceholders(JsonNode node, string path, List<ManifestProblem> p)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o)
                {
                    if (k.Contains("${", StringComparison.Ordinal))
                    {
                        p.Add(ManifestProblem.Error(JsonPath.Child(path, k), $"key '{k}' holds an unexpanded placeholder: run 'edge manifest build'"));
                    }

                    if (v is not null)
                    {
                        CheckPlaceholders(v, JsonPath.Child(path, k), p);
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    if (a[i] is { } item)
                    {
                        CheckPlaceholders(item, JsonPath.Index(path, i), p);
                    }
                }

                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                var s = v.GetValue<string>();
                if (s.Contains("${MODULES.", StringComparison.Ordinal) || s.Contains("${MODULEDIR<", StringComparison.Ordinal))
                {
                    p.Add(ManifestProblem.Error(path, $"'{s}' is an unexpanded module placeholder: run 'edge manifest build'"));
                }
                else if (BracedVariableRegex().Match(s) is { Success: true } bm)
                {
                    p.Add(ManifestProblem.Warning(path, $"'{bm.Value}' looks like an unexpanded variable"));
                }
                else if (path.EndsWith(".image", StringComparison.Ordinal) && BareVariableRegex().Match(s) is { Success: true } vm)
                {
                    p.Add(ManifestProblem.Error(path, $"image '{s}' holds the unexpanded variable '{vm.Value}'"));
                }

                break;
        }
    }

    private static void CheckTwinKeys(JsonNode node, string path, int depth, List<ManifestProblem> p)
    {
        if (node is not JsonObject o)
        {
            if (node is JsonArray arr)
            {
                for (var i = 0; i < arr.Count; i++)
                {
                    if (arr[i] is { } item)
                    {
                        CheckTwinKeys(item, JsonPath.Index(path, i), depth + 1, p);
                    }
                }
            }

            return;
        }

        if (depth > MaxDepth)
        {
            p.Add(ManifestProblem.Error(path, $"twin properties nest deeper than IoT Hub's {MaxDepth} levels"));
            return;
        }

        foreach (var (k, v) in o)
        {
            var kp = JsonPath.Child(path, k);
            if (k.Length == 0 || k.Length > 1024 || k.Any(c => c is '.' or '$' or '#' or ' ' || char.IsControl(c)))
            {
                p.Add(ManifestProblem.Error(kp, $"twin key '{k}' is invalid: IoT Hub keys are 1–1024 characters without '.', '$', '#', spaces or control characters"));
            }

            if (v is not null)
            {
                CheckTwinKeys(v, kp, depth + 1, p);
            }
        }
    }

    private static void ExpectString(JsonObject o, string name, string path, bool required, List<ManifestProblem> p)
    {
        var node = o[name];
        if (node is null)
        {
            if (required)
            {
                p.Add(ManifestProblem.Error(JsonPath.Child(path, name), "required string is missing"));
            }
        }
        else if (node.GetValueKind() != JsonValueKind.String)
        {
            p.Add(ManifestProblem.Error(JsonPath.Child(path, name), $"must be a string, found {CreateOptions.Describe(node)}"));
        }
    }

    private static void ExpectValue(JsonObject o, string name, string path, string[] allowed, bool required, List<ManifestProblem> p)
    {
        var node = o[name];
        var vp = JsonPath.Child(path, name);
        if (node is null)
        {
            if (required)
            {
                p.Add(ManifestProblem.Error(vp, $"required; one of: {string.Join(", ", allowed)}"));
            }

            return;
        }

        if (node.GetValueKind() != JsonValueKind.String || !allowed.Contains(node.GetValue<string>(), StringComparer.Ordinal))
        {
            p.Add(ManifestProblem.Error(vp, $"{node.ToJsonString()} is not one of: {string.Join(", ", allowed)}"));
        }
    }

    private static bool IsJsonObject(string text) => JsonError(text) is null;

    private static string? JsonError(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? null : $"found a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}";
        }
        catch (JsonException ex)
        {
            return ex.Message.Split(" Path:", StringSplitOptions.None)[0];
        }
    }

    [GeneratedRegex(@"^[^\.\$# ]+$")]
    private static partial Regex RouteNameRegex();

    [GeneratedRegex(@"^[A-Za-z0-9_\-]+$")]
    private static partial Regex ModuleIdRegex();

    [GeneratedRegex(@"<[A-Za-z_][A-Za-z0-9_.]*>")]
    private static partial Regex AnglePlaceholderRegex();

    [GeneratedRegex(@"\$\{[A-Za-z_][A-Za-z0-9_]*\}")]
    private static partial Regex BracedVariableRegex();

    [GeneratedRegex(@"\$[A-Z][A-Z0-9_]*")]
    private static partial Regex BareVariableRegex();

    [GeneratedRegex(@"^(?:(?<registry>(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)/)?(?<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$")]
    private static partial Regex ImageRegex();
}

/// <summary>Route syntax check used by the validator: the edgeHub route language parser of <c>Edge.Routing</c>.</summary>
internal static class RouteCheck
{
    /// <summary>The compiled route, or null with the parser's message.</summary>
    public static Route? Compile(string name, string text, int? priority, uint? ttl, out string? error)
    {
        try
        {
            error = null;
            return Route.Parse(name, text, priority, ttl ?? 0);
        }
        catch (RouteCompileException ex)
        {
            error = $"route does not compile: {ex.Message}";
            return null;
        }
        catch (ArgumentOutOfRangeException ex)
        {
            error = ex.Message.Split(" (Parameter", StringSplitOptions.None)[0];
            return null;
        }
    }

    /// <summary>The module a route source names (<c>/messages/modules/{id}/...</c>), or null.</summary>
    public static string? SourceModule(Route route)
    {
        const string prefix = "/messages/modules/";
        var source = route.Source;
        if (!source.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var id = source[prefix.Length..].Split('/')[0];
        return id is "" or "*" ? null : id;
    }
}
