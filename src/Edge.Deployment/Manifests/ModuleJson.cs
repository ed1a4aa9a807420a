using System.Text.Json;
using System.Text.Json.Nodes;

namespace Edge.Deployment.Manifests;

/// <summary>
/// A module's <c>module.json</c> (schema <c>$schema-version</c> 0.0.1, the IoT Edge tooling's format): the image
/// repository and version, the Dockerfile per platform, build options and the build context.
/// </summary>
/// <param name="Name">The module's name (its folder name), as templates write it in <c>${MODULES.Name}</c>.</param>
/// <param name="Directory">The folder holding module.json (for Dockerfile and context paths), or null when read from text.</param>
/// <param name="Repository">The image repository, variables not yet expanded.</param>
/// <param name="Version">The image version, variables not yet expanded.</param>
/// <param name="Platforms">Platform (<c>amd64</c>, <c>arm64v8</c>, <c>amd64.debug</c>, ...) → Dockerfile path relative to <paramref name="Directory"/>.</param>
/// <param name="BuildOptions">Extra <c>docker build</c> options.</param>
/// <param name="ContextPath">The build context relative to <paramref name="Directory"/> (default <c>./</c>).</param>
public sealed record ModuleJson(
    string Name,
    string? Directory,
    string Repository,
    string Version,
    IReadOnlyDictionary<string, string> Platforms,
    IReadOnlyList<string> BuildOptions,
    string ContextPath)
{
    /// <summary>Reads a module.json file; the module name defaults to its folder name.</summary>
    public static ModuleJson Load(string path, string? name = null)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        return Parse(File.ReadAllText(full), name ?? Path.GetFileName(dir), dir);
    }

    /// <summary>Parses module.json text; throws <see cref="ManifestException"/> listing every missing field.</summary>
    public static ModuleJson Parse(string json, string name, string? directory = null)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new ManifestException($"module.json of '{name}' is not valid JSON: {ex.Message}");
        }

        var problems = new List<ManifestProblem>();
        var image = root?["image"] as JsonObject;
        var repository = image?["repository"]?.GetValueKind() == JsonValueKind.String ? image["repository"]!.GetValue<string>() : null;
        var tag = image?["tag"] as JsonObject;
        var version = tag?["version"]?.GetValueKind() == JsonValueKind.String ? tag["version"]!.GetValue<string>() : null;
        var platforms = new Dictionary<string, string>(StringComparer.Ordinal);
        if (tag?["platforms"] is JsonObject p)
        {
            foreach (var (k, v) in p)
            {
                if (v?.GetValueKind() == JsonValueKind.String)
                {
                    platforms[k] = v.GetValue<string>();
                }
                else
                {
                    problems.Add(ManifestProblem.Error($"$.image.tag.platforms.{k}", "must be a Dockerfile path string"));
                }
            }
        }

        if (repository is null)
        {
            problems.Add(ManifestProblem.Error("$.image.repository", "required string is missing"));
        }

        if (version is null)
        {
            problems.Add(ManifestProblem.Error("$.image.tag.version", "required string is missing"));
        }

        if (platforms.Count == 0)
        {
            problems.Add(ManifestProblem.Error("$.image.tag.platforms", "at least one platform → Dockerfile entry is required"));
        }

        if (problems.Count > 0)
        {
            throw new ManifestException(problems.Select(x => x with { Message = $"module.json of '{name}': {x.Message}" }).ToList());
        }

        var buildOptions = (image!["buildOptions"] as JsonArray)?
            .Where(o => o?.GetValueKind() == JsonValueKind.String)
            .Select(o => o!.GetValue<string>())
            .ToList() ?? [];
        var context = image["contextPath"]?.GetValueKind() == JsonValueKind.String ? image["contextPath"]!.GetValue<string>() : "./";
        return new ModuleJson(name, directory, repository!, version!, platforms, buildOptions, context);
    }

    /// <summary>
    /// The image for a platform, as the IoT Edge tooling names it: <c>repository:version-platform</c> (repository
    /// lower-cased, as Docker requires), variables expanded.
    /// </summary>
    public string ImageFor(string platform, VariableSet variables, ISet<string> unknownVariables)
    {
        var repository = variables.ExpandString(Repository, unknownVariables).ToLowerInvariant();
        var version = variables.ExpandString(Version, unknownVariables);
        return $"{repository}:{version}-{platform}";
    }
}

/// <summary>The modules a template can name: <c>${MODULES.Name}</c> by name, <c>${MODULEDIR&lt;path&gt;}</c> by folder.</summary>
public sealed class ModuleCatalog
{
    private readonly Dictionary<string, ModuleJson> _byName;
    private readonly Func<string, ModuleJson?> _byDirectory;

    public ModuleCatalog(IEnumerable<ModuleJson> modules, Func<string, ModuleJson?>? byDirectory = null)
    {
        _byName = new Dictionary<string, ModuleJson>(StringComparer.Ordinal);
        foreach (var m in modules)
        {
            _byName[m.Name] = m;
        }

        _byDirectory = byDirectory ?? (_ => null);
    }

    public IReadOnlyCollection<ModuleJson> Modules => _byName.Values;

    /// <summary>
    /// The modules of a solution: every <c>&lt;solution&gt;/&lt;modulesFolder&gt;/*/module.json</c>; <c>${MODULEDIR&lt;path&gt;}</c>
    /// reads <c>&lt;solution&gt;/&lt;path&gt;/module.json</c>.
    /// </summary>
    public static ModuleCatalog FromSolution(string solutionDirectory, string modulesFolder = "modules")
    {
        var modules = new List<ModuleJson>();
        var dir = Path.Combine(solutionDirectory, modulesFolder);
        if (System.IO.Directory.Exists(dir))
        {
            foreach (var sub in System.IO.Directory.GetDirectories(dir).Order(StringComparer.Ordinal))
            {
                var file = Path.Combine(sub, "module.json");
                if (File.Exists(file))
                {
                    modules.Add(ModuleJson.Load(file));
                }
            }
        }

        return new ModuleCatalog(modules, path =>
        {
            var file = Path.GetFullPath(Path.Combine(solutionDirectory, path, "module.json"));
            return File.Exists(file) ? ModuleJson.Load(file) : null;
        });
    }

    public ModuleJson? FindByName(string name) => _byName.GetValueOrDefault(name);

    public ModuleJson? FindByDirectory(string path) => _byDirectory(path);
}
