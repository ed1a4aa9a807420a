using System.Text.Json.Nodes;
using Edge.Deployment.Manifests;

namespace Edge.Deployment.Tests.Manifests;

/// <summary>Every validation rule: a case that breaks it (the problem, its JSON path and severity) and a case that passes.</summary>
public sealed class ManifestValidatorTests
{
    private const string Mc = "$.modulesContent";
    private const string AgentPath = "$.modulesContent.$edgeAgent['properties.desired']";
    private const string HubPath = "$.modulesContent.$edgeHub['properties.desired']";

    private static readonly Dictionary<string, (Action<JsonObject> Break, string Path, ManifestSeverity Severity, string Text)> Failing = new()
    {
        ["no modulesContent"] = (m => m.Remove("modulesContent"), Mc, ManifestSeverity.Error, "required object"),
        ["no $edgeAgent"] = (m => M(m).Remove("$edgeAgent"), Mc + ".$edgeAgent", ManifestSeverity.Error, "system module twin is missing"),
        ["no $edgeHub"] = (m => M(m).Remove("$edgeHub"), Mc + ".$edgeHub", ManifestSeverity.Error, "system module twin is missing"),
        ["no properties.desired"] = (m => M(m)["$edgeHub"] = new JsonObject(), HubPath, ManifestSeverity.Error, "required object"),
        ["agent schema 1.2"] = (m => A(m)["schemaVersion"] = "1.2", AgentPath + ".schemaVersion", ManifestSeverity.Error, "1.0 to 1.1"),
        ["agent schema missing"] = (m => A(m).Remove("schemaVersion"), AgentPath + ".schemaVersion", ManifestSeverity.Error, "required"),
        ["hub schema 2.0"] = (m => H(m)["schemaVersion"] = "2.0", HubPath + ".schemaVersion", ManifestSeverity.Error, "1.0 to 1.3"),
        ["runtime type"] = (m => A(m)["runtime"]!["type"] = "podman", AgentPath + ".runtime.type", ManifestSeverity.Error, "docker"),
        ["registry credential field"] = (m => ((JsonObject)A(m)["runtime"]!["settings"]!["registryCredentials"]!["acr"]!).Remove("password"),
            AgentPath + ".runtime.settings.registryCredentials.acr.password", ManifestSeverity.Error, "required string"),
        ["registry address URL"] = (m => A(m)["runtime"]!["settings"]!["registryCredentials"]!["acr"]!["address"] = "https://contoso.azurecr.io",
            AgentPath + ".runtime.settings.registryCredentials.acr.address", ManifestSeverity.Error, "not a URL"),
        ["no systemModules.edgeHub"] = (m => ((JsonObject)A(m)["systemModules"]!).Remove("edgeHub"), AgentPath + ".systemModules.edgeHub", ManifestSeverity.Error, "required system module"),
        ["edgeHub stopped"] = (m => A(m)["systemModules"]!["edgeHub"]!["status"] = "stopped", AgentPath + ".systemModules.edgeHub.status", ManifestSeverity.Error, "running"),
        ["edgeHub restart never"] = (m => A(m)["systemModules"]!["edgeHub"]!["restartPolicy"] = "never", AgentPath + ".systemModules.edgeHub.restartPolicy", ManifestSeverity.Error, "always"),
        ["unknown system module"] = (m => A(m)["systemModules"]!["edgeProxy"] = new JsonObject(), AgentPath + ".systemModules.edgeProxy", ManifestSeverity.Error, "unknown system module"),
        ["status"] = (m => Mod(m)["status"] = "paused", AgentPath + ".modules.CameraCapture.status", ManifestSeverity.Error, "running, stopped"),
        ["edgeHub restart never (optional, but must be always)"] = (m => A(m)["systemModules"]!["edgeHub"]!["restartPolicy"] = "on-failure", AgentPath + ".systemModules.edgeHub.restartPolicy", ManifestSeverity.Error, "always"),
        ["status missing"] = (m => Mod(m).Remove("status"), AgentPath + ".modules.CameraCapture.status", ManifestSeverity.Error, "required"),
        ["restartPolicy"] = (m => Mod(m)["restartPolicy"] = "sometimes", AgentPath + ".modules.CameraCapture.restartPolicy", ManifestSeverity.Error, "on-unhealthy"),
        ["imagePullPolicy"] = (m => Mod(m)["imagePullPolicy"] = "always", AgentPath + ".modules.CameraCapture.imagePullPolicy", ManifestSeverity.Error, "on-create, never"),
        ["startupOrder negative"] = (m => Mod(m)["startupOrder"] = -1, AgentPath + ".modules.CameraCapture.startupOrder", ManifestSeverity.Error, "0 to 4294967295"),
        ["startupOrder text"] = (m => Mod(m)["startupOrder"] = "1", AgentPath + ".modules.CameraCapture.startupOrder", ManifestSeverity.Error, "integer"),
        ["startupOrder with schema 1.0"] = (m => A(m)["schemaVersion"] = "1.0", AgentPath + ".modules.CameraCapture.startupOrder", ManifestSeverity.Warning, "ignores"),
        ["module type"] = (m => Mod(m)["type"] = "k8s", AgentPath + ".modules.CameraCapture.type", ManifestSeverity.Error, "docker"),
        ["image missing"] = (m => ((JsonObject)Mod(m)["settings"]!).Remove("image"), AgentPath + ".modules.CameraCapture.settings.image", ManifestSeverity.Error, "required image"),
        ["image upper case"] = (m => Mod(m)["settings"]!["image"] = "contoso.azurecr.io/CameraCapture:1", AgentPath + ".modules.CameraCapture.settings.image", ManifestSeverity.Error, "not a valid image reference"),
        ["image spaces"] = (m => Mod(m)["settings"]!["image"] = "contoso.azurecr.io/cam capture:1", AgentPath + ".modules.CameraCapture.settings.image", ManifestSeverity.Error, "not a valid image reference"),
        ["image without tag"] = (m => Mod(m)["settings"]!["image"] = "contoso.azurecr.io/camera", AgentPath + ".modules.CameraCapture.settings.image", ManifestSeverity.Warning, "no tag"),
        ["image module placeholder"] = (m => Mod(m)["settings"]!["image"] = "${MODULES.CameraCapture}", AgentPath + ".modules.CameraCapture.settings.image", ManifestSeverity.Error, "unexpanded module placeholder"),
        ["image variable"] = (m => Mod(m)["settings"]!["image"] = "$REGISTRY/camera:1", AgentPath + ".modules.CameraCapture.settings.image", ManifestSeverity.Error, "unexpanded variable"),
        ["image angle placeholder"] = (m => Mod(m)["settings"]!["image"] = "<Container_Registry>/camera:<Build.BuildNumber>", AgentPath + ".modules.CameraCapture.settings.image", ManifestSeverity.Warning, "another tool"),
        ["createOptions not JSON"] = (m => Mod(m)["settings"]!["createOptions"] = "{\"HostConfig\":", AgentPath + ".modules.CameraCapture.settings.createOptions", ManifestSeverity.Error, "not a JSON object"),
        ["createOptions array"] = (m => Mod(m)["settings"]!["createOptions"] = "[1]", AgentPath + ".modules.CameraCapture.settings.createOptions", ManifestSeverity.Error, "found a JSON array"),
        ["createOptions chunks join to invalid JSON"] = (m =>
        {
            Mod(m)["settings"]!["createOptions"] = "{\"User\":";
            Mod(m)["settings"]!["createOptions01"] = "\"1654\"";
        }, AgentPath + ".modules.CameraCapture.settings.createOptions", ManifestSeverity.Error, "joined from its chunks"),
        ["createOptions chunk gap"] = (m =>
        {
            Mod(m)["settings"]!["createOptions"] = "{\"User\":";
            Mod(m)["settings"]!["createOptions02"] = "\"1654\"}";
        }, AgentPath + ".modules.CameraCapture.settings.createOptions02", ManifestSeverity.Error, "createOptions01 is missing"),
        ["createOptions object in a manifest"] = (m => Mod(m)["settings"]!["createOptions"] = new JsonObject(), AgentPath + ".modules.CameraCapture.settings.createOptions", ManifestSeverity.Error, "must be a string"),
        ["createOptions over 512"] = (m => Mod(m)["settings"]!["createOptions"] = "{\"Labels\":{\"a\":\"" + new string('x', 600) + "\"}}", AgentPath + ".modules.CameraCapture.settings.createOptions", ManifestSeverity.Warning, "at most 512"),
        ["createOptions over 4 KB"] = (m => Mod(m)["settings"]!["createOptions"] = "{\"Labels\":{\"a\":\"" + new string('x', 4100) + "\"}}", AgentPath + ".modules.CameraCapture.settings.createOptions", ManifestSeverity.Error, "at most 4096"),
        ["env bare value"] = (m => Mod(m)["env"]!["FRAME_STORE"] = "/app/frames", AgentPath + ".modules.CameraCapture.env.FRAME_STORE", ManifestSeverity.Error, "{\"value\""),
        ["env object value"] = (m => Mod(m)["env"]!["FRAME_STORE"] = new JsonObject { ["value"] = new JsonObject() }, AgentPath + ".modules.CameraCapture.env.FRAME_STORE.value", ManifestSeverity.Error, "must be a string"),
        ["env array"] = (m => Mod(m)["env"] = new JsonArray(), AgentPath + ".modules.CameraCapture.env", ManifestSeverity.Error, "must be an object"),
        ["env name with ="] = (m => Mod(m)["env"]!["A=B"] = new JsonObject { ["value"] = "x" }, AgentPath + ".modules.CameraCapture.env['A=B']", ManifestSeverity.Error, "without '='"),
        ["module id with dot"] = (m => Rename(m, "camera.capture"), AgentPath + ".modules['camera.capture']", ManifestSeverity.Error, "no '.'"),
        ["module id with $"] = (m => Rename(m, "$camera"), AgentPath + ".modules.$camera", ManifestSeverity.Error, "is invalid"),
        ["module id too long"] = (m => Rename(m, new string('c', 129)), AgentPath + ".modules." + new string('c', 129), ManifestSeverity.Error, "1–128"),
        ["module id reserved"] = (m => Rename(m, "edgeHub"), AgentPath + ".modules.edgeHub", ManifestSeverity.Error, "system module"),
        ["more than 50 modules"] = (m =>
        {
            for (var i = 0; i < 50; i++)
            {
                ((JsonObject)A(m)["modules"]!)["m" + i] = Mod(m).DeepClone();
            }
        }, AgentPath + ".modules", ManifestSeverity.Error, "at most 50"),
        ["desired over 32 KB"] = (m => M(m)["Inference"]!["properties.desired"]!["blob"] = new string('x', 33 * 1024), Mc + ".Inference['properties.desired']", ManifestSeverity.Error, "32768 bytes"),
        ["twin key with dot"] = (m => M(m)["Inference"]!["properties.desired"]!["a.b"] = 1, Mc + ".Inference['properties.desired']['a.b']", ManifestSeverity.Error, "twin key"),
        ["twin too deep"] = (m =>
        {
            JsonNode deep = 1;
            for (var i = 0; i < 11; i++)
            {
                deep = new JsonObject { ["d"] = deep };
            }

            M(m)["Inference"]!["properties.desired"]!["deep"] = deep;
        }, Mc + ".Inference['properties.desired'].deep.d.d.d.d.d.d.d.d.d", ManifestSeverity.Error, "deeper than"),
        ["twin of undeployed module"] = (m => M(m)["Ghost"] = new JsonObject { ["properties.desired"] = new JsonObject() }, Mc + ".Ghost", ManifestSeverity.Warning, "does not deploy"),
        ["twin without desired"] = (m => M(m)["Inference"] = new JsonObject(), Mc + ".Inference['properties.desired']", ManifestSeverity.Error, "required object"),
        ["route syntax"] = (m => H(m)["routes"]!["frames"] = "FROM /messages/* INTO", HubPath + ".routes.frames", ManifestSeverity.Error, "route does not compile"),
        ["route bad sink"] = (m => H(m)["routes"]!["frames"] = "FROM /messages/* INTO $somewhere", HubPath + ".routes.frames", ManifestSeverity.Error, "route does not compile"),
        ["route name"] = (m => H(m)["routes"]!["to cloud"] = "FROM /messages/* INTO $upstream", HubPath + ".routes['to cloud']", ManifestSeverity.Error, "route name"),
        ["route priority 10"] = (m => H(m)["routes"]!["up"]!["priority"] = 10, HubPath + ".routes.up.priority", ManifestSeverity.Error, "0 (highest) to 9"),
        ["route ttl negative"] = (m => H(m)["routes"]!["up"]!["timeToLiveSecs"] = -5, HubPath + ".routes.up.timeToLiveSecs", ManifestSeverity.Error, "non-negative"),
        ["route object missing route"] = (m => ((JsonObject)H(m)["routes"]!["up"]!).Remove("route"), HubPath + ".routes.up.route", ManifestSeverity.Error, "required route string"),
        ["route object with hub schema 1.0"] = (m => H(m)["schemaVersion"] = "1.0", HubPath + ".routes.up", ManifestSeverity.Error, "1.1 or later"),
        ["route number"] = (m => H(m)["routes"]!["up"] = 5, HubPath + ".routes.up", ManifestSeverity.Error, "route string or"),
        ["routes missing"] = (m => H(m).Remove("routes"), HubPath + ".routes", ManifestSeverity.Error, "required object"),
        ["route to undeployed module"] = (m => H(m)["routes"]!["frames"] = "FROM /messages/modules/CameraCapture/outputs/frames INTO BrokeredEndpoint(\"/modules/Detector/inputs/frames\")",
            HubPath + ".routes.frames", ManifestSeverity.Warning, "delivers to module 'Detector'"),
        ["route from module with other case"] = (m => H(m)["routes"]!["frames"] = "FROM /messages/modules/cameracapture/outputs/* INTO $upstream",
            HubPath + ".routes.frames", ManifestSeverity.Warning, "did you mean 'CameraCapture'"),
        ["store and forward ttl text"] = (m => H(m)["storeAndForwardConfiguration"]!["timeToLiveSecs"] = "2h", HubPath + ".storeAndForwardConfiguration.timeToLiveSecs", ManifestSeverity.Error, "integer"),
        ["store and forward missing"] = (m => H(m).Remove("storeAndForwardConfiguration"), HubPath + ".storeAndForwardConfiguration", ManifestSeverity.Warning, "7200"),
        ["template key left"] = (m => m["$schema-template"] = "4.0.0", "$['$schema-template']", ManifestSeverity.Warning, "edge manifest build"),
        ["braced variable left"] = (m => Mod(m)["env"]!["FRAME_STORE"]!["value"] = "${FRAMES}", AgentPath + ".modules.CameraCapture.env.FRAME_STORE.value", ManifestSeverity.Warning, "unexpanded variable"),
    };

