using Edge.Cli.Fleet;
using Edge.Deployment.Manifests;

namespace Edge.Cli;

/// <summary><c>edge manifest build|validate</c>: template → deployment manifest, and manifest checks.</summary>
internal sealed class ManifestCommand : ICommand
{
    private const string BuildUsage =
        "manifest build [--template deployment.template.json] [--env .env] [--out config/]\n" +
        "  [--platform amd64|arm64v8|amd64.debug]\n" +
        "  expands ${VAR} from .env and the environment (which wins);\n" +
        "  nothing is written when the result is invalid";

    private const string ValidateUsage = "manifest validate <manifest.json> [--warnings-as-errors]";

    public string Name => "manifest";

    public string Description => "expand a deployment template into a manifest, or check a manifest";

    public string Usage => $"{BuildUsage}\n{ValidateUsage}";

    public IReadOnlyList<Subcommand> Subcommands =>
    [
        new("build", "expand deployment.template.json into config/deployment.<platform>.json", BuildUsage,
        [
            "edge manifest build      # ./deployment.template.json to config/deployment.amd64.json",
            "edge manifest build --platform arm64v8 --env prod.env --out out/",
        ]),
        new("validate", "check a deployment manifest (schema, routes, createOptions, images)", ValidateUsage,
        [
            "edge manifest validate config/deployment.amd64.json",
            "edge manifest validate config/deployment.amd64.json --warnings-as-errors",
        ]),
    ];

    public Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var sub = args.Length > 0 ? args[0] : "";
        return sub switch
        {
            "build" => FleetConnection.RunAsync("manifest build", () => BuildAsync(args[1..], ct)),
            "validate" => FleetConnection.RunAsync("manifest validate", () => ValidateAsync(args[1..], ct)),
            _ => FleetConnection.RunAsync("manifest", () => throw new UsageException(
                sub.Length == 0 ? "give a subcommand: build or validate" : $"unknown subcommand '{sub}' (build or validate)")),
        };
    }

    private static async Task<int> BuildAsync(string[] args, CancellationToken ct)
    {
        var line = CommandLine.Parse(args, ["template", "platform", "env", "out"], []);
        if (line.Positionals.Count > 0)
        {
            throw new UsageException($"unexpected argument '{line.Positionals[0]}'");
        }

        var template = line.Get("template") ?? "deployment.template.json";
        var platform = line.Get("platform") ?? "amd64";
        var envPath = line.Get("env") ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(template))!, ".env");
        var outDir = line.Get("out") ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(template))!, "config");
        if (!File.Exists(template))
        {
            throw new UsageException($"template '{template}' not found (run it in the solution folder, or pass --template <file>)");
        }

        if (line.Get("env") is { } explicitEnv && !File.Exists(explicitEnv))
        {
            throw new UsageException($"env file '{explicitEnv}' not found");
        }

        var variables = VariableSet.FromDotEnvAndEnvironment(envPath).WithDeprecatedAliases(out var notes);
        foreach (var note in notes)
        {
            await Console.Error.WriteLineAsync("edge manifest build: " + note).ConfigureAwait(false);
        }

        var fullTemplate = Path.GetFullPath(template);
        System.Text.Json.Nodes.JsonObject manifest;
        try
        {
            var text = await File.ReadAllTextAsync(fullTemplate, ct).ConfigureAwait(false);
            manifest = ManifestBuilder.Build(text, new ManifestBuildOptions(platform, variables, ModuleCatalog.FromSolution(Path.GetDirectoryName(fullTemplate)!)));
        }
        catch (ManifestException ex)
        {
            await Console.Error.WriteLineAsync($"edge manifest build: cannot expand {template}; nothing was written:").ConfigureAwait(false);
            foreach (var p in ex.Problems)
            {
                await Console.Error.WriteLineAsync("  " + p).ConfigureAwait(false);
            }

            return ExitCodes.Usage;
        }

        // Checked before anything is written: an invalid result never replaces the last good manifest.
        var json = ManifestJson.Serialize(manifest);
        var problems = ManifestValidator.Validate(json);
        await PrintAsync(problems).ConfigureAwait(false);
        var output = Path.Combine(outDir, ManifestBuilder.OutputFileName(fullTemplate, platform));
        if (problems.Any(p => p.Severity == ManifestSeverity.Error))
        {
            await Console.Error.WriteLineAsync(
                $"edge manifest build: the expanded manifest has errors (above); {output} was not written: fix the template or .env").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        Directory.CreateDirectory(outDir);
        await File.WriteAllTextAsync(output, json, new System.Text.UTF8Encoding(false), ct).ConfigureAwait(false);
        await Console.Out.WriteLineAsync($"wrote {output}").ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    private static async Task<int> ValidateAsync(string[] args, CancellationToken ct)
    {
        var line = CommandLine.Parse(args, [], ["warnings-as-errors"]);
        if (line.Positionals.Count != 1)
        {
            throw new UsageException("give one manifest file");
        }

        var path = line.Positionals[0];
        if (!File.Exists(path))
        {
            throw new UsageException($"manifest '{path}' not found");
        }

        var problems = ManifestValidator.Validate(await File.ReadAllTextAsync(path, ct).ConfigureAwait(false));
        await PrintAsync(problems).ConfigureAwait(false);
        var errors = problems.Count(p => p.Severity == ManifestSeverity.Error);
        var warnings = problems.Count - errors;
        await Console.Out.WriteLineAsync($"{path}: {errors} error(s), {warnings} warning(s)").ConfigureAwait(false);
        return errors > 0 || (warnings > 0 && line.Has("warnings-as-errors")) ? 2 : 0;
    }

    internal static async Task PrintAsync(IEnumerable<ManifestProblem> problems)
    {
        foreach (var p in problems)
        {
            await Console.Error.WriteLineAsync(p.ToString()).ConfigureAwait(false);
        }
    }
}
