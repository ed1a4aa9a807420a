using System.Net;
using System.Text.Json;
using Edge.Cli.Fleet;
using Edge.Deployment.IoTHub;

namespace Edge.Cli;

/// <summary><c>edge twin get|set</c>: read a module twin, patch its desired properties with ETag concurrency.</summary>
internal sealed class TwinCommand : ICommand
{
    private const string GetUsage = "twin get <device> <module>\n" + FleetConnection.Usage;

    private const string SetUsage =
        "twin set <device> <module> key=value... [--json] [--etag <etag>|*]\n" + FleetConnection.Usage + "\n" +
        "  values stay strings unless plainly JSON: true, false, null (deletes the key), {...}, [...],\n" +
        "  \"quoted\" strings, plain numbers (10, -3, 0.75); 52224e611572, 007, 1e3 stay strings.\n" +
        "  --json: every value is JSON (a string needs quotes: name='\"cam 1\"'). a.b=1 nests.\n" +
        "  Quote for the shell: key='{\"fps\": 10}', key='\"42\"' (the string 42).";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public string Name => "twin";

    public string Description => "read a module twin, or patch its desired properties (ETag checked)";

    public string Usage => $"{GetUsage}\n{SetUsage}";

    public IReadOnlyList<Subcommand> Subcommands =>
    [
        new("get", "print a module twin (tags, desired and reported properties, etag)", GetUsage, ["edge twin get my-device Inference"]),
        new("set", "merge-patch desired properties from key=value pairs, checked against the twin's ETag", SetUsage,
        [
            "edge twin set my-device Inference thresholds.minScore=0.7 runId=52224e611572  # a string",
            "edge twin set my-device CameraCapture cameras='[{\"id\":\"cam1\",\"fps\":10}]'",
            "edge twin set my-device Inference --json label='\"v2\"' limits='{\"max\": 5}'",
            "edge twin set my-device Inference obsolete=null --etag '*'   # delete a key, overwrite",
        ]),
    ];

    public Task<int> RunAsync(string[] args, CancellationToken ct) => FleetConnection.RunAsync(args.Length > 0 && args[0] is "get" or "set" ? "twin " + args[0] : "twin", async () =>
    {
        var sub = args.Length > 0 ? args[0] : "";
        if (sub is not ("get" or "set"))
        {
            throw new UsageException(sub.Length == 0 ? "give a subcommand: get or set" : $"unknown subcommand '{sub}' (get or set)");
        }

        var line = sub == "get"
            ? CommandLine.Parse(args[1..], FleetConnection.Options, [])
            : CommandLine.Parse(args[1..], [.. FleetConnection.Options, "etag"], ["json"]);
        if (line.Positionals.Count < 2 || (sub == "get" && line.Positionals.Count != 2) || (sub == "set" && line.Positionals.Count < 3))
        {
            throw new UsageException(sub == "get" ? "give <device> <module>" : "give <device> <module> key=value...");
        }

        // The patch is checked before anything is sent.
        System.Text.Json.Nodes.JsonObject? patch = null;
        if (sub == "set")
        {
            try
            {
                patch = TwinPatch.Parse(line.Positionals.Skip(2), json: line.Has("json"));
            }
            catch (FormatException ex)
            {
                throw new UsageException(ex.Message);
            }
        }

        var (device, module) = (line.Positionals[0], line.Positionals[1]);
        using var loggers = FleetConnection.CreateLoggers();
        using var client = FleetConnection.CreateClient(line, loggers);
        if (sub == "get")
        {
            var twin = await client.GetModuleTwinAsync(device, module, ct).ConfigureAwait(false);
            await Console.Out.WriteLineAsync(twin.ToJsonString(Indented)).ConfigureAwait(false);
            return 0;
        }

        var etag = line.Get("etag");
        if (etag is null)
        {
            var current = await client.GetModuleTwinAsync(device, module, ct).ConfigureAwait(false);
            etag = current["etag"]?.GetValue<string>() ?? "*";
        }

        try
        {
            var updated = await client.UpdateModuleTwinDesiredAsync(device, module, patch!, etag, ct).ConfigureAwait(false);
            var desired = updated["properties"]?["desired"];
            await Console.Out.WriteLineAsync($"patched {device}/{module} (etag {updated["etag"]?.ToString() ?? "-"}, desired $version {desired?["$version"]?.ToString() ?? "-"})").ConfigureAwait(false);
            if (desired is not null)
            {
                await Console.Out.WriteLineAsync(desired.ToJsonString(Indented)).ConfigureAwait(false);
            }

            return 0;
        }
        catch (IoTHubException ex) when (ex.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            await Console.Error.WriteLineAsync(
                $"edge twin: the twin changed after ETag {etag} was read, so nothing was written ({ex.Message}). Run it again, or pass --etag '*' to overwrite.").ConfigureAwait(false);
            return ExitCodes.Failed;
        }
    });
}
