using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Routing;

namespace Edge.Cli;

/// <summary>
/// <c>edge route eval</c>: evaluates a route condition or a whole route against a message described in a JSON file, the
/// same way the hub does, so a route can be tried before it is deployed.
/// </summary>
public sealed class RouteCommand : ICommand
{
    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly TextReader _in;

    public RouteCommand()
        : this(Console.Out, Console.Error, Console.In)
    {
    }

    /// <summary>A command that writes to the given writers (tests run it in-process).</summary>
    public RouteCommand(TextWriter stdout, TextWriter stderr, TextReader stdin)
    {
        _out = stdout;
        _err = stderr;
        _in = stdin;
    }

    public string Name => "route";

    public string Usage =>
        "route eval --condition '<expr>' --message <file.json|->  prints true, false or undefined\n" +
        "route eval --route '<route>' --message <file.json|->     prints the sink or 'no match'";

    public string Description => "evaluate a route or a route condition against a message, as the hub does";

    IReadOnlyList<Subcommand> ICommand.Subcommands =>
    [
        new("eval", "print a condition's result, or the sink a route sends the message to", Usage + "\n" + MessageFileHelp,
        [
            "edge route eval --condition \"severity = 'high'\" --message msg.json",
            "edge route eval --route 'FROM /messages/modules/Inference/* INTO $upstream' --message msg.json",
            "echo '{\"body\":{\"faces\":2},\"contentType\":\"application/json\",\"contentEncoding\":\"utf-8\"}' \\",
            "  | edge route eval --condition '$body.faces >= 2' --message -",
        ]),
    ];

    private const string MessageFileHelp =
        "  The message file is JSON: {\"body\": {...} or \"text\", \"contentType\": \"application/json\",\n" +
        "  \"contentEncoding\": \"utf-8\", \"properties\": {\"severity\": \"high\"}, \"systemProperties\":\n" +
        "  {\"connectionModuleId\": \"camera\", \"outputName\": \"frames\"},\n" +
        "  \"source\": \"/messages/modules/camera/outputs/frames\"}\n" +
        "  (source is optional: derived from connectionModuleId/outputName, else /messages)";

    public async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        if (args.Length == 0)
        {
            await _err.WriteLineAsync("edge route: give a subcommand: eval (edge route --help shows the usage)").ConfigureAwait(false);
            return 2;
        }

        if (args[0] is "-h" or "--help" or "help")
        {
            await _out.WriteLineAsync(UsageText()).ConfigureAwait(false);
            return 0;
        }

        if (args[0] != "eval")
        {
            await _err.WriteLineAsync($"edge route: unknown subcommand '{args[0]}' (the subcommand is eval; edge route --help shows the usage)").ConfigureAwait(false);
            return 2;
        }

