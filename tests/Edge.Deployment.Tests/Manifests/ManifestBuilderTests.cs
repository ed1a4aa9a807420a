using System.Text.Json.Nodes;
using Edge.Deployment.Manifests;

namespace Edge.Deployment.Tests.Manifests;

public sealed class ManifestBuilderTests
{
    private static readonly ModuleJson Camera = ModuleJson.Parse("""
        {"$schema-version":"0.0.1","image":{"repository":"${REG}/Camera-Capture","tag":{"version":"$VER",
         "platforms":{"amd64":"./Dockerfile.amd64","amd64.debug":"./Dockerfile.amd64","arm64v8":"./Dockerfile.arm64v8"}},
         "buildOptions":[],"contextPath":"../.."}}
        """, "CameraCapture");

    private static ManifestBuildOptions Options(string platform = "amd64", params (string Key, string Value)[] vars) =>
        new(platform, new VariableSet(vars.Select(v => new KeyValuePair<string, string>(v.Key, v.Value)).Append(new("REG", "reg.io")).Append(new("VER", "2.1"))),
            new ModuleCatalog([Camera], dir => dir == "./cam" ? Camera : null));

    private static JsonObject Build(string json, ManifestBuildOptions? options = null) => ManifestBuilder.Build(json, options ?? Options());

    [Theory]
    [InlineData("${MODULES.CameraCapture}", "amd64", "reg.io/camera-capture:2.1-amd64")]
    [InlineData("${MODULES.CameraCapture}", "arm64v8", "reg.io/camera-capture:2.1-arm64v8")]
    [InlineData("${MODULES.CameraCapture.debug}", "amd64", "reg.io/camera-capture:2.1-amd64.debug")]
    [InlineData("${MODULES.CameraCapture.debug}", "amd64.debug", "reg.io/camera-capture:2.1-amd64.debug")]
    [InlineData("${MODULES.CameraCapture.arm64v8}", "amd64", "reg.io/camera-capture:2.1-arm64v8")]
    [InlineData("${MODULES.CameraCapture.amd64.debug}", "arm64v8", "reg.io/camera-capture:2.1-amd64.debug")]
    [InlineData("${MODULEDIR<./cam>}", "arm64v8", "reg.io/camera-capture:2.1-arm64v8")]
    [InlineData("${MODULEDIR<./cam>.debug}", "amd64", "reg.io/camera-capture:2.1-amd64.debug")]
    public void Build_ModulePlaceholder_RepositoryVersionPlatform(string placeholder, string platform, string expected)
    {
        Build($$"""{"image":"{{placeholder}}"}""", Options(platform))["image"]!.GetValue<string>().ShouldBe(expected);
    }

    [Fact]
    public void Build_UnknownVariablesModulesAndPlatforms_AllListedInOneError()
    {
        var ex = Should.Throw<ManifestException>(() => Build("""
            {"a":"${NOPE}","b":"$ALSO_MISSING","c":"${MODULES.Ghost}","d":"${MODULES.CameraCapture.arm32v7}","e":"${NOPE}"}
            """));
        ex.Problems.Count.ShouldBe(4);
        ex.Message.ShouldContain("'NOPE'");
        ex.Message.ShouldContain("'ALSO_MISSING'");
        ex.Message.ShouldContain("no module.json for module 'Ghost' (known modules: CameraCapture)");
        ex.Message.ShouldContain("has no platform 'arm32v7'");
        ex.Problems[0].Path.ShouldBe("line 1, column 7");
    }

    [Fact]
    public void Build_ModuleJsonVariableMissing_NamesTheModule()
    {
        var options = new ManifestBuildOptions("amd64", VariableSet.Empty, new ModuleCatalog([Camera]));
        var ex = Should.Throw<ManifestException>(() => ManifestBuilder.Build("""{"i":"${MODULES.CameraCapture}"}""", options));
        ex.Message.ShouldContain("variable 'REG' used by module.json of 'CameraCapture'");
        ex.Message.ShouldContain("'VER'");
    }

    [Fact]
    public void Build_SystemDollarNames_LeftAlone()
    {
        var m = Build("""{"$edgeAgent":{"r":"FROM /messages/* WHERE $connectionModuleId = 'x' INTO $upstream","b":"$body.temp"}}""");
        m["$edgeAgent"]!["r"]!.GetValue<string>().ShouldBe("FROM /messages/* WHERE $connectionModuleId = 'x' INTO $upstream");
        m["$edgeAgent"]!["b"]!.GetValue<string>().ShouldBe("$body.temp");
    }

