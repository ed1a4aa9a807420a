using System.Net;
using System.Text.Json;
using Edge.Cli.Fleet;
using Edge.Deployment.IoTHub;

namespace Edge.Cli;

/// <summary><c>edge twin get|set</c>: read a module twin, patch its desired properties with ETag concurrency.</summary>
internal sealed class TwinCommand : ICommand
{
    private const string GetUsage = "twin get <device> <module> " + FleetConnection.Usage;
    private const string SetUsage = "twin set <device> <module> key=value... [--etag <etag>|*]   (JSON values, a.b=1 nests, key=null deletes)";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public string Name => "twin";

    public string Usage => $"{GetUsage}\n{SetUsage}";

    public Task<int> RunAsync(string[] args, CancellationToken ct) => FleetConnection.RunAsync("twin", Usage, async () =>
    {
        var sub = args.Length > 0 ? args[0] : "";
        if (sub is not ("get" or "set"))
        {
            throw new UsageException(sub.Length == 0 ? "get or set?" : $"unknown subcommand '{sub}'");
        }

        var line = CommandLine.Parse(args[1..], [.. FleetConnection.Options, "etag"], []);
        if (line.Positionals.Count < 2 || (sub == "get" && line.Positionals.Count != 2) || (sub == "set" && line.Positionals.Count < 3))
        {
            throw new UsageException(sub == "get" ? "give <device> <module>" : "give <device> <module> key=value...");
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

        System.Text.Json.Nodes.JsonObject patch;
        try
        {
            patch = TwinPatch.Parse(line.Positionals.Skip(2));
        }
        catch (FormatException ex)
        {
            throw new UsageException(ex.Message);
        }

        var etag = line.Get("etag");
        if (etag is null)
        {
            var current = await client.GetModuleTwinAsync(device, module, ct).ConfigureAwait(false);
            etag = current["etag"]?.GetValue<string>() ?? "*";
        }

        try
        {
            var updated = await client.UpdateModuleTwinDesiredAsync(device, module, patch, etag, ct).ConfigureAwait(false);
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
            return 1;
        }
    });
}
