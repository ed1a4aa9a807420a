using System.Text.Json.Nodes;
using Edge.Cli.Fleet;
using Edge.Deployment.Manifests;

namespace Edge.Cli;

/// <summary><c>edge deploy</c>: apply a manifest to one edge device, or create an at-scale deployment.</summary>
internal sealed class DeployCommand : ICommand
{
    private const string UsageText =
        "deploy <manifest.json> --device <id> [--force]\n" +
        "deploy <manifest.json> --at-scale <deployment-id> --target-condition \"tags.x='y'\"\n" +
        "  [--priority N] [--metric name=query]... [--label key=value]... [--force]\n" +
        FleetConnection.Usage;

    public string Name => "deploy";

    public string Description => "apply a manifest to one edge device, or create an at-scale deployment";

    public string Usage => UsageText;

    public IReadOnlyList<string> Examples =>
    [
        "edge deploy config/deployment.amd64.json --device cam-gw-01",
        "edge deploy config/deployment.amd64.json --at-scale cams-v2 --target-condition \"tags.site='lab'\"",
    ];

    public Task<int> RunAsync(string[] args, CancellationToken ct) => FleetConnection.RunAsync("deploy", async () =>
    {
        var line = CommandLine.Parse(args, [.. FleetConnection.Options, "device", "at-scale", "target-condition", "priority", "metric", "label"], ["force"]);
        if (line.Positionals.Count != 1)
        {
            throw new UsageException("give one manifest file");
        }

        var device = line.Get("device");
        var configId = line.Get("at-scale");
        if ((device is null) == (configId is null))
        {
            throw new UsageException("give either --device <id> or --at-scale <deployment-id>");
        }

        var path = line.Positionals[0];
        if (!File.Exists(path))
        {
            throw new UsageException($"manifest '{path}' not found");
        }

        var text = await File.ReadAllTextAsync(path, ct).ConfigureAwait(false);
        var problems = ManifestValidator.Validate(text);
        await ManifestCommand.PrintAsync(problems).ConfigureAwait(false);
        if (problems.Any(p => p.Severity == ManifestSeverity.Error) && !line.Has("force"))
        {
            await Console.Error.WriteLineAsync("edge deploy: the manifest has errors; nothing was deployed (fix them, or --force)").ConfigureAwait(false);
            return 2;
        }

        var root = ManifestJson.Parse(text);
        var content = root["modulesContent"] as JsonObject ?? (root["content"] as JsonObject)?["modulesContent"] as JsonObject ?? root["moduleContent"] as JsonObject
            ?? throw new UsageException("the manifest has no modulesContent");

        using var loggers = FleetConnection.CreateLoggers();
        using var client = FleetConnection.CreateClient(line, loggers);
        if (device is not null)
        {
            await client.ApplyConfigurationContentAsync(device, content, ct).ConfigureAwait(false);
            await Console.Out.WriteLineAsync($"applied {path} to edge device '{device}' ({content.Count} module twins)").ConfigureAwait(false);
            return 0;
        }

        if (!IsValidConfigurationId(configId!))
        {
            throw new UsageException($"deployment id '{configId}' is invalid: lower-case, at most 128 characters, no spaces or & ^ [ ] {{ }} \\ | \" < > /");
        }

        var condition = line.Get("target-condition") ?? throw new UsageException("--at-scale needs --target-condition (for example \"tags.environment='prod'\")");
        var priority = line.GetInt("priority", 0, 0, int.MaxValue);
        var created = await client.CreateDeploymentAsync(configId!, content, condition, priority, Pairs(line.GetAll("metric"), "metric"), Pairs(line.GetAll("label"), "label"), ct).ConfigureAwait(false);
        await Console.Out.WriteLineAsync($"created deployment '{configId}' (priority {priority}, target {condition}, etag {created["etag"]?.ToString() ?? "-"})").ConfigureAwait(false);
        return 0;
    });

    internal static bool IsValidConfigurationId(string id) =>
        id.Length is > 0 and <= 128 && id == id.ToLowerInvariant() && !id.Any(c => char.IsWhiteSpace(c) || "&^[]{}\\|\"<>/".Contains(c, StringComparison.Ordinal));

    private static Dictionary<string, string> Pairs(IReadOnlyList<string> items, string what)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new UsageException($"--{what} takes name=value, not '{item}'");
            }

            result[item[..eq]] = item[(eq + 1)..];
        }

        return result;
    }
}