    [Fact]
    public void Build_PlaceholderOutsideString_InsertedAsJson()
    {
        var m = Build("""{"timeToLiveSecs": ${TTL}, "on": $ON}""", Options("amd64", ("TTL", "7200"), ("ON", "true")));
        m["timeToLiveSecs"]!.GetValue<int>().ShouldBe(7200);
        m["on"]!.GetValue<bool>().ShouldBeTrue();
    }

    [Fact]
    public void Build_ValueWithQuotesAndBackslashes_StaysOneString()
    {
        var route = "FROM /messages/* INTO BrokeredEndpoint(\"/modules/a/inputs/b\")";
        var m = Build("""{"route":"$ROUTE","path":"C:\\x\\${DIR}"}""", Options("amd64", ("ROUTE", route), ("DIR", "a\\b")));
        m["route"]!.GetValue<string>().ShouldBe(route);
        m["path"]!.GetValue<string>().ShouldBe("C:\\x\\a\\b");
    }

    [Fact]
    public void Build_VariableAsKey_Expanded()
    {
        var m = Build("""{"registryCredentials":{"$USER":{"username":"$USER"}}}""", Options("amd64", ("USER", "contoso")));
        m["registryCredentials"]!["contoso"]!["username"]!.GetValue<string>().ShouldBe("contoso");
    }

    [Fact]
    public void Build_SchemaTemplateKey_Removed()
    {
        Build("""{"$schema-template":"4.0.0","modulesContent":{}}""").ContainsKey("$schema-template").ShouldBeFalse();
    }

    [Fact]
    public void Build_InvalidJsonAfterExpansion_ClearErrorWithLine()
    {
        var ex = Should.Throw<ManifestException>(() => Build("{\n\"a\": ${X}\n}", Options("amd64", ("X", "not json"))));
        ex.Problems.Single().Path.ShouldStartWith("line 2");
        ex.Message.ShouldContain("not valid JSON");
    }

    [Fact]
    public void VariableSet_EnvironmentWinsOverDotEnv()
    {
        var name = "EDGE_DEPLOY_TEST_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, $"{name}=from-file\nONLY_IN_FILE_{name}=file\n");
            Environment.SetEnvironmentVariable(name, "from-env");
            var vars = VariableSet.FromDotEnvAndEnvironment(file);
            vars.TryGet(name, out var v).ShouldBeTrue();
            v.ShouldBe("from-env");
            vars.TryGet("ONLY_IN_FILE_" + name, out var f).ShouldBeTrue();
            f.ShouldBe("file");
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
            File.Delete(file);
        }
    }

    [Fact]
    public void DotEnv_Parse_CommentsQuotesExport()
    {
        var values = DotEnv.Parse("# c\nA=1\nexport B = two \nC=\"q # not comment\"\nD='x'\nE=v # comment\n\nbad line\nF=\n").ToDictionary();
        values.ShouldBe(new Dictionary<string, string> { ["A"] = "1", ["B"] = "two", ["C"] = "q # not comment", ["D"] = "x", ["E"] = "v", ["F"] = "" });
    }

    [Fact]
    public void OutputFileName_TemplateNames_IotEdgeDevStyle()
    {
        ManifestBuilder.OutputFileName("/x/deployment.template.json", "arm64v8").ShouldBe("deployment.arm64v8.json");
        ManifestBuilder.OutputFileName("deployment.debug.template.json", "amd64.debug").ShouldBe("deployment.debug.amd64.debug.json");
    }

    [Fact]
    public async Task BuildFileAsync_WritesConfigFolder()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            var modules = Path.Combine(dir.FullName, "modules", "CameraCapture");
            Directory.CreateDirectory(modules);
            File.WriteAllText(Path.Combine(modules, "module.json"), """
                {"image":{"repository":"reg/cam","tag":{"version":"1","platforms":{"amd64":"./Dockerfile.amd64"}}}}
                """);
            var template = Path.Combine(dir.FullName, "deployment.template.json");
            File.WriteAllText(template, """{"$schema-template":"4.0.0","image":"${MODULES.CameraCapture}"}""");
            var output = await ManifestBuilder.BuildFileAsync(template, "amd64", VariableSet.Empty, Path.Combine(dir.FullName, "config"), null, TestContext.Current.CancellationToken);
            output.ShouldBe(Path.Combine(dir.FullName, "config", "deployment.amd64.json"));
            File.ReadAllText(output).ShouldBe("{\n  \"image\": \"reg/cam:1-amd64\"\n}\n");
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void ModuleJson_MissingFields_AllListed()
    {
        var ex = Should.Throw<ManifestException>(() => ModuleJson.Parse("""{"image":{"tag":{}}}""", "X"));
        ex.Problems.Count.ShouldBe(3);
        ex.Message.ShouldContain("module.json of 'X'");
    }
}