    public static TheoryData<string> FailingCases => [.. Failing.Keys];

    [Fact]
    public void Validate_MinimalManifest_NoProblems()
    {
        var problems = ManifestValidator.Validate(Solution.Minimal());
        problems.ShouldBeEmpty(string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(FailingCases))]
    public void Validate_BrokenRule_ReportedWithPathAndSeverity(string rule)
    {
        var (breakIt, path, severity, text) = Failing[rule];
        var m = Solution.Minimal();
        breakIt(m);
        var problems = ManifestValidator.Validate(m);
        var match = problems.FirstOrDefault(p => p.Path == path && p.Message.Contains(text, StringComparison.Ordinal));
        match.ShouldNotBeNull($"expected '{text}' at {path}; got:\n{string.Join("\n", problems)}");
        match.Severity.ShouldBe(severity);
    }

    [Fact]
    public void Validate_RestartPolicyOmitted_AcceptedAsEdgeAgentDefaultsIt()
    {
        var m = Solution.Minimal();
        ((JsonObject)Mod(m)).Remove("restartPolicy");
        ((JsonObject)A(m)["systemModules"]!["edgeHub"]!).Remove("restartPolicy");
        ManifestValidator.Validate(m).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("1.0")]
    [InlineData("1.1")]
    [InlineData("1.1.0")]
    public void Validate_AgentSchemaVersions_Accepted(string version)
    {
        var m = Solution.Minimal();
        A(m)["schemaVersion"] = version;
        ((JsonObject)A(m)["systemModules"]!["edgeHub"]!).Remove("startupOrder");
        ((JsonObject)Mod(m)).Remove("startupOrder");
        ManifestValidator.Validate(m).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("1.2")]
    [InlineData("1.3")]
    public void Validate_HubSchemaVersions_Accepted(string version)
    {
        var m = Solution.Minimal();
        H(m)["schemaVersion"] = version;
        ManifestValidator.Validate(m).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("mcr.microsoft.com/azureiotedge-hub:1.5")]
    [InlineData("localhost:5000/team/camera_capture:1.0.0-arm64v8")]
    [InlineData("camera@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")]
    [InlineData("contoso.azurecr.io/a/b/c:1.0.0-amd64.debug")]
    public void Validate_ValidImageReferences_Accepted(string image)
    {
        var m = Solution.Minimal();
        Mod(m)["settings"]!["image"] = image;
        ManifestValidator.Validate(m).ShouldBeEmpty();
    }

