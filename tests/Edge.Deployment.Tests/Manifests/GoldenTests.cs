using System.Text.Json;
using Edge.Deployment.Manifests;

namespace Edge.Deployment.Tests.Manifests;

/// <summary>
/// deployment[.debug].template.json → manifest, byte for byte against tests/Edge.Deployment.Tests/Golden/. After an
/// intended change, regenerate with <c>EDGE_UPDATE_GOLDEN=1 dotnet test --filter GoldenTests</c> and review the diff.
/// </summary>
public sealed class GoldenTests
{
    [Theory]
    [InlineData("deployment.template.json", "amd64")]
    [InlineData("deployment.template.json", "arm64v8")]
    [InlineData("deployment.debug.template.json", "amd64.debug")]
    public void Build_SolutionTemplate_MatchesGoldenFile(string template, string platform)
    {
        var text = ManifestJson.Serialize(Solution.Build(template, platform));
        var golden = Path.Combine(Solution.GoldenDirectory, ManifestBuilder.OutputFileName(template, platform));
        if (Environment.GetEnvironmentVariable("EDGE_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(golden, text);
        }

        File.Exists(golden).ShouldBeTrue($"golden file {golden} is missing: run with EDGE_UPDATE_GOLDEN=1");
        text.ShouldBe(File.ReadAllText(golden));
    }

    [Theory]
    [InlineData("deployment.template.json", "amd64")]
    [InlineData("deployment.template.json", "arm64v8")]
    [InlineData("deployment.debug.template.json", "amd64.debug")]
    public void Build_SolutionTemplate_IsValidWithoutWarnings(string template, string platform)
    {
        var problems = ManifestValidator.Validate(Solution.Build(template, platform));
        problems.ShouldBeEmpty(string.Join("\n", problems));
    }

    [Fact]
    public void Build_SameInputTwice_IdenticalBytes()
    {
        ManifestJson.Serialize(Solution.Build("deployment.template.json", "arm64v8"))
            .ShouldBe(ManifestJson.Serialize(Solution.Build("deployment.template.json", "arm64v8")));
    }

    [Fact]
    public void Build_Arm64_ImagesArePlatformTagged()
    {
        var m = Solution.Build("deployment.template.json", "arm64v8");
        Solution.Module(m, "CameraCapture")["settings"]!["image"]!.GetValue<string>().ShouldBe("contoso.azurecr.io/camera-capture:1.0.0-arm64v8");
        Solution.Module(m, "Inference")["settings"]!["image"]!.GetValue<string>().ShouldBe("contoso.azurecr.io/inference:1.0.0-arm64v8");
    }

    [Fact]
    public void Build_DebugTemplate_UsesDebugImages()
    {
        var m = Solution.Build("deployment.debug.template.json", "amd64");
        Solution.Module(m, "Inference")["settings"]!["image"]!.GetValue<string>().ShouldBe("contoso.azurecr.io/inference:1.0.0-amd64.debug");
    }

    [Fact]
    public void Build_CameraCreateOptions_ChunkedAndJoinToTheTemplateObject()
    {
        var m = Solution.Build("deployment.debug.template.json", "amd64");
        var settings = (System.Text.Json.Nodes.JsonObject)Solution.Module(m, "CameraCapture")["settings"]!;
        settings.ContainsKey("createOptions01").ShouldBeTrue("the debug camera's createOptions is over 512 characters and must be chunked");
        var problems = new List<ManifestProblem>();
        var joined = CreateOptions.Join(settings, "$", problems);
        problems.ShouldBeEmpty();
        using var doc = JsonDocument.Parse(joined!);
        doc.RootElement.GetProperty("HostConfig").GetProperty("Devices")[0].GetProperty("PathOnHost").GetString().ShouldBe("/dev/video0");
        doc.RootElement.GetProperty("User").GetString().ShouldBe("1654:1654");
        doc.RootElement.GetProperty("HostConfig").GetProperty("CapAdd")[0].GetString().ShouldBe("SYS_PTRACE");
    }

    [Fact]
    public void Build_PasswordWithQuote_EscapedInsideTheJsonString()
    {
        var m = Solution.Build("deployment.template.json", "amd64");
        Solution.Agent(m)["runtime"]!["settings"]!["registryCredentials"]!["modules"]!["password"]!.GetValue<string>().ShouldBe("p@ss\"word");
    }
}
