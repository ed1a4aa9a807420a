using System.Text.Json.Nodes;
using Edge.Deployment.Manifests;
using Edge.Deployment.Tests.Manifests;

namespace Edge.Deployment.Tests.Cli;

/// <summary><c>edge manifest build|validate</c> as a user runs them (a child process): files written, problems printed, exit codes.</summary>
public sealed class ManifestCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("edge-manifest-");

    public void Dispose() => _dir.Delete(true);

    [Fact]
    public async Task ManifestBuildAndValidate_SolutionLayout_WritesConfigAndValidates()
    {
        var module = Path.Combine(_dir.FullName, "modules", "CameraCapture");
        Directory.CreateDirectory(module);
        File.Copy(Path.Combine(Solution.Root, "modules", "CameraCapture", "module.json"), Path.Combine(module, "module.json"));
        var inference = Path.Combine(_dir.FullName, "modules", "Inference");
        Directory.CreateDirectory(inference);
        File.Copy(Path.Combine(Solution.Root, "modules", "Inference", "module.json"), Path.Combine(inference, "module.json"));
        File.Copy(Path.Combine(Solution.Root, "deployment.template.json"), Path.Combine(_dir.FullName, "deployment.template.json"));
        File.WriteAllText(Path.Combine(_dir.FullName, ".env"), "CONTAINER_REGISTRY_SERVER=contoso.azurecr.io\nCONTAINER_REGISTRY_USERNAME=contoso\nCONTAINER_REGISTRY_PASSWORD=pw\n");

        var build = await EdgeCli.RunAsync(new Dictionary<string, string?> { ["CONTAINER_REGISTRY_SERVER"] = null }, _dir.FullName, "manifest", "build", "--platform", "arm64v8");

        build.ExitCode.ShouldBe(0, EdgeCli.Describe(build));
        var output = Path.Combine(_dir.FullName, "config", "deployment.arm64v8.json");
        File.ReadAllText(output).ShouldContain("contoso.azurecr.io/inference:1.0.0-arm64v8");
        var validate = await EdgeCli.RunAsync(new Dictionary<string, string?>(), _dir.FullName, "manifest", "validate", output);
        validate.ExitCode.ShouldBe(0, EdgeCli.Describe(validate));
        validate.Stdout.ShouldContain("0 error(s), 0 warning(s)");
    }

    [Fact]
    public async Task ManifestBuild_UnknownVariable_ListsItExit2()
    {
        File.WriteAllText(Path.Combine(_dir.FullName, "deployment.template.json"), """{"modulesContent":{"a":"${NOT_SET_ANYWHERE}"}}""");
        var r = await EdgeCli.RunAsync(new Dictionary<string, string?>(), _dir.FullName, "manifest", "build");
        r.ExitCode.ShouldBe(2, EdgeCli.Describe(r));
        r.Stderr.ShouldContain("variable 'NOT_SET_ANYWHERE' is not set");
    }

    [Fact]
    public async Task ManifestValidate_Invalid_ProblemsWithPathsExit2()
    {
        var m = Solution.Minimal();
        Solution.Hub(m)["routes"]!["bad"] = "FROM /messages/* INTO nowhere";
        var r = await EdgeCli.RunAsync(new Dictionary<string, string?>(), null, "manifest", "validate", WriteManifest(m));
        r.ExitCode.ShouldBe(2, EdgeCli.Describe(r));
        r.Stderr.ShouldContain("error: $.modulesContent.$edgeHub['properties.desired'].routes.bad: route does not compile");
    }

    [Fact]
    public async Task ManifestValidate_WarningsAsErrors_Exit2()
    {
        var m = Solution.Minimal();
        Solution.Module(m, "CameraCapture")["settings"]!["image"] = "contoso.azurecr.io/camera";
        var file = WriteManifest(m);
        (await EdgeCli.RunAsync(new Dictionary<string, string?>(), null, "manifest", "validate", file)).ExitCode.ShouldBe(0);
        (await EdgeCli.RunAsync(new Dictionary<string, string?>(), null, "manifest", "validate", file, "--warnings-as-errors")).ExitCode.ShouldBe(2);
    }

    [Fact]
    public async Task ManifestBuild_InvalidResult_WritesNothingAndKeepsTheLastGoodFile()
    {
        WriteSolution("CONTAINER_REGISTRY_SERVER=contoso.azurecr.io\nCONTAINER_REGISTRY_USERNAME=contoso\nCONTAINER_REGISTRY_PASSWORD=pw\n");
        var output = Path.Combine(_dir.FullName, "config", "deployment.amd64.json");
        var template = Path.Combine(_dir.FullName, "deployment.template.json");

        // An invalid result in a fresh folder: no file, no config folder.
        var good = File.ReadAllText(template);
        File.WriteAllText(template, good.Replace("INTO $upstream", "INTO nowhere", StringComparison.Ordinal));
        var bad = await EdgeCli.RunAsync(new Dictionary<string, string?> { ["CONTAINER_REGISTRY_SERVER"] = null }, _dir.FullName, "manifest", "build");
        bad.ExitCode.ShouldBe(2, EdgeCli.Describe(bad));
        bad.Stderr.ShouldContain("route does not compile");
        bad.Stderr.ShouldContain($"{output} was not written");
        Directory.Exists(Path.GetDirectoryName(output)).ShouldBeFalse();

        // A good build, then an invalid one: the good file stays as it was.
        File.WriteAllText(template, good);
        (await EdgeCli.RunAsync(new Dictionary<string, string?> { ["CONTAINER_REGISTRY_SERVER"] = null }, _dir.FullName, "manifest", "build")).ExitCode.ShouldBe(0);
        var written = File.ReadAllText(output);
        File.WriteAllText(template, good.Replace("INTO $upstream", "INTO nowhere", StringComparison.Ordinal));
        (await EdgeCli.RunAsync(new Dictionary<string, string?> { ["CONTAINER_REGISTRY_SERVER"] = null }, _dir.FullName, "manifest", "build")).ExitCode.ShouldBe(2);
        File.ReadAllText(output).ShouldBe(written);
    }

    [Fact]
    public async Task ManifestBuild_OldRegistryVariableName_UsedWithADeprecationLine()
    {
        WriteSolution("CONTAINER_REGISTRY_ADDRESS=old.azurecr.io\nCONTAINER_REGISTRY_USERNAME=contoso\nCONTAINER_REGISTRY_PASSWORD=pw\n");

        var r = await EdgeCli.RunAsync(
            new Dictionary<string, string?> { ["CONTAINER_REGISTRY_SERVER"] = null, ["CONTAINER_REGISTRY_ADDRESS"] = null }, _dir.FullName, "manifest", "build");

        r.ExitCode.ShouldBe(0, EdgeCli.Describe(r));
        r.Stderr.ShouldContain("CONTAINER_REGISTRY_ADDRESS is deprecated: rename it to CONTAINER_REGISTRY_SERVER");
        File.ReadAllText(Path.Combine(_dir.FullName, "config", "deployment.amd64.json")).ShouldContain("old.azurecr.io/inference:1.0.0-amd64");
    }

    /// <summary>The solution's template and module.json files, and a .env, in the temporary folder.</summary>
    private void WriteSolution(string dotEnv)
    {
        foreach (var name in new[] { "CameraCapture", "Inference" })
        {
            var module = Directory.CreateDirectory(Path.Combine(_dir.FullName, "modules", name)).FullName;
            File.Copy(Path.Combine(Solution.Root, "modules", name, "module.json"), Path.Combine(module, "module.json"));
        }

        File.Copy(Path.Combine(Solution.Root, "deployment.template.json"), Path.Combine(_dir.FullName, "deployment.template.json"));
        File.WriteAllText(Path.Combine(_dir.FullName, ".env"), dotEnv);
    }

    private string WriteManifest(JsonObject manifest)
    {
        var path = Path.Combine(_dir.FullName, Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, ManifestJson.Serialize(manifest));
        return path;
    }
}
