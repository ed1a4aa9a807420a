using System.Diagnostics;
using System.Text.Json.Nodes;
using Edge.Deployment.Manifests;

namespace Edge.Bench.Deployment;

/// <summary>
/// <c>edge manifest build</c> and <c>validate</c> work, against an interactive-command budget of 100 ms per manifest:
/// the solution template (expand, chunk createOptions, serialise, validate) and a worst-case manifest at the 50-module limit.
/// </summary>
public sealed class ManifestBench : IBenchSuite
{
    private const double LimitMs = 100;

    public string Name => "manifest";

    public string Description => "template build and manifest validation vs a 100 ms interactive budget";

    public Task<int> RunAsync(string[] args)
    {
        var iterations = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 300;
        var root = Edge.TestSupport.Assets.RepoRoot;
        var template = File.ReadAllText(Path.Combine(root, "deployment.template.json"));
        var options = new ManifestBuildOptions("arm64v8", new VariableSet([
            new("CONTAINER_REGISTRY_ADDRESS", "contoso.azurecr.io"), new("CONTAINER_REGISTRY_USERNAME", "contoso"), new("CONTAINER_REGISTRY_PASSWORD", "pw")]),
            ModuleCatalog.FromSolution(root));
        var big = FiftyModules();
        var bigText = ManifestJson.Serialize(big);

        Console.WriteLine($"{iterations} iterations each after warm-up; limit {LimitMs} ms per manifest (an interactive command step).\n");
        Console.WriteLine("| case | size | median ms | p99 ms | limit ms | p99 / limit |");
        Console.WriteLine("|---|---|---|---|---|---|");
        Report("build solution template (arm64v8) + serialise", $"{template.Length / 1024.0:0.0} KB", iterations, () => ManifestJson.Serialize(ManifestBuilder.Build(template, options)));
        Report("validate built solution manifest", $"{template.Length / 1024.0:0.0} KB", iterations, () => ManifestValidator.Validate(ManifestBuilder.Build(template, options)));
        Report("validate 50 modules, 50 routes with WHERE, chunked createOptions", $"{bigText.Length / 1024.0:0.0} KB", iterations, () => ManifestValidator.Validate(bigText));
        return Task.FromResult(0);
    }

    private static void Report(string name, string size, int iterations, Func<object> work)
    {
        for (var i = 0; i < 20; i++)
        {
            work();
        }

        var times = new double[iterations];
        for (var i = 0; i < iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            work();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(times);
        var median = times[iterations / 2];
        var p99 = times[Math.Min(iterations - 1, (int)(iterations * 0.99))];
        Console.WriteLine($"| {name} | {size} | {median:0.000} | {p99:0.000} | {LimitMs:0} | {p99 / LimitMs:0.0000} |");
    }

    private static JsonObject FiftyModules()
    {
        var modules = new JsonObject();
        var routes = new JsonObject();
        var twins = new JsonObject();
        for (var i = 0; i < 50; i++)
        {
            var id = $"module{i:00}";
            var createOptions = new JsonObject
            {
                ["HostConfig"] = new JsonObject
                {
                    ["Binds"] = new JsonArray($"/var/lib/{id}:/app/state"),
                    ["Labels"] = new JsonObject { ["description"] = new string('x', 1100) },
                },
            };
            var settings = new JsonObject { ["image"] = $"contoso.azurecr.io/{id}:1.0.{i}-arm64v8", ["createOptions"] = createOptions.ToJsonString() };
            CreateOptions.Normalize(settings, "$", []);
            modules[id] = new JsonObject
            {
                ["version"] = "1.0", ["type"] = "docker", ["status"] = "running", ["restartPolicy"] = "always", ["startupOrder"] = i,
                ["env"] = new JsonObject { ["LEVEL"] = new JsonObject { ["value"] = "info" } },
                ["settings"] = settings,
            };
            routes[$"r{i}"] = new JsonObject
            {
                ["route"] = $"FROM /messages/modules/{id}/outputs/* WHERE is_defined($body.score) AND as_number(severity) > 2 INTO BrokeredEndpoint(\"/modules/module{(i + 1) % 50:00}/inputs/in\")",
                ["priority"] = i % 10, ["timeToLiveSecs"] = 600,
            };
            twins[id] = new JsonObject { ["properties.desired"] = new JsonObject { ["threshold"] = 0.5, ["labels"] = new JsonArray("a", "b") } };
        }

        var content = new JsonObject
        {
            ["$edgeAgent"] = new JsonObject
            {
                ["properties.desired"] = new JsonObject
                {
                    ["schemaVersion"] = "1.1",
                    ["runtime"] = new JsonObject { ["type"] = "docker", ["settings"] = new JsonObject { ["minDockerVersion"] = "v1.25" } },
                    ["systemModules"] = new JsonObject
                    {
                        ["edgeAgent"] = new JsonObject { ["type"] = "docker", ["settings"] = new JsonObject { ["image"] = "mcr.microsoft.com/azureiotedge-agent:1.5", ["createOptions"] = "{}" } },
                        ["edgeHub"] = new JsonObject { ["type"] = "docker", ["status"] = "running", ["restartPolicy"] = "always", ["settings"] = new JsonObject { ["image"] = "mcr.microsoft.com/azureiotedge-hub:1.5", ["createOptions"] = "{}" } },
                    },
                    ["modules"] = modules,
                },
            },
            ["$edgeHub"] = new JsonObject
            {
                ["properties.desired"] = new JsonObject { ["schemaVersion"] = "1.1", ["routes"] = routes, ["storeAndForwardConfiguration"] = new JsonObject { ["timeToLiveSecs"] = 7200 } },
            },
        };
        foreach (var (k, v) in twins.ToList())
        {
            twins.Remove(k);
            content[k] = v;
        }

        return new JsonObject { ["modulesContent"] = content };
    }
}
