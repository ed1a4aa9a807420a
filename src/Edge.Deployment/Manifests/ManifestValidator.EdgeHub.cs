using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Routing;

namespace Edge.Deployment.Manifests;

/// <summary>The <c>$edgeHub</c> rules: schema version, routes (syntax, names, priority, TTL, the modules they name), store-and-forward.</summary>
public static partial class ManifestValidator
{
    private static void ValidateHub(JsonObject d, string path, HashSet<string>? moduleIds, List<ManifestProblem> p)
    {
        var before = p.Count(x => x.Severity == ManifestSeverity.Error);
        ValidateHubSection(d, path, moduleIds, p);

        // Whatever the checks above accept, the simulator's edgeHub config parser must accept too.
        if (p.Count(x => x.Severity == ManifestSeverity.Error) == before && !EdgeHubConfig.TryParse(d, out _, out var errors))
        {
            foreach (var e in errors)
            {
                var colon = e.IndexOf(": ", StringComparison.Ordinal);
                var at = colon > 1 && e.StartsWith('$') ? path + e[1..colon] : path;
                p.Add(ManifestProblem.Error(at, colon > 1 ? e[(colon + 2)..] : e));
            }
        }
    }

    private static void ValidateHubSection(JsonObject d, string path, HashSet<string>? moduleIds, List<ManifestProblem> p)
    {
        var schema = CheckSchemaVersion(d, path, maxMinor: 3, "$edgeHub", p);
        var routesPath = JsonPath.Child(path, "routes");
        if (d["routes"] is not JsonObject routes)
        {
            p.Add(ManifestProblem.Error(routesPath, d.ContainsKey("routes") ? "must be an object of name → route" : "required object is missing (it may be empty)"));
        }
        else
        {
            foreach (var (name, node) in routes)
            {
                var rp = JsonPath.Child(routesPath, name);
                if (!RouteNameRegex().IsMatch(name))
                {
                    p.Add(ManifestProblem.Error(rp, "a route name may not contain '.', '$', '#' or spaces"));
                }

                string? text = null;
                int? priority = null;
                uint? ttl = null;
                if (node?.GetValueKind() == JsonValueKind.String)
                {
                    text = node.GetValue<string>();
                }
                else if (node is JsonObject spec)
                {
                    if (schema is not null && schema < new Version(1, 1))
                    {
                        p.Add(ManifestProblem.Error(rp, "route objects (priority, timeToLiveSecs) need $edgeHub schemaVersion 1.1 or later"));
                    }

                    if (spec["route"]?.GetValueKind() == JsonValueKind.String)
                    {
                        text = spec["route"]!.GetValue<string>();
                    }
                    else
                    {
                        p.Add(ManifestProblem.Error(JsonPath.Child(rp, "route"), "required route string is missing"));
                    }

                    if (spec["priority"] is { } pr)
                    {
                        if (pr.GetValueKind() == JsonValueKind.Number && pr.AsValue().TryGetValue<int>(out var pv) && pv is >= 0 and <= 9)
                        {
                            priority = pv;
                        }
                        else
                        {
                            p.Add(ManifestProblem.Error(JsonPath.Child(rp, "priority"), $"must be an integer 0 (highest) to 9, found {pr.ToJsonString()}"));
                        }
                    }

                    if (spec["timeToLiveSecs"] is { } t)
                    {
                        if (t.GetValueKind() == JsonValueKind.Number && t.AsValue().TryGetValue<uint>(out var tv))
                        {
                            ttl = tv;
                        }
                        else
                        {
                            p.Add(ManifestProblem.Error(JsonPath.Child(rp, "timeToLiveSecs"), $"must be a non-negative integer of seconds, found {t.ToJsonString()}"));
                        }
                    }

                    foreach (var (key, _) in spec)
                    {
                        if (key is not ("route" or "priority" or "timeToLiveSecs"))
                        {
                            p.Add(ManifestProblem.Warning(JsonPath.Child(rp, key), "unknown route field (edgeHub reads route, priority, timeToLiveSecs)"));
                        }
                    }
                }
                else
                {
                    p.Add(ManifestProblem.Error(rp, $"must be a route string or {{route, priority, timeToLiveSecs}}, found {CreateOptions.Describe(node)}"));
                }

                if (text is null)
                {
                    continue;
                }

                var route = RouteCheck.Compile(name, text, priority, ttl, out var error);
                if (route is null)
                {
                    p.Add(ManifestProblem.Error(rp, error!));
                    continue;
                }

                if (moduleIds is not null)
                {
                    CheckRouteModules(route, rp, moduleIds, p);
                }
            }
        }

        var sfPath = JsonPath.Child(path, "storeAndForwardConfiguration");
        if (d["storeAndForwardConfiguration"] is JsonObject sf)
        {
            if (sf["timeToLiveSecs"] is { } t && !(t.GetValueKind() == JsonValueKind.Number && t.AsValue().TryGetValue<int>(out _)))
            {
                p.Add(ManifestProblem.Error(JsonPath.Child(sfPath, "timeToLiveSecs"), $"must be an integer of seconds (negative: keep forever), found {t.ToJsonString()}"));
            }
        }
        else if (d["storeAndForwardConfiguration"] is { } other)
        {
            p.Add(ManifestProblem.Error(sfPath, $"must be an object, found {CreateOptions.Describe(other)}"));
        }
        else
        {
            p.Add(ManifestProblem.Warning(sfPath, "missing: edgeHub keeps undelivered messages for its default 7200 s"));
        }
    }

    private static void CheckRouteModules(Route route, string path, HashSet<string> moduleIds, List<ManifestProblem> p)
    {
        var names = new List<(string Name, string Role)>();
        if (RouteCheck.SourceModule(route) is { } source)
        {
            names.Add((source, "reads from"));
        }

        if (route.Sink is ModuleInputSink sink)
        {
            names.Add((sink.ModuleId, "delivers to"));
        }

        foreach (var (name, role) in names.Distinct())
        {
            if (name == "*" || moduleIds.Contains(name))
            {
                continue;
            }

            var near = moduleIds.FirstOrDefault(id => string.Equals(id, name, StringComparison.OrdinalIgnoreCase));
            p.Add(ManifestProblem.Warning(path, near is not null
                ? $"the route {role} module '{name}', which is not deployed; module ids are case-sensitive: did you mean '{near}'?"
                : $"the route {role} module '{name}', which is not deployed by $edgeAgent"));
        }
    }
}
