using Edge.Cli.Fleet;
using Edge.Deployment.Manifests;

namespace Edge.Cli;

/// <summary><c>edge manifest build|validate</c>: template → deployment manifest, and manifest checks.</summary>
internal sealed class ManifestCommand : ICommand
{
    private const string BuildUsage = "manifest build [--template deployment.template.json] [--platform amd64|arm64v8|amd64.debug] [--env .env] [--out config/]";
    private const string ValidateUsage = "manifest validate <manifest.json> [--warnings-as-errors]";

    public string Name => "manifest";

    public string Usage => $"{BuildUsage}\n{ValidateUsage}";

    public Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var sub = args.Length > 0 ? args[0] : "";
        return sub switch
        {
            "build" => FleetConnection.RunAsync("manifest build", BuildUsage, () => BuildAsync(args[1..], ct)),
            "validate" => FleetConnection.RunAsync("manifest validate", ValidateUsage, () => ValidateAsync(args[1..], ct)),
            _ => FleetConnection.RunAsync("manifest", Usage, () => throw new UsageException(sub.Length == 0 ? "build or validate?" : $"unknown subcommand '{sub}'")),
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
            throw new UsageException($"template '{template}' not found");
        }

        if (line.Get("env") is { } explicitEnv && !File.Exists(explicitEnv))
        {
            throw new UsageException($"env file '{explicitEnv}' not found");
        }

        string output;
        try
        {
            output = await ManifestBuilder.BuildFileAsync(template, platform, VariableSet.FromDotEnvAndEnvironment(envPath), outDir, null, ct).ConfigureAwait(false);
        }
        catch (ManifestException ex)
        {
            await Console.Error.WriteLineAsync($"edge manifest build: cannot expand {template}:").ConfigureAwait(false);
            foreach (var p in ex.Problems)
            {
                await Console.Error.WriteLineAsync("  " + p).ConfigureAwait(false);
            }

            return 2;
        }

        var problems = ManifestValidator.Validate(await File.ReadAllTextAsync(output, ct).ConfigureAwait(false));
        await PrintAsync(problems).ConfigureAwait(false);
        await Console.Out.WriteLineAsync($"wrote {output}").ConfigureAwait(false);
        return problems.Any(p => p.Severity == ManifestSeverity.Error) ? 2 : 0;
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
