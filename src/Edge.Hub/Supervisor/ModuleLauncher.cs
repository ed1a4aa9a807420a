namespace Edge.Hub.Supervisor;

/// <summary>Where a module's process comes from, or why there is none.</summary>
internal sealed record LaunchResolution(ModuleLaunchSpec? Spec, string? Error);

/// <summary>
/// Maps a module id to a local process (no Docker): an explicit launcher first, else the repository's built
/// <c>modules/{Id}</c> project (<c>artifacts/bin/{Id}/{release|debug}/{Id}.dll</c>, run with <c>dotnet</c>), else an error.
/// </summary>
internal sealed class ModuleLauncher
{
    public const string SolutionFile = "IoTEdgeSolution.sln";

    private readonly IReadOnlyDictionary<string, ModuleLaunchSpec> _explicit;
    private readonly string? _repoRoot;
    private readonly string _dotnetHost;

    public ModuleLauncher(IEnumerable<KeyValuePair<string, ModuleLaunchSpec>> launchers, string? pathInRepo)
    {
        _explicit = launchers.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        _repoRoot = FindRepoRoot(pathInRepo ?? Directory.GetCurrentDirectory());
        _dotnetHost = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }

    public string? RepoRoot => _repoRoot;

    public LaunchResolution Resolve(string moduleId)
    {
        if (_explicit.TryGetValue(moduleId, out var spec))
        {
            return new LaunchResolution(spec, null);
        }

        var hint = $"no local build for module {moduleId}: run `dotnet build modules/{moduleId}`";
        if (_repoRoot is null)
        {
            return new LaunchResolution(null, $"{hint} (no launcher is configured for it and no {SolutionFile} was found to locate the repository)");
        }

        // Module ids in manifests are often camelCase while the project folder is PascalCase.
        var project = Directory.Exists(Path.Combine(_repoRoot, "modules"))
            ? Directory.EnumerateDirectories(Path.Combine(_repoRoot, "modules"))
                .Select(Path.GetFileName)
                .FirstOrDefault(n => string.Equals(n, moduleId, StringComparison.OrdinalIgnoreCase))
            : null;
        if (project is null)
        {
            return new LaunchResolution(null, $"{hint} (no launcher is configured for it and there is no project modules/{moduleId} in {_repoRoot})");
        }

        hint = $"no local build for module {moduleId}: run `dotnet build modules/{project}`";
        var dll = new[] { "release", "debug" }
            .Select(c => new FileInfo(Path.Combine(_repoRoot, "artifacts", "bin", project, c, project + ".dll")))
            .Where(f => f.Exists)
            .OrderByDescending(f => f.LastWriteTimeUtc)
            .FirstOrDefault();
        return dll is null
            ? new LaunchResolution(null, $"{hint} (looked for artifacts/bin/{project}/release/{project}.dll and .../debug/{project}.dll)")
            : new LaunchResolution(new ModuleLaunchSpec(_dotnetHost, [dll.FullName], dll.DirectoryName), null);
    }

    private static string? FindRepoRoot(string path)
    {
        var dir = new DirectoryInfo(Path.GetFullPath(path));
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, SolutionFile)))
        {
            dir = dir.Parent;
        }

        return dir?.FullName;
    }
}
