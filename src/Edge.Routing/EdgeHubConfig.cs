using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Edge.Routing;

/// <summary>
/// The routing part of <c>$edgeHub</c> desired properties (docs/protocol.md, "$edgeHub desired properties"; edgeHub <c>EdgeHubConfigParser</c>,
/// <c>EdgeHubDesiredProperties_1_1</c>, <c>RouteSpec</c>, <c>StoreAndForwardConfiguration</c>).
/// </summary>
/// <param name="Routes">The compiled routes, in the order of the JSON object.</param>
/// <param name="TimeToLiveSecs">storeAndForwardConfiguration.timeToLiveSecs: seconds a message is kept for an unreachable endpoint; negative = forever.</param>
public sealed partial record EdgeHubConfig(IReadOnlyList<Route> Routes, int TimeToLiveSecs)
{
    /// <summary>The store-and-forward TTL when none is configured (edgeHub default: 7200 s).</summary>
    public const int DefaultTimeToLiveSecs = 7200;

    /// <summary>The schema versions accepted (1.0: string routes only; 1.1+: string or {route, priority, timeToLiveSecs}).</summary>
    public static IReadOnlyList<string> SupportedSchemaVersions { get; } = ["1.0", "1.1", "1.2", "1.3"];

    /// <summary>
    /// Parses <c>$edgeHub</c> desired properties. Collects every problem, each prefixed with its JSON path (<c>$.routes.alerts: ...</c>);
    /// <paramref name="config"/> is set only when there are none.
    /// </summary>
    public static bool TryParse(JsonObject desired, out EdgeHubConfig? config, out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(desired);
        var problems = new List<string>();
        config = null;

        var version = ParseSchemaVersion(desired, problems);
        var routes = new List<Route>();
        switch (desired["routes"])
        {
            case null when desired.ContainsKey("routes"):
                problems.Add("$.routes: expected an object of named routes, got null");
                break;
            case null:
                problems.Add("$.routes: required (an object of named routes; it may be empty)");
                break;
            case JsonObject routeObject:
                foreach (var (name, value) in routeObject)
                {
                    var route = ParseRoute(name, value, version, problems);
                    if (route is not null)
                    {
                        routes.Add(route);
                    }
                }

                break;
            case var other:
                problems.Add($"$.routes: expected an object of named routes, got {Kind(other)}");
                break;
        }

        var ttl = ParseStoreAndForward(desired, problems);
        errors = problems;
        if (problems.Count > 0)
        {
            return false;
        }

        config = new EdgeHubConfig(routes, ttl);
        return true;
    }

    /// <summary>The routes a message from <paramref name="message"/>'s source goes to, in priority order (0 first), ties by route order.</summary>
    public IEnumerable<Route> Match(RoutingMessage message) =>
        Routes.Where(r => r.IsMatch(message)).OrderBy(r => r.Priority);

    private static Version? ParseSchemaVersion(JsonObject desired, List<string> problems)
    {
        var node = desired["schemaVersion"];
        if (node is null)
        {
            problems.Add($"$.schemaVersion: required; supported versions are {string.Join(", ", SupportedSchemaVersions)}");
            return null;
        }

        if (node.GetValueKind() != JsonValueKind.String)
        {
            problems.Add($"$.schemaVersion: expected a string such as \"1.1\", got {Kind(node)}");
            return null;
        }

        var text = node.GetValue<string>();
        if (!Version.TryParse(text, out var v) || v.Major != 1 || v.Minor is < 0 or > 3 || v.Build > 0 || v.Revision > 0)
        {
            problems.Add($"$.schemaVersion: '{text}' is not supported; supported versions are {string.Join(", ", SupportedSchemaVersions)}");
            return null;
        }

        return v;
    }

