using System.Text;
using System.Text.Json.Nodes;

namespace Edge.Deployment.Manifests;

/// <summary>What a template is expanded with.</summary>
/// <param name="Platform">The default platform for <c>${MODULES.Name}</c>: <c>amd64</c>, <c>arm64v8</c>, <c>amd64.debug</c>, ...</param>
/// <param name="Variables">The <c>.env</c> and environment variables.</param>
/// <param name="Modules">The module.json files the template may name.</param>
public sealed record ManifestBuildOptions(string Platform, VariableSet Variables, ModuleCatalog Modules);

/// <summary>
/// Expands a deployment template into a deployment manifest the way the IoT Edge dev tooling does: <c>${MODULES.Name}</c>
/// and <c>${MODULES.Name.platform}</c> become <c>repository:version-platform</c> from module.json, <c>${MODULEDIR&lt;path&gt;}</c>
/// the same for a module folder, <c>${VAR}</c>/<c>$VAR</c> come from <c>.env</c> and the environment (environment wins),
/// <c>$schema-template</c> is dropped, createOptions objects are stringified and split into 512-character chunks.
/// Unlike plain text substitution, a value substituted inside a JSON string is JSON-escaped, so quotes in a password or a
/// route cannot break the manifest; a placeholder outside any string (<c>"timeToLiveSecs": ${TTL}</c>) is inserted as is.
/// </summary>
public static class ManifestBuilder
{
    /// <summary>Expands template text; throws <see cref="ManifestException"/> listing every unknown variable, module or platform.</summary>
    public static JsonObject Build(string templateText, ManifestBuildOptions options)
    {
        var problems = new List<ManifestProblem>();
        var text = ExpandText(templateText, options, problems);
        if (problems.Any(p => p.Severity == ManifestSeverity.Error))
        {
            throw new ManifestException(problems);
        }

        var root = ManifestJson.Parse(text, "the expanded template");
        root.Remove("$schema-template");
        NormalizeCreateOptions(root, problems);
        if (problems.Any(p => p.Severity == ManifestSeverity.Error))
        {
            throw new ManifestException(problems);
        }

        return root;
    }

    /// <summary>
    /// Builds <c>&lt;outDir&gt;/deployment[.debug].&lt;platform&gt;.json</c> from a template file (its folder is the solution
    /// folder for module.json lookup) and returns the written path.
    /// </summary>
    public static async Task<string> BuildFileAsync(
        string templatePath, string platform, VariableSet variables, string outDirectory, ModuleCatalog? modules, CancellationToken ct)
    {
        var fullTemplate = Path.GetFullPath(templatePath);
        var solution = Path.GetDirectoryName(fullTemplate)!;
        var text = await File.ReadAllTextAsync(fullTemplate, ct).ConfigureAwait(false);
        var manifest = Build(text, new ManifestBuildOptions(platform, variables, modules ?? ModuleCatalog.FromSolution(solution)));
        Directory.CreateDirectory(outDirectory);
        var output = Path.Combine(outDirectory, OutputFileName(fullTemplate, platform));
        await File.WriteAllTextAsync(output, ManifestJson.Serialize(manifest), new UTF8Encoding(false), ct).ConfigureAwait(false);
        return output;
    }

    /// <summary><c>deployment.template.json</c> + <c>amd64</c> → <c>deployment.amd64.json</c>; <c>deployment.debug.template.json</c> → <c>deployment.debug.amd64.json</c>.</summary>
    public static string OutputFileName(string templatePath, string platform)
    {
        var name = Path.GetFileName(templatePath);
        var stem = name.EndsWith(".template.json", StringComparison.OrdinalIgnoreCase)
            ? name[..^".template.json".Length]
            : Path.GetFileNameWithoutExtension(name);
        return $"{stem}.{platform}.json";
    }

    /// <summary>Stringifies and chunks every module's createOptions (system modules included).</summary>
    public static void NormalizeCreateOptions(JsonObject root, List<ManifestProblem> problems)
    {
        var (content, contentPath) = ManifestJson.FindModulesContent(root);
        if (content?["$edgeAgent"]?["properties.desired"] is not JsonObject desired)
        {
            return;
        }

        var desiredPath = JsonPath.Child(JsonPath.Child(contentPath, "$edgeAgent"), "properties.desired");
        foreach (var section in new[] { "systemModules", "modules" })
        {
            if (desired[section] is not JsonObject modules)
            {
                continue;
            }

            foreach (var (id, module) in modules.ToList())
            {
                if (module?["settings"] is JsonObject settings)
                {
                    CreateOptions.Normalize(settings, JsonPath.Child(JsonPath.Child(JsonPath.Child(desiredPath, section), id), "settings"), problems);
                }
            }
        }
    }

