using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Hub.Supervisor;
using Edge.TestSupport;
using static Edge.Hub.Tests.Supervisor.SupervisorHarness;

namespace Edge.Hub.Tests.Supervisor;

public sealed class EdgeAgentDesiredTests
{
    [Fact]
    public void Parse_FullModule_ReadsEveryField()
    {
        var m = Module("on-failure", "stopped", 7, new Dictionary<string, string> { ["A"] = "1" });
        m["env"]!["N"] = new JsonObject { ["value"] = 42 };

        var modules = EdgeAgentDesired.Parse(Desired(("filter", m)), out var errors);

        errors.ShouldBeEmpty();
        var def = modules["filter"];
        def.DesiredRunning.ShouldBeFalse();
        def.RestartPolicy.ShouldBe(RestartPolicy.OnFailure);
        def.StartupOrder.ShouldBe(7u);
        def.Env.ShouldBe([new("A", "1"), new("N", "42")]);
        def.Image.ShouldBe("localhost:5000/module:0.0.1");
    }

    [Fact]
    public void Parse_Defaults_AlwaysRunningLastInOrder()
    {
        var m = new JsonObject { ["settings"] = new JsonObject { ["image"] = "x" } };

        var def = EdgeAgentDesired.Parse(Desired(("m", m)), out var errors)["m"];

        errors.ShouldBeEmpty();
        def.DesiredRunning.ShouldBeTrue();
        def.RestartPolicy.ShouldBe(RestartPolicy.Always);
        def.StartupOrder.ShouldBe(uint.MaxValue);
    }

    [Theory]
    [InlineData("restartPolicy", "\"sometimes\"", "modules.m.restartPolicy: invalid restart policy \"sometimes\"")]
    [InlineData("restartPolicy", "1", "modules.m.restartPolicy: invalid restart policy 1")]
    [InlineData("status", "\"paused\"", "modules.m.status: invalid status \"paused\"")]
    [InlineData("startupOrder", "-1", "modules.m.startupOrder: invalid startup order -1")]
    [InlineData("startupOrder", "1.5", "modules.m.startupOrder: invalid startup order 1.5")]
    [InlineData("startupOrder", "4294967296", "modules.m.startupOrder: invalid startup order 4294967296")]
    [InlineData("startupOrder", "\"1\"", "modules.m.startupOrder: invalid startup order \"1\"")]
    [InlineData("type", "\"rkt\"", "modules.m.type: unsupported module type \"rkt\"")]
    [InlineData("env", "{\"A\": \"plain\"}", "modules.m.env.A: expected {\"value\": \"...\"}")]
    [InlineData("env", "[]", "modules.m.env: expected an object")]
    [InlineData("settings", "{\"image\": \"\"}", "modules.m.settings.image: expected a non-empty string")]
    [InlineData("settings", "{\"image\": \"x\", \"createOptions\": \"{not json\"}", "modules.m.settings.createOptions: not valid JSON")]
    [InlineData("settings", "{\"image\": \"x\", \"createOptions\": \"[1,2]\"}", "modules.m.settings.createOptions: expected a stringified JSON object")]
    [InlineData("settings", "{\"image\": \"x\", \"createOptions\": \"{}\", \"createOptions02\": \"x\"}", "modules.m.settings.createOptions: createOptions02 follows a missing createOptions01")]
    public void Parse_InvalidField_ReportsErrorWithJsonPath(string field, string json, string expectedPrefix)
    {
        var m = Module("always");
        m[field] = JsonNode.Parse(json);

        var modules = EdgeAgentDesired.Parse(Desired(("m", m)), out var errors);

        modules.ShouldBeEmpty();
        errors.ShouldHaveSingleItem().ShouldStartWith(expectedPrefix);
    }

    [Theory]
    [InlineData("a/b")]
    [InlineData("a b")]
    [InlineData("..")]
    public void Parse_InvalidModuleId_Rejected(string id)
    {
        EdgeAgentDesired.Parse(Desired((id, Module())), out var errors);

        errors.ShouldHaveSingleItem().ShouldStartWith($"modules.{id}: invalid module id");
    }

    [Fact]
    public void Parse_TwinMetadata_IgnoredInModulesAndFingerprint()
    {
        var d = Desired(("m", Module()));
        d["$version"] = 7;
        d["modules"]!["$metadata"] = new JsonObject { ["$lastUpdated"] = "2026-01-01T00:00:00Z" };
        var withMeta = Module();
        withMeta["$lastUpdated"] = "2026-01-01T00:00:00Z";

        var modules = EdgeAgentDesired.Parse(d, out var errors);
        var again = EdgeAgentDesired.Parse(Desired(("m", withMeta)), out _);

        errors.ShouldBeEmpty();
        modules.Keys.ShouldBe(["m"]);
        again["m"].Fingerprint.ShouldBe(modules["m"].Fingerprint);
    }

    [Theory]
    [InlineData("\"2.0\"")]
    [InlineData("\"1.2\"")]
    [InlineData("1.1")]
    public void Parse_UnsupportedSchemaVersion_Rejected(string schema)
    {
        var d = Desired();
        d["schemaVersion"] = JsonNode.Parse(schema);

        EdgeAgentDesired.Parse(d, out var errors);

        errors.ShouldHaveSingleItem().ShouldStartWith("schemaVersion: unsupported schema version");
    }