    [Fact]
    public void Validate_ChunkedCreateOptions_JoinedAndAccepted()
    {
        var m = Solution.Minimal();
        var settings = (JsonObject)Mod(m)["settings"]!;
        settings["createOptions"] = "{\"Labels\":{\"a\":\"" + new string('x', 1000) + "\"}}";
        CreateOptions.Normalize(settings, "$", []);
        settings.ContainsKey("createOptions01").ShouldBeTrue();
        ManifestValidator.Validate(m).ShouldBeEmpty();
    }

    [Fact]
    public void Validate_ExactlyFiftyModules_Accepted()
    {
        var m = Solution.Minimal();
        for (var i = 0; i < 48; i++)
        {
            ((JsonObject)A(m)["modules"]!)["m" + i] = Mod(m).DeepClone();
        }

        ManifestValidator.Validate(m).ShouldBeEmpty();
    }

    [Fact]
    public void Validate_ConfigurationShapeAndNullCreateOptions_Accepted()
    {
        var m = Solution.Minimal();
        Mod(m)["settings"]!["createOptions"] = "null";
        var configuration = new JsonObject { ["id"] = "x", ["content"] = new JsonObject { ["modulesContent"] = M(m).DeepClone() } };
        ManifestValidator.Validate(configuration).ShouldBeEmpty();
    }

