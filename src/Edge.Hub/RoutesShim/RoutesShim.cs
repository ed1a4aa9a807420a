// TEMPORARY: mirrors the API of branch `routes` (src/Edge.Deployment/Routing) until it lands; deleted on merge.
using System.Text.Json.Nodes;

namespace Edge.Deployment.Routing;

internal enum ConditionResult { True, False, Undefined }

internal abstract record RouteSink;

internal sealed record UpstreamSink : RouteSink
{
    public override string ToString() => "$upstream";
}

internal sealed record ModuleInputSink(string ModuleId, string InputName) : RouteSink
{
    public override string ToString() => $"BrokeredEndpoint(\"/modules/{ModuleId}/inputs/{InputName}\")";
}

internal sealed record RoutingMessage(string Source, ReadOnlyMemory<byte> Body,
    IReadOnlyDictionary<string, string> Properties, IReadOnlyDictionary<string, string> SystemProperties);

internal sealed class Route
{
    private Route(string name, string text, string source, RouteSink sink, int priority, uint ttl)
    {
        Name = name;
        Text = text;
        Source = source;
        Sink = sink;
        Priority = priority;
        TimeToLiveSecs = ttl;
    }

    public string Name { get; }

    public string Text { get; }

    public string Source { get; }

    public RouteSink Sink { get; }

    public int Priority { get; }

    public uint TimeToLiveSecs { get; }

    public static Route Parse(string name, string text, int? priority = null, uint timeToLiveSecs = 0)
    {
        var from = text.IndexOf("FROM ", StringComparison.OrdinalIgnoreCase);
        var into = text.IndexOf(" INTO ", StringComparison.OrdinalIgnoreCase);
        var source = text[(from + 5)..into].Trim();
        var where = source.IndexOf(" WHERE ", StringComparison.OrdinalIgnoreCase);
        if (where >= 0)
        {
            source = source[..where];
        }

        var sinkText = text[(into + 6)..].Trim();
        RouteSink sink;
        if (sinkText.Equals("$upstream", StringComparison.OrdinalIgnoreCase))
        {
            sink = new UpstreamSink();
        }
        else
        {
            var parts = sinkText[(sinkText.IndexOf('(', StringComparison.Ordinal) + 2)..^2].Trim('/').Split('/');
            sink = new ModuleInputSink(parts[1], parts[3]);
        }

        return new Route(name, text, source, sink, priority ?? 2_000_000_000, timeToLiveSecs);
    }

    public bool SourceMatches(string messageSource)
    {
        var s = Source.TrimEnd('*').TrimEnd('/') + "/";
        return (messageSource + "/").StartsWith(s, StringComparison.OrdinalIgnoreCase);
    }

    public ConditionResult Evaluate(RoutingMessage message) => ConditionResult.True;

    public bool IsMatch(RoutingMessage message) => SourceMatches(message.Source) && Evaluate(message) == ConditionResult.True;
}

internal sealed record EdgeHubConfig(IReadOnlyList<Route> Routes, int TimeToLiveSecs)
{
    public static bool TryParse(JsonObject desired, out EdgeHubConfig? config, out IReadOnlyList<string> errors)
    {
        var routes = new List<Route>();
        var ttl = desired["storeAndForwardConfiguration"]?["timeToLiveSecs"]?.GetValue<int>() ?? 7200;
        if (desired["routes"] is JsonObject r)
        {
            foreach (var (name, value) in r)
            {
                if (value is JsonObject o)
                {
                    routes.Add(Route.Parse(name, o["route"]!.GetValue<string>(), o["priority"]?.GetValue<int>(), o["timeToLiveSecs"]?.GetValue<uint>() ?? 0));
                }
                else
                {
                    routes.Add(Route.Parse(name, value!.GetValue<string>()));
                }
            }
        }

        config = new EdgeHubConfig(routes, ttl);
        errors = [];
        return true;
    }
}