    [Fact]
    public void Parse_SameModuleDifferentKeyOrderOrStatus_SameFingerprint()
    {
        var a = JsonNode.Parse("""{"status":"running","restartPolicy":"always","settings":{"image":"x","createOptions":"{}"},"env":{"A":{"value":"1"},"B":{"value":"2"}}}""")!.AsObject();
        var b = JsonNode.Parse("""{"env":{"B":{"value":"2"},"A":{"value":"1"}},"settings":{"createOptions":"{}","image":"x"},"restartPolicy":"always","status":"stopped"}""")!.AsObject();
        var c = JsonNode.Parse("""{"env":{"B":{"value":"3"},"A":{"value":"1"}},"settings":{"createOptions":"{}","image":"x"},"restartPolicy":"always","status":"stopped"}""")!.AsObject();

        var fa = EdgeAgentDesired.Parse(Desired(("m", a)), out _)["m"].Fingerprint;
        var fb = EdgeAgentDesired.Parse(Desired(("m", b)), out _)["m"].Fingerprint;
        var fc = EdgeAgentDesired.Parse(Desired(("m", c)), out _)["m"].Fingerprint;

        fa.ShouldBe(fb);
        fc.ShouldNotBe(fa);
    }

    [Fact]
    public void CreateOptions_ChunkedStringified_ConcatenatedAndRead()
    {
        var settings = new JsonObject
        {
            ["image"] = "x",
            ["createOptions"] = """{"Env":["A=1","B=x=y"],"HostConfig":{"Binds":["vol1:/data","/abs:/b:ro"],""",
            ["createOptions01"] = @"""Mounts"":[{""Type"":""volume"",""Source"":""vol2"",""Target"":""/m""}],""Privileged"":true},",
            ["createOptions02"] = @"""ExposedPorts"":{""80/tcp"":{}}}",
        };

        CreateOptions.TryParse(settings, out var co, out var error).ShouldBeTrue(error);

        co.Env.ShouldBe([new("A", "1"), new("B", "x=y")]);
        co.Binds.ShouldBe([new VolumeBind("vol1", "/data"), new VolumeBind("/abs", "/b"), new VolumeBind("vol2", "/m")]);
        co.Binds.Select(b => b.IsNamedVolume).ShouldBe([true, false, true]);
        co.Ignored.ShouldBe(["HostConfig.Privileged", "ExposedPorts"], ignoreOrder: true);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"null\"")]
    [InlineData("{\"HostConfig\":{\"Binds\":[\"v:/d\"]}}")] // a template's unstringified object
    public void CreateOptions_EmptyNullOrObject_Accepted(string value)
    {
        var settings = new JsonObject { ["image"] = "x", ["createOptions"] = JsonNode.Parse(value) };

        CreateOptions.TryParse(settings, out _, out var error).ShouldBeTrue(error);
    }

    [Fact]
    public void VolumePath_EscapingName_StaysInsideStateDirectory()
    {
        var root = Path.Combine(Path.GetTempPath(), "s");

        ModuleRunner.VolumePath(root, "data").ShouldBe(Path.Combine(root, "volumes", "data"));
        ModuleRunner.VolumePath(root, "../../etc").ShouldStartWith(Path.Combine(root, "volumes") + "/");
    }

    [Fact]
    public void Parse_ReferenceManifests_RealDeploymentsValidate()
    {
        Assert.SkipWhen(Assets.ReferenceManifests is null, "reference manifests are not beside this checkout");
        var checkedModules = 0;
        foreach (var file in Directory.EnumerateFiles(Assets.ReferenceManifests!, "*.json"))
        {
            JsonNode? root;
            try
            {
                // Templates leave the schema version to the tooling (iotedgedev's default is 1.1).
                var text = File.ReadAllText(file).Replace("${EDGEAGENT_SCHEMA_VERSION}", "1.1", StringComparison.Ordinal);
                root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            }
            catch (JsonException)
            {
                continue; // a template with unquoted placeholders: not JSON until expanded
            }

            var modulesContent = (root as JsonObject)?["modulesContent"] ?? (root as JsonObject)?["content"]?["modulesContent"];
            if (modulesContent?["$edgeAgent"]?["properties.desired"] is not JsonObject desired)
            {
                continue;
            }

            var modules = EdgeAgentDesired.Parse(desired, out var errors);
            if (Path.GetFileName(file).Contains("invalid_createoptions", StringComparison.Ordinal))
            {
                errors.ShouldContain(e => e.StartsWith("modules.csharpmodule.settings.createOptions: createOptions03 follows a missing createOptions02", StringComparison.Ordinal));
                errors.ShouldContain(e => e.StartsWith("modules.csharpfunction.settings.createOptions: expected a stringified JSON object", StringComparison.Ordinal));
                continue;
            }

            errors.ShouldBeEmpty(Path.GetFileName(file));
            checkedModules += modules.Count;
        }

        checkedModules.ShouldBeGreaterThan(20);
    }
}