    internal static string ExpandText(string text, ManifestBuildOptions options, List<ManifestProblem> problems)
    {
        var sb = new StringBuilder(text.Length + 256);
        var inString = false;
        var escaped = false;
        var line = 1;
        var lineStart = 0;
        var reported = new HashSet<string>(StringComparer.Ordinal);
        var basePlatform = options.Platform.EndsWith(".debug", StringComparison.Ordinal) ? options.Platform[..^6] : options.Platform;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\n')
            {
                line++;
                lineStart = i + 1;
            }

            if (inString && escaped)
            {
                escaped = false;
            }
            else if (inString && c == '\\')
            {
                escaped = true;
            }
            else if (c == '"')
            {
                inString = !inString;
            }
            else if (c == '$' && Placeholder.TryRead(text, i, out var ph))
            {
                var where = $"line {line}, column {i - lineStart + 1}";
                var value = Resolve(ph, options, basePlatform, where, problems, reported);
                if (value is null)
                {
                    sb.Append(text, i, ph.Length);
                }
                else
                {
                    sb.Append(inString ? JsonEscape(value) : value);
                }

                i += ph.Length;
                continue;
            }

            sb.Append(c);
            i++;
        }

        return sb.ToString();
    }

    private static string? Resolve(Placeholder ph, ManifestBuildOptions options, string basePlatform, string where, List<ManifestProblem> problems, HashSet<string> reported)
    {
        switch (ph.Kind)
        {
            case PlaceholderKind.Variable:
                if (options.Variables.TryGet(ph.Name, out var v))
                {
                    return v;
                }

                if ((ph.Braced || Placeholder.LooksLikeEnvironmentName(ph.Name)) && reported.Add("var:" + ph.Name))
                {
                    problems.Add(ManifestProblem.Error(where,
                        $"variable '{ph.Name}' is not set: define it in .env or the environment"));
                }

                return null;

            case PlaceholderKind.Module:
            case PlaceholderKind.ModuleDirectory:
                var module = ph.Kind == PlaceholderKind.Module ? options.Modules.FindByName(ph.Name) : options.Modules.FindByDirectory(ph.Name);
                var display = ph.Kind == PlaceholderKind.Module ? $"${{MODULES.{ph.Name}}}" : $"${{MODULEDIR<{ph.Name}>}}";
                if (module is null)
                {
                    if (reported.Add("mod:" + display))
                    {
                        var known = string.Join(", ", options.Modules.Modules.Select(m => m.Name).Order(StringComparer.Ordinal));
                        problems.Add(ManifestProblem.Error(where, ph.Kind == PlaceholderKind.Module
                            ? $"{display}: no module.json for module '{ph.Name}' (known modules: {(known.Length == 0 ? "none" : known)})"
                            : $"{display}: no module.json in folder '{ph.Name}'"));
                    }

                    return null;
                }

                var platform = ph.Suffix switch
                {
                    null => options.Platform,
                    "debug" => basePlatform + ".debug",
                    _ => ph.Suffix,
                };
                if (!module.Platforms.ContainsKey(platform))
                {
                    if (reported.Add($"plat:{module.Name}:{platform}"))
                    {
                        problems.Add(ManifestProblem.Error(where,
                            $"{display}: module '{module.Name}' has no platform '{platform}' in module.json (it has: {string.Join(", ", module.Platforms.Keys)})"));
                    }

                    return null;
                }

                var unknown = new SortedSet<string>(StringComparer.Ordinal);
                var image = module.ImageFor(platform, options.Variables, unknown);
                foreach (var name in unknown.Where(n => reported.Add("var:" + n)))
                {
                    problems.Add(ManifestProblem.Error(where,
                        $"variable '{name}' used by module.json of '{module.Name}' is not set: define it in .env or the environment"));
                }

                return unknown.Count > 0 ? null : image;

            default:
                return null;
        }
    }

    private static string JsonEscape(string value)
    {
        var quoted = System.Text.Json.JsonSerializer.Serialize(value, ManifestJson.CompactOptions);
        return quoted[1..^1];
    }
}
