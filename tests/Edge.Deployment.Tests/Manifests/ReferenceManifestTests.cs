using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Deployment.Manifests;
using Edge.TestSupport;

namespace Edge.Deployment.Tests.Manifests;

/// <summary>
/// Manifests and templates written by other tools (the shared reference corpus, read in place and never copied): each
/// expands and validates without false errors; the deliberately broken one is flagged for exactly its defects.
/// Skips when the corpus is absent.
/// </summary>
public sealed class ReferenceManifestTests
{
    private const string Absent = "(reference manifests absent)";
    private const string ChunkedFixture = "Azure__iotedgehubdev__tests__test_compose_resources__deployment_with_chunked_create_options.json";
    private const string InvalidCreateOptions = "Azure__iotedgedev__tests__assets__deployment.manifest_invalid_createoptions.json";

    public static TheoryData<string> Files
    {
        get
        {
            var dir = Assets.ReferenceManifests;
            return dir is null ? [Absent] : [.. Index(dir).Select(e => e.GetProperty("file").GetString()!)];
        }
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void BuildAndValidate_ReferenceManifest_NoFalseErrors(string file)
    {
        var dir = Assets.ReferenceManifests;
        Assert.SkipWhen(dir is null, "the shared reference manifests are not beside this checkout");
        var entry = Index(dir!).Single(e => e.GetProperty("file").GetString() == file);
        var text = File.ReadAllText(Path.Combine(dir!, file));

        var manifest = ManifestBuilder.Build(text, new ManifestBuildOptions("amd64", VariablesFor(text), Catalog(dir!, entry, text)));
        var problems = ManifestValidator.Validate(manifest);
        var errors = problems.Where(p => p.Severity == ManifestSeverity.Error).ToList();

        if (file == InvalidCreateOptions)
        {
            const string Settings = "$.modulesContent.$edgeAgent['properties.desired'].modules";
            errors.ShouldContain(p => p.Path == $"{Settings}.csharpmodule.settings.createOptions03" && p.Message.Contains("createOptions02 is missing"));
            errors.ShouldContain(p => p.Path == $"{Settings}.csharpfunction2.settings.createOptions04" && p.Message.Contains("must be a string"));
            problems.ShouldContain(p => p.Path == $"{Settings}.tempSensor.settings.createOptions01" && p.Severity == ManifestSeverity.Warning && p.Message.Contains("at most 512"));
            errors.ShouldNotContain(p => p.Path.Contains(".tempSensor.", StringComparison.Ordinal), string.Join("\n", errors));
        }
        else if (file == ChunkedFixture)
        {
            // A compose-generation fixture of iotedgehubdev (which never runs edgeAgent): "unknown" is no restart policy
            // edgeAgent knows, so a device would reject this deployment. Everything else in it is accepted.
            errors.Select(p => p.Path).ShouldBe(["$.moduleContent.$edgeAgent['properties.desired'].modules.SampleModule.restartPolicy"], string.Join("\n", problems));
        }
        else
        {
            errors.ShouldBeEmpty($"{file}:\n{string.Join("\n", problems)}");
        }
    }

    [Fact]
    public void Build_ChunkedCreateOptionsFixture_JoinsToValidJson()
    {
        var dir = Assets.ReferenceManifests;
        Assert.SkipWhen(dir is null, "the shared reference manifests are not beside this checkout");
        var text = File.ReadAllText(Path.Combine(dir!, "Azure__iotedgehubdev__tests__test_compose_resources__deployment_with_chunked_create_options.json"));
        var m = ManifestJson.Parse(text);
        var settings = (JsonObject)m["moduleContent"]!["$edgeAgent"]!["properties.desired"]!["modules"]!["tempSensor"]!["settings"]!;
        var problems = new List<ManifestProblem>();
        var joined = CreateOptions.Join(settings, "$", problems);
        problems.ShouldAllBe(p => p.Severity == ManifestSeverity.Warning);
        JsonNode.Parse(joined!).ShouldBeOfType<JsonObject>();
    }

    [Fact]
    public void Build_ObjectCreateOptionsOver512_SplitLikeIotEdgeDev()
    {
        var dir = Assets.ReferenceManifests;
        Assert.SkipWhen(dir is null, "the shared reference manifests are not beside this checkout");
        const string File1 = "Azure__iotedgedev__tests__assets__deployment.template_1.json";
        var text = File.ReadAllText(Path.Combine(dir!, File1));
        var entry = Index(dir!).Single(e => e.GetProperty("file").GetString() == File1);
        var m = ManifestBuilder.Build(text, new ManifestBuildOptions("amd64", VariablesFor(text), Catalog(dir!, entry, text)));
        var settings = (JsonObject)Solution.Agent(m)["modules"]!["tempSensor"]!["settings"]!;
        settings.Where(p => p.Key.StartsWith("createOptions", StringComparison.Ordinal)).Select(p => p.Key)
            .ShouldBe(["createOptions", "createOptions01", "createOptions02"]);
    }

    [Fact]
    public void Parse_EveryReferenceModuleJson_ReadsRepositoryVersionPlatforms()
    {
        var dir = Assets.ReferenceManifests;
        Assert.SkipWhen(dir is null, "the shared reference manifests are not beside this checkout");
        var files = Directory.GetFiles(Path.Combine(dir!, "module-json"), "*.json");
        files.ShouldNotBeEmpty();
        foreach (var f in files)
        {
            var m = ModuleJson.Parse(File.ReadAllText(f), Path.GetFileName(f));
            m.Platforms.ShouldNotBeEmpty(f);
        }
    }

    private static List<JsonElement> Index(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "index.json")));
        return doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    /// <summary>
    /// The module.json files the corpus holds beside this template (same repository, below the template's folder), named
    /// by their folder and found by their folder relative to the template. Modules the template names whose module.json
    /// the corpus does not hold (iotedgedev's test solution modules) get a stand-in, so expansion is tested, not the corpus.
    /// </summary>
    private static ModuleCatalog Catalog(string dir, JsonElement entry, string text)
    {
        var file = entry.GetProperty("file").GetString()!;
        var repoPath = entry.GetProperty("path").GetString()!;
        var templateDir = Path.GetDirectoryName(repoPath) ?? "";
        var prefix = file[..(file.Length - repoPath.Replace('/', '_').Length - repoPath.Count(c => c == '/'))]; // "<owner>__<repo>__"
        var modules = new List<(string RepoPath, ModuleJson Module)>();
        foreach (var mj in Directory.GetFiles(Path.Combine(dir, "module-json"), prefix + "*__module.json"))
        {
            var relative = Path.GetFileName(mj)[prefix.Length..^"__module.json".Length].Replace("__", "/", StringComparison.Ordinal);
            modules.Add((relative, ModuleJson.Parse(File.ReadAllText(mj), Path.GetFileName(relative))));
        }

        var known = modules.Select(m => m.Module.Name).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '$' && Placeholder.TryRead(text, i, out var ph) && ph.Kind == PlaceholderKind.Module && known.Add(ph.Name))
            {
                modules.Add(($"modules/{ph.Name}", ModuleJson.Parse(
                    "{\"image\":{\"repository\":\"contoso.azurecr.io/" + ph.Name.ToLowerInvariant()
                    + "\",\"tag\":{\"version\":\"0.0.1\",\"platforms\":{\"amd64\":\"a\",\"amd64.debug\":\"a\",\"arm64v8\":\"a\",\"arm32v7\":\"a\"}}}}",
                    ph.Name)));
            }
        }

        return new ModuleCatalog(modules.Select(m => m.Module), relative =>
        {
            var wanted = Path.GetRelativePath("/", Path.GetFullPath(Path.Combine("/", templateDir, relative)));
            return modules.FirstOrDefault(m => m.RepoPath == wanted).Module;
        });
    }

    /// <summary>A value for every variable the template uses, plausible for where such variables go.</summary>
    private static VariableSet VariablesFor(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '$' && Placeholder.TryRead(text, i, out var ph) && ph.Kind == PlaceholderKind.Variable
                && (ph.Braced || Placeholder.LooksLikeEnvironmentName(ph.Name)))
            {
                values[ph.Name] = ph.Name switch
                {
                    "EDGEAGENT_SCHEMA_VERSION" or "EDGEHUB_SCHEMA_VERSION" => "1.1",
                    "TTL" => "7200",
                    "EDGEHUB_ROUTE" => "FROM /messages/* INTO $upstream",
                    var n when n.Contains("VERSION", StringComparison.Ordinal) => "1.5",
                    var n when n.Contains("REGISTRY_ADDRESS", StringComparison.Ordinal) || n.Contains("REGISTRY_SERVER", StringComparison.Ordinal)
                        || n == "ACR_ADDRESS" => "contoso.azurecr.io",
                    _ => "x",
                };
            }
        }

        foreach (var extra in new[] { "CONTAINER_REGISTRY_ADDRESS", "CONTAINER_REGISTRY_SERVER", "ACR_ADDRESS" })
        {
            values.TryAdd(extra, "contoso.azurecr.io");
        }

        values.TryAdd("MODULE_BUILD_VERSION", "7");
        values.TryAdd("NET_SRV_VERSION", "2.0.0");
        values.TryAdd("LBS_VERSION", "2.0.0");
        return new VariableSet(values);
    }
}