    [Fact]
    public void Validate_MisspeltModuleContent_ReadWithWarning()
    {
        var m = Solution.Minimal();
        m["moduleContent"] = M(m).DeepClone();
        m.Remove("modulesContent");
        var problems = ManifestValidator.Validate(m);
        problems.Single().Severity.ShouldBe(ManifestSeverity.Warning);
        problems.Single().Path.ShouldBe("$.moduleContent");
    }

    [Fact]
    public void Validate_InvalidJsonText_OneErrorWithLine()
    {
        var problems = ManifestValidator.Validate("{\n  \"modulesContent\": {,\n}");
        problems.Single().Path.ShouldStartWith("line 2");
    }

    [Fact]
    public void Validate_ErrorsBeforeWarnings()
    {
        var m = Solution.Minimal();
        m["$schema-template"] = "4.0.0";
        Mod(m)["status"] = "paused";
        var problems = ManifestValidator.Validate(m);
        problems[0].Severity.ShouldBe(ManifestSeverity.Error);
        problems[^1].Severity.ShouldBe(ManifestSeverity.Warning);
    }

    private static JsonObject M(JsonObject m) => (JsonObject)m["modulesContent"]!;

    private static JsonObject A(JsonObject m) => Solution.Agent(m);

    private static JsonObject H(JsonObject m) => Solution.Hub(m);

    private static JsonObject Mod(JsonObject m) => Solution.Module(m, "CameraCapture");

    private static void Rename(JsonObject m, string id)
    {
        var modules = (JsonObject)A(m)["modules"]!;
        var node = modules["CameraCapture"]!.DeepClone();
        modules.Remove("CameraCapture");
        modules[id] = node;
    }
}
