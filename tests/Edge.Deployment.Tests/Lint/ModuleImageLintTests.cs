using System.Text.Json;
using System.Xml.Linq;
using Edge.Deployment.Manifests;
using Edge.Deployment.Tests.Manifests;

namespace Edge.Deployment.Tests.Lint;

/// <summary>
/// The Dockerfiles' default path (MCR SDK build stage) cannot run here (no registry), so it is linted: base images from a
/// known list of multi-arch tags, COPY sources that exist, the stage script for the right architecture, a FROM scratch
/// final stage with a non-root USER and the executable as ENTRYPOINT. The local path (prebuilt stage) is built and run by
/// `edge images test` (tests/EndToEnd.Tests ContainerImageTests).
/// </summary>
public sealed class ModuleImageLintTests
{
    /// <summary>
    /// Base images the Dockerfiles may use, each published for linux/amd64 and linux/arm64 (docs/deployment.md lists
    /// them). .NET 10 images are Ubuntu 24.04 "noble": Microsoft ships no Debian images for .NET 10.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> KnownBaseImages = new Dictionary<string, string[]>
    {
        ["mcr.microsoft.com/dotnet/sdk:10.0-noble"] = ["linux/amd64", "linux/arm64"],
        ["mcr.microsoft.com/dotnet/runtime:10.0-noble"] = ["linux/amd64", "linux/arm64"],
        ["mcr.microsoft.com/dotnet/runtime-deps:10.0-noble"] = ["linux/amd64", "linux/arm64"],
        ["ubuntu:24.04"] = ["linux/amd64", "linux/arm64"],
        ["node:22-slim"] = ["linux/amd64", "linux/arm64"],
    };

    public static TheoryData<string, string> Images => new()
    {
        { "CameraCapture", "amd64" },
        { "CameraCapture", "arm64v8" },
        { "Inference", "amd64" },
        { "Inference", "arm64v8" },
    };

    public static TheoryData<string> ModuleNames => ["CameraCapture", "Inference"];

    private static string Root => Solution.Root;

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_BaseImages_KnownMultiArchTagsScratchOrEarlierStages(string module, string arch)
    {
        var (stages, args) = ReadWithArgs(module, arch);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var stage in stages)
        {
            var image = Resolve(stage.Image, args);
            if (image != "scratch" && !names.Contains(image))
            {
                KnownBaseImages.ShouldContainKey(image, $"{module}/Dockerfile.{arch}: base image {image} is not in the known multi-arch list");
            }

            if (stage.Name is not null)
            {
                names.Add(stage.Name);
            }
        }