        string? condition = null, route = null, messagePath = null;
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--condition" when value is not null:
                    condition = value;
                    i++;
                    break;
                case "--route" when value is not null:
                    route = value;
                    i++;
                    break;
                case "--message" when value is not null:
                    messagePath = value;
                    i++;
                    break;
                default:
                    await _err.WriteLineAsync($"edge route eval: unexpected argument '{args[i]}'{(value is null && args[i].StartsWith("--", StringComparison.Ordinal) ? " (missing its value)" : string.Empty)} (edge route eval --help shows the usage)").ConfigureAwait(false);
                    return 2;
            }
        }

        if ((condition is null) == (route is null) || messagePath is null)
        {
            await _err.WriteLineAsync("edge route eval: give exactly one of --condition or --route, and --message (edge route eval --help shows the usage)").ConfigureAwait(false);
            return 2;
        }

        string json;
        try
        {
            json = messagePath == "-"
                ? await _in.ReadToEndAsync(ct).ConfigureAwait(false)
                : await File.ReadAllTextAsync(messagePath, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await _err.WriteLineAsync($"edge route eval: cannot read message file '{messagePath}': {ex.Message}").ConfigureAwait(false);
            return 2;
        }

        if (!TryReadMessage(json, out var message, out var error, out var note))
        {
            await _err.WriteLineAsync($"edge route eval: invalid message file '{messagePath}': {error}").ConfigureAwait(false);
            return 2;
        }

        try
        {
            if (condition is not null)
            {
                var result = RouteCondition.Evaluate(condition, message!);
                await _out.WriteLineAsync(result switch
                {
                    ConditionResult.True => "true",
                    ConditionResult.False => "false",
                    _ => "undefined",
                }).ConfigureAwait(false);
                if (result == ConditionResult.Undefined && note is not null)
                {
                    await _err.WriteLineAsync("note: " + note).ConfigureAwait(false);
                }

                return 0;
            }

            var parsed = Route.Parse("cli", route!);
            if (!parsed.SourceMatches(message!.Source))
            {
                await _out.WriteLineAsync("no match").ConfigureAwait(false);
                await _err.WriteLineAsync($"note: the message source '{message.Source}' is not under the route source '{parsed.Source}'").ConfigureAwait(false);
                return 0;
            }

            var evaluation = parsed.Evaluate(message);
            if (evaluation == ConditionResult.True)
            {
                await _out.WriteLineAsync(parsed.Sink.ToString()).ConfigureAwait(false);
                return 0;
            }

            await _out.WriteLineAsync("no match").ConfigureAwait(false);
            await _err.WriteLineAsync($"note: the condition is {(evaluation == ConditionResult.False ? "false" : "undefined")}{(evaluation == ConditionResult.Undefined && note is not null ? "; " + note : string.Empty)}").ConfigureAwait(false);
            return 0;
        }
        catch (RouteCompileException ex)
        {
            await _err.WriteLineAsync($"edge route eval: {(condition is not null ? "condition" : "route")} does not compile: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
    }

    /// <summary>
    /// Reads the message file: <c>body</c> (a JSON value, or a string used as is), <c>contentType</c>, <c>contentEncoding</c>,
    /// <c>properties</c> and <c>systemProperties</c> (string or null values), and <c>source</c> (default from connectionModuleId/outputName).
    /// </summary>
    public static bool TryReadMessage(string json, out RoutingMessage? message, out string error, out string? note)
    {
        message = null;
        note = null;
        JsonObject root;
        try
        {
            if (JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) is not JsonObject o)
            {
                error = "expected a JSON object with body, contentType, contentEncoding, properties, systemProperties, source";
                return false;
            }

            root = o;
        }
        catch (JsonException ex)
        {
            error = "not valid JSON: " + ex.Message;
            return false;
        }

        var known = new HashSet<string>(StringComparer.Ordinal) { "body", "contentType", "contentEncoding", "properties", "systemProperties", "source" };
        var unknown = root.Select(p => p.Key).Where(k => !known.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            error = $"unknown key(s) {string.Join(", ", unknown.Select(k => "'" + k + "'"))}; expected {string.Join(", ", known)}";
            return false;
        }

        if (!TryReadStringMap(root, "properties", out var properties, out error) || !TryReadStringMap(root, "systemProperties", out var system, out error))
        {
            return false;
        }

        foreach (var key in new[] { "contentType", "contentEncoding", "source" })
        {
            if (root[key] is { } n && n.GetValueKind() != JsonValueKind.String)
            {
                error = $"'{key}' must be a string";
                return false;
            }
        }

        if (root["contentType"] is { } contentType)
        {
            system["contentType"] = contentType.GetValue<string>();
        }

        if (root["contentEncoding"] is { } contentEncoding)
        {
            system["contentEncoding"] = contentEncoding.GetValue<string>();
        }

        system.TryGetValue("contentEncoding", out var enc);
        var encoding = enc switch
        {
            null => Encoding.UTF8,
            _ when enc.Equals("utf-16", StringComparison.OrdinalIgnoreCase) => Encoding.Unicode,
            _ when enc.Equals("utf-32", StringComparison.OrdinalIgnoreCase) => Encoding.UTF32,
            _ => Encoding.UTF8,
        };

        byte[] body = root["body"] switch
        {
            null => [],
            JsonValue v when v.GetValueKind() == JsonValueKind.String => encoding.GetBytes(v.GetValue<string>()),
            var v => encoding.GetBytes(v.ToJsonString()),
        };

        var jsonDeclared = system.TryGetValue("contentType", out var ct) && ct is not null && ct.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            && enc is not null && (enc.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || enc.Equals("utf-16", StringComparison.OrdinalIgnoreCase) || enc.Equals("utf-32", StringComparison.OrdinalIgnoreCase));
        if (!jsonDeclared)
        {
            note = "$body queries are undefined unless contentType is application/json and contentEncoding is utf-8, utf-16 or utf-32";
        }

        var source = root["source"]?.GetValue<string>();
        if (source is null)
        {
            system.TryGetValue("connectionModuleId", out var module);
            system.TryGetValue("outputName", out var output);
            source = module is null ? "/messages" : output is null ? $"/messages/modules/{module}" : $"/messages/modules/{module}/outputs/{output}";
        }

        message = RoutingMessage.Create(source, body, properties, system);
        error = string.Empty;
        return true;
    }

    // Values are strings or null: edgeHub's message model (and its routing tests) has null-valued properties, which is_defined,
    // is_null, || and comparisons treat in their own way (docs/routes.md).
    private static bool TryReadStringMap(JsonObject root, string key, out Dictionary<string, string?> map, out string error)
    {
        map = new Dictionary<string, string?>(StringComparer.Ordinal);
        error = string.Empty;
        switch (root[key])
        {
            case null:
                return true;
            case JsonObject o:
                foreach (var (k, v) in o)
                {
                    if (v is null)
                    {
                        map[k] = null;
                        continue;
                    }

                    if (v.GetValueKind() != JsonValueKind.String)
                    {
                        error = $"'{key}.{k}' must be a string or null (property values are strings; write \"{k}\": \"{v.ToJsonString().Trim('"')}\")";
                        return false;
                    }

                    map[k] = v.GetValue<string>();
                }

                return true;
            default:
                error = $"'{key}' must be an object of string (or null) values";
                return false;
        }
    }

    private string UsageText() =>
        "usage: edge " + Usage.Replace("\n", "\n       edge ", StringComparison.Ordinal) + "\n\n" +
        "The message file is JSON: {\"body\": {...} or \"text\", \"contentType\": \"application/json\", \"contentEncoding\": \"utf-8\",\n" +
        "  \"properties\": {\"severity\": \"high\"}, \"systemProperties\": {\"connectionModuleId\": \"camera\", \"outputName\": \"frames\"},\n" +
        "  (property values are strings, or null for a null-valued property)\n" +
        "  \"source\": \"/messages/modules/camera/outputs/frames\" (optional: derived from connectionModuleId/outputName, else /messages)}\n" +
        "Exit codes: 0 evaluated, 2 usage error, invalid message file or a route/condition that does not compile.";
}