    private static Route? ParseRoute(string name, JsonNode? value, Version? version, List<string> problems)
    {
        var path = "$.routes" + (SimpleName().IsMatch(name) ? "." + name : "['" + name.Replace("'", "\\'", StringComparison.Ordinal) + "']");
        var ok = true;
        if (!RouteName().IsMatch(name))
        {
            problems.Add($"{path}: invalid route name '{name}': a name must be non-empty and contain no '.', '$', '#' or space");
            ok = false;
        }

        string? text;
        int? priority = null;
        uint ttl = 0;
        switch (value)
        {
            case null:
                problems.Add($"{path}: expected a route string{(version is null || version.Minor >= 1 ? " or {route, priority, timeToLiveSecs}" : string.Empty)}, got null");
                return null;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                text = v.GetValue<string>();
                break;
            case JsonObject spec:
                if (version is { Minor: 0 })
                {
                    problems.Add($"{path}: schemaVersion 1.0 allows only route strings; use schemaVersion 1.1 or later for {{route, priority, timeToLiveSecs}}");
                    return null;
                }

                text = null;
                if (spec["route"] is JsonValue rv && rv.GetValueKind() == JsonValueKind.String)
                {
                    text = rv.GetValue<string>();
                }
                else
                {
                    problems.Add($"{path}.route: required string, got {(spec.ContainsKey("route") ? Kind(spec["route"]) : "nothing")}");
                    ok = false;
                }

                if (spec.ContainsKey("priority"))
                {
                    if (spec["priority"] is JsonValue pv && pv.GetValueKind() == JsonValueKind.Number && pv.TryGetValue<int>(out var p) && p is >= 0 and <= 9)
                    {
                        priority = p;
                    }
                    else
                    {
                        problems.Add($"{path}.priority: expected an integer 0 (highest) to 9, got {Describe(spec["priority"])}");
                        ok = false;
                    }
                }

                if (spec.ContainsKey("timeToLiveSecs"))
                {
                    if (spec["timeToLiveSecs"] is JsonValue tv && tv.GetValueKind() == JsonValueKind.Number && tv.TryGetValue<uint>(out var t))
                    {
                        ttl = t;
                    }
                    else
                    {
                        problems.Add($"{path}.timeToLiveSecs: expected an integer 0 to {uint.MaxValue} (0 = the global TTL), got {Describe(spec["timeToLiveSecs"])}");
                        ok = false;
                    }
                }

                break;
            default:
                problems.Add($"{path}: expected a route string{(version is { Minor: 0 } ? string.Empty : " or {route, priority, timeToLiveSecs}")}, got {Kind(value)}");
                return null;
        }

        if (text is null)
        {
            return null;
        }

        try
        {
            var route = Route.Parse(name, text, priority, ttl);
            return ok ? route : null;
        }
        catch (RouteCompileException ex)
        {
            problems.Add($"{path}: {ex.Message}");
            return null;
        }
    }

    private static int ParseStoreAndForward(JsonObject desired, List<string> problems)
    {
        if (!desired.TryGetPropertyValue("storeAndForwardConfiguration", out var node) || node is null)
        {
            return DefaultTimeToLiveSecs;
        }

        if (node is not JsonObject sf)
        {
            problems.Add($"$.storeAndForwardConfiguration: expected an object, got {Kind(node)}");
            return DefaultTimeToLiveSecs;
        }

        var ttl = DefaultTimeToLiveSecs;
        if (sf.TryGetPropertyValue("timeToLiveSecs", out var t) && t is not null)
        {
            if (t is JsonValue tv && tv.GetValueKind() == JsonValueKind.Number && tv.TryGetValue<int>(out var secs))
            {
                ttl = secs;
            }
            else
            {
                problems.Add($"$.storeAndForwardConfiguration.timeToLiveSecs: expected an integer number of seconds (negative = forever), got {Describe(t)}");
            }
        }

        if (sf["storeLimits"] is { } limits)
        {
            if (limits is not JsonObject lo)
            {
                problems.Add($"$.storeAndForwardConfiguration.storeLimits: expected an object, got {Kind(limits)}");
            }
            else if (lo["maxSizeBytes"] is { } max && !(max is JsonValue mv && mv.GetValueKind() == JsonValueKind.Number && mv.TryGetValue<long>(out var bytes) && bytes > 0))
            {
                problems.Add($"$.storeAndForwardConfiguration.storeLimits.maxSizeBytes: expected a positive integer, got {Describe(max)}");
            }
        }

        return ttl;
    }

    private static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        _ => node.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "null",
        },
    };

    private static string Describe(JsonNode? node) => node is JsonValue ? node.ToJsonString() : Kind(node);

    // Twin key rules (docs/protocol.md, "Routes"): no '.', '$', '#' or space.
    [GeneratedRegex(@"^[^\.\$# ]+\z")]
    private static partial Regex RouteName();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex SimpleName();
}
