using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Deployment.Manifests;
using Edge.Deployment.Tests.Manifests;
using YamlDotNet.RepresentationModel;

namespace Edge.Deployment.Tests.Lint;

/// <summary>.env.example, .devcontainer/devcontainer.json and azure-pipelines.yml, each parsed and checked for what it must do.</summary>
public sealed class SolutionFilesLintTests
{
    private static string Root => Solution.Root;

    [Fact]
    public void EnvExample_DefinesEveryVariableTheTemplatesAndModulesUse()
    {
        var defined = DotEnv.Parse(File.ReadAllText(Path.Combine(Root, ".env.example"))).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        var sources = new[] { "deployment.template.json", "deployment.debug.template.json", "modules/CameraCapture/module.json", "modules/Inference/module.json" };
        foreach (var source in sources)
        {
            var text = File.ReadAllText(Path.Combine(Root, source));
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] == '$' && Placeholder.TryRead(text, i, out var ph) && ph.Kind == PlaceholderKind.Variable
                    && (ph.Braced || Placeholder.LooksLikeEnvironmentName(ph.Name)))
                {
                    defined.ShouldContain(ph.Name, $"{source} uses ${ph.Name}, which .env.example does not define");
                }
            }
        }

        defined.ShouldContain("IOTHUB_CONNECTION_STRING");
        defined.ShouldContain("IOTHUB_ENDPOINT");
    }

    [Theory]
    [InlineData("deployment.template.json", "amd64")]
    [InlineData("deployment.template.json", "arm64v8")]
    [InlineData("deployment.debug.template.json", "amd64.debug")]
    public void Templates_BuildWithEnvExample_NoErrors(string template, string platform)
    {
        var vars = new VariableSet(DotEnv.Parse(File.ReadAllText(Path.Combine(Root, ".env.example"))));
        var manifest = ManifestBuilder.Build(File.ReadAllText(Path.Combine(Root, template)), new ManifestBuildOptions(platform, vars, Solution.Modules));
        ManifestValidator.Validate(manifest).Where(p => p.Severity == ManifestSeverity.Error).ShouldBeEmpty();
    }

    [Fact]
    public void Template_RoutesAndDefaults_AsTheSolutionNeeds()
    {
        var m = Solution.Build("deployment.template.json", "amd64");
        var routes = (JsonObject)Solution.Hub(m)["routes"]!;
        routes["captureToInference"]!["route"]!.GetValue<string>().ShouldContain("BrokeredEndpoint(\"/modules/Inference/inputs/frames\")");
        routes["eventsToCloud"]!["route"]!.GetValue<string>().ShouldBe("FROM /messages/modules/Inference/outputs/events INTO $upstream");
        routes["eventsToCloud"]!["priority"]!.GetValue<int>().ShouldBe(0, "events are never dropped before anything else");
        routes["summaryToCloud"]!["route"]!.GetValue<string>().ShouldEndWith("outputs/summary INTO $upstream");
        routes.ShouldNotContain(r => r.Value!.ToJsonString().Contains("outputs/detections", StringComparison.Ordinal), "per-frame detections stay on the edge by default");
        routes["healthToCloud"]!["route"]!.GetValue<string>().ShouldStartWith("FROM /messages/modules/CameraCapture/outputs/health");
        routes.ShouldNotContain(r => r.Value!.ToJsonString().Contains("annotated", StringComparison.Ordinal), "annotated frames go nowhere by default");
        Solution.Hub(m)["storeAndForwardConfiguration"]!["timeToLiveSecs"]!.GetValue<int>().ShouldBe(7200);
        m["modulesContent"]!["CameraCapture"]!["properties.desired"]!["cameras"]!["cam1"]!["source"]!.GetValue<string>().ShouldBe("synthetic");
        m["modulesContent"]!["Inference"]!["properties.desired"]!["model"]!["sha256"]!.GetValue<string>().ShouldBe("d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51");
        Solution.Agent(m)["systemModules"]!["edgeHub"]!["settings"]!["image"]!.GetValue<string>().ShouldBe("mcr.microsoft.com/azureiotedge-hub:1.5");
    }

    [Fact]
    public void DevContainer_DotNet10SdkAptPackagesAndPorts()
    {
        var node = JsonNode.Parse(File.ReadAllText(Path.Combine(Root, ".devcontainer", "devcontainer.json")),
            documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })!;
        node["image"]!.GetValue<string>().ShouldEndWith(":bookworm");
        node["features"]!["ghcr.io/devcontainers/features/dotnet:2"]!["version"]!.GetValue<string>().ShouldBe("10.0");
        var setup = node["postCreateCommand"]!.GetValue<string>();
        var edgeScript = File.ReadAllText(Path.Combine(Root, "edge"));
        foreach (var p in new[] { "libgtk-3-0", "libdrm2", "libatomic1", "npm", "mosquitto", "chromium" })
        {
            setup.ShouldContain(" " + p);
            edgeScript.ShouldContain(p, customMessage: $"the devcontainer installs {p} because ./edge needs it");
        }

        setup.ShouldContain("eng/assets.sh");
        var ports = node["forwardPorts"]!.AsArray().Select(p => p!.GetValue<int>()).ToList();
        ports.ShouldContain(8883);
        ports.Count.ShouldBeGreaterThanOrEqualTo(2);
    }

    [Fact]
    public void Pipeline_RestoreBuildTestPublishImagesManifestDeploy()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(Root, "azure-pipelines.yml")))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents.Single().RootNode;
        root.Children.ShouldContainKey(new YamlScalarNode("trigger"));
        var stages = (YamlSequenceNode)root.Children[new YamlScalarNode("stages")];
        stages.Children.Count.ShouldBeGreaterThanOrEqualTo(3);

        var steps = Descendants(root).OfType<YamlMappingNode>().Where(m => m.Children.ContainsKey(new YamlScalarNode("script")) || m.Children.ContainsKey(new YamlScalarNode("task"))).ToList();
        var scripts = steps.Select(s => Scalar(s, "script")).Where(s => s is not null).Select(s => s!).ToList();
        var all = string.Join("\n", scripts);
        scripts.ShouldContain(s => s.Contains("dotnet restore", StringComparison.Ordinal));
        scripts.ShouldContain(s => s.Contains("dotnet build", StringComparison.Ordinal));
        scripts.ShouldContain(s => s.Trim().StartsWith("./edge test", StringComparison.Ordinal));

        var publishes = steps.Where(s => Scalar(s, "task") == "PublishTestResults@2").ToList();
        publishes.Count.ShouldBe(2, "the test run's and the image tests' results");
        foreach (var publish in publishes)
        {
            var inputs = (YamlMappingNode)publish.Children[new YamlScalarNode("inputs")];
            Scalar(inputs, "testResultsFormat").ShouldBe("VSTest");
            Scalar(inputs, "testResultsFiles")!.ShouldEndWith(".trx");
        }

        all.ShouldContain("--report-xunit-trx", customMessage: "xunit v3 writes TRX only when asked");
        // Images: the same script as a developer runs, tested before they are pushed, tagged <version>.<build id>.
        all.ShouldContain("./edge images build --platform amd64");
        all.ShouldContain("./edge images build --platform arm64v8");
        all.ShouldContain("./edge images test");
        all.ShouldContain("$(MODULE_VERSION).$(Build.BuildId)");
        all.ShouldContain("Dockerfile.amd64.debug");
        var cache = steps.Single(s => Scalar(s, "task") == "Cache@2");
        var cacheInputs = (YamlMappingNode)cache.Children[new YamlScalarNode("inputs")];
        Scalar(cacheInputs, "key")!.ShouldContain("eng/native/recipe.sh");
        Scalar(cacheInputs, "path")!.ShouldContain(".cache/edge-native");

        all.ShouldContain("./edge manifest build --template deployment.template.json --platform arm64v8");
        all.ShouldContain("./edge manifest validate");
        var deploy = scripts.Single(s => s.Contains("./edge deploy", StringComparison.Ordinal));
        deploy.ShouldContain("--at-scale");
        deploy.ShouldContain("--target-condition");
        deploy.ShouldContain("--priority");
        steps.Single(s => Scalar(s, "script")?.Contains("./edge deploy", StringComparison.Ordinal) == true)
            .Children[new YamlScalarNode("env")].ToString().ShouldContain("IOTHUB_CONNECTION_STRING");
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value : null;

    private static IEnumerable<YamlNode> Descendants(YamlNode node)
    {
        yield return node;
        var children = node switch
        {
            YamlMappingNode m => m.Children.Values,
            YamlSequenceNode s => s.Children,
            _ => [],
        };
        foreach (var c in children.SelectMany(Descendants))
        {
            yield return c;
        }
    }
}