        // The local build (edge images build) picks the staged tree; the default is the SDK build stage.
        names.ShouldContain(args["ROOTFS_STAGE"]);
        names.ShouldContain("prebuilt");
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_FinalStage_ScratchWithNoShellNonRootUserAndTheExecutable(string module, string arch)
    {
        var final = Read(module, arch)[^1];
        final.Image.ShouldBe("scratch", "the final stage holds only what the module runs");
        final.Instructions.ShouldNotContain(i => i.Keyword == "RUN", "no shell in the final stage to run anything with");
        var user = final.Instructions.LastOrDefault(i => i.Keyword == "USER");
        user.ShouldNotBeNull($"{module}/Dockerfile.{arch}: no USER in the final stage (containers would run as root)");
        user.Arguments.Split(':')[0].ShouldNotBeOneOf("root", "0");
        var entry = final.Instructions.Last(i => i.Keyword == "ENTRYPOINT");
        JsonSerializer.Deserialize<string[]>(entry.Arguments).ShouldBe(["/app/" + AssemblyName(module)]);
        final.Instructions.ShouldContain(i => i.Keyword == "COPY" && i.Arguments.Contains("--chown=1654:1654", StringComparison.Ordinal) && i.Arguments.EndsWith("/app/state", StringComparison.Ordinal));
        final.Instructions.ShouldContain(i => i.Keyword == "ENV" && i.Arguments.Contains("StateDirectory=/app/state", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_BuildStage_RunsTheStageScriptForTheArchitectureOnTheBuildPlatform(string module, string arch)
    {
        var build = Read(module, arch).Single(s => s.Name == "build");
        build.Platform.ShouldBe("$BUILDPLATFORM", "the native stack and Native AOT cross-build: nothing runs under emulation");
        var run = string.Join("\n", build.Instructions.Where(i => i.Keyword == "RUN").Select(i => i.Arguments));
        run.ShouldContain($"eng/images/stage.sh --module {module} --arch {(arch == "amd64" ? "x64" : "arm64")}");
        run.ShouldContain("clang");
        run.ShouldContain("zlib1g-dev");
        run.ShouldContain("--no-install-recommends");
        run.ShouldContain("rm -rf /var/lib/apt/lists/*");
        if (arch == "arm64v8")
        {
            run.ShouldContain("crossbuild-essential-arm64");
        }

        File.ReadAllText(Path.Combine(Root, "eng", "images", "stage.sh")).ShouldContain("-r \"linux-$ARCH\"");
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_CopySources_ExistInTheBuildContextOrAreStagedByEdgeImagesBuild(string module, string arch)
    {
        var context = ContextDirectory(module);
        foreach (var copy in Read(module, arch).SelectMany(s => s.Instructions).Where(i => i.Keyword == "COPY" && !i.Arguments.Contains("--from=", StringComparison.Ordinal)))
        {
            foreach (var source in Dockerfile.CopySources(copy))
            {
                if (source.StartsWith("artifacts/images/", StringComparison.Ordinal))
                {
                    source.ShouldBe($"artifacts/images/{module}-{(arch == "amd64" ? "x64" : "arm64")}/rootfs/", "the prebuilt stage copies what eng/images/stage.sh staged for this module and architecture");
                    continue;
                }

                var path = Path.Combine(context, source);
                (File.Exists(path) || Directory.Exists(path)).ShouldBeTrue($"{module}/Dockerfile.{arch} line {copy.Line}: COPY source '{source}' does not exist in the build context");
            }
        }
    }

    [Fact]
    public void DockerIgnore_KeepsSourcesAndStagedTreesOnly()
    {
        var lines = File.ReadAllLines(Path.Combine(Root, ".dockerignore")).Select(l => l.Trim()).ToList();
        lines.ShouldContain(".git");
        lines.ShouldContain("artifacts");
        lines.ShouldContain("!artifacts/images/*/rootfs");
        lines.ShouldContain("**/bin");
        lines.ShouldContain("**/obj");
    }

    [Fact]
    public void DockerfileInference_ModelsVerifiedBySha256AndLayered()
    {
        foreach (var arch in new[] { "amd64", "arm64v8" })
        {
            var stages = Read("Inference", arch);
            var models = stages.Single(s => s.Name == "models");
            models.Instructions.Single(i => i.Keyword == "RUN").Arguments.ShouldContain("d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51  face_detection_front_128x128_barracuda.onnx");
            stages.Single(s => s.Name == "build").Instructions.ShouldContain(i => i.Keyword == "RUN" && i.Arguments.Contains("--models /models", StringComparison.Ordinal));
            stages[^1].Instructions.ShouldContain(i => i.Keyword == "COPY" && i.Arguments == "--from=rootfs /rootfs/models/ /");
        }

        File.ReadAllText(Path.Combine(Root, "eng", "images", "stage.sh")).ShouldContain("d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51  face_detection_front_128x128_barracuda.onnx");
    }

    [Theory]
    [MemberData(nameof(ModuleNames))]
    public void ModuleJson_RepositoryPlatformsDockerfilesAndContext(string module)
    {
        var path = Path.Combine(Root, "modules", module, "module.json");
        using (var doc = JsonDocument.Parse(File.ReadAllText(path)))
        {
            doc.RootElement.GetProperty("$schema-version").GetString().ShouldBe("0.0.1");
        }

        var m = ModuleJson.Load(path);
        m.Name.ShouldBe(module);
        m.Repository.ShouldStartWith("${CONTAINER_REGISTRY_SERVER}/");
        var repo = m.Repository["${CONTAINER_REGISTRY_SERVER}/".Length..];
        repo.ShouldBe(repo.ToLowerInvariant());
        m.Platforms.Keys.ShouldBe(["amd64", "amd64.debug", "arm64v8"], ignoreOrder: true);
        foreach (var (_, dockerfile) in m.Platforms)
        {
            File.Exists(Path.Combine(m.Directory!, dockerfile)).ShouldBeTrue($"{module}: {dockerfile} is missing");
        }

        Path.GetFullPath(Path.Combine(m.Directory!, m.ContextPath)).TrimEnd('/').ShouldBe(Root.TrimEnd('/'));
        System.Version.TryParse(m.Version, out _).ShouldBeTrue();
    }

    private static List<Stage> Read(string module, string arch) =>
        Dockerfile.Parse(File.ReadAllText(Path.Combine(Root, "modules", module, $"Dockerfile.{arch}")));

    /// <summary>The stages and the global ARG defaults (the lines before the first FROM).</summary>
    private static (List<Stage> Stages, Dictionary<string, string> Args) ReadWithArgs(string module, string arch)
    {
        var text = File.ReadAllText(Path.Combine(Root, "modules", module, $"Dockerfile.{arch}"));
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n').TakeWhile(l => !l.StartsWith("FROM ", StringComparison.Ordinal)))
        {
            if (line.StartsWith("ARG ", StringComparison.Ordinal) && line[4..].Split('=', 2) is [var name, var value])
            {
                args[name.Trim()] = value.Trim();
            }
        }

        return (Dockerfile.Parse(text), args);
    }

    private static string Resolve(string image, Dictionary<string, string> args) =>
        image.StartsWith("${", StringComparison.Ordinal) && image.EndsWith('}') && args.TryGetValue(image[2..^1], out var value) ? value : image;

    private static string ContextDirectory(string module) =>
        Path.GetFullPath(Path.Combine(Root, "modules", module, ModuleJson.Load(Path.Combine(Root, "modules", module, "module.json")).ContextPath));

    private static string AssemblyName(string module) =>
        XDocument.Load(Path.Combine(Root, "modules", module, module + ".csproj")).Descendants("AssemblyName").FirstOrDefault()?.Value ?? module;
}
