using System.Text.Json;
using System.Xml.Linq;
using Edge.Deployment.Manifests;
using Edge.Deployment.Tests.Manifests;

namespace Edge.Deployment.Tests.Lint;

/// <summary>
/// The module images cannot be built here (no Docker), so their Dockerfiles and module.json files are linted: base images
/// from a known list of multi-arch tags, COPY sources that exist, every project the module needs copied, a non-root USER,
/// an ENTRYPOINT that runs the module, the right architecture, the native libraries OpenCV needs.
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
    public void Dockerfile_BaseImages_KnownMultiArchTagsForTheirPlatform(string module, string arch)
    {
        var stages = Read(module, arch);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var stage in stages)
        {
            if (!names.Contains(stage.Image))
            {
                KnownBaseImages.ShouldContainKey(stage.Image, $"{module}/Dockerfile.{arch}: base image {stage.Image} is not in the known multi-arch list");
                if (stage.Platform is { } p && !p.StartsWith('$'))
                {
                    KnownBaseImages[stage.Image].ShouldContain(p);
                }
            }

            if (stage.Name is not null)
            {
                names.Add(stage.Name);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_FinalStage_SmallRuntimeForTheTargetArchitecture(string module, string arch)
    {
        var final = Read(module, arch)[^1];
        final.Image.ShouldBe(IsNativeAot(module) ? "mcr.microsoft.com/dotnet/runtime-deps:10.0-noble" : "mcr.microsoft.com/dotnet/runtime:10.0-noble");
        final.Platform.ShouldBe(arch == "amd64" ? "linux/amd64" : "linux/arm64");
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_Publish_TargetsTheRuntimeIdentifierOfTheArchitecture(string module, string arch)
    {
        var rid = arch == "amd64" ? "linux-x64" : "linux-arm64";
        var publish = Read(module, arch).SelectMany(s => s.Instructions).Single(i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        publish.Arguments.ShouldContain($"-r {rid}");
        publish.Arguments.ShouldContain($"modules/{module}/{module}.csproj");
        Read(module, arch).SelectMany(s => s.Instructions).ShouldContain(i => i.Arguments.Contains($"dotnet restore modules/{module}/{module}.csproj -r {rid}", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_CopySources_ExistInTheBuildContext(string module, string arch)
    {
        var context = ContextDirectory(module);
        foreach (var copy in Read(module, arch).SelectMany(s => s.Instructions).Where(i => i.Keyword == "COPY" && !i.Arguments.Contains("--from=", StringComparison.Ordinal)))
        {
            foreach (var source in Dockerfile.CopySources(copy))
            {
                var path = Path.Combine(context, source);
                (File.Exists(path) || Directory.Exists(path)).ShouldBeTrue($"{module}/Dockerfile.{arch} line {copy.Line}: COPY source '{source}' does not exist in the build context");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_CopiesEveryProjectAndBuildFileTheModuleNeeds(string module, string arch)
    {
        var copied = Read(module, arch).SelectMany(s => s.Instructions)
            .Where(i => i.Keyword == "COPY" && !i.Arguments.Contains("--from=", StringComparison.Ordinal))
            .SelectMany(Dockerfile.CopySources)
            .Select(s => s.TrimEnd('/'))
            .ToList();
        var needed = ProjectClosure(Path.Combine(Root, "modules", module, module + ".csproj"))
            .Select(p => Path.GetRelativePath(Root, Path.GetDirectoryName(p)!).Replace('\\', '/'))
            .Concat(["Directory.Build.props", "Directory.Packages.props", "global.json", "eng/BannedSymbols.txt"]);
        foreach (var n in needed)
        {
            copied.ShouldContain(c => n == c || n.StartsWith(c + "/", StringComparison.Ordinal), $"{module}/Dockerfile.{arch} does not COPY {n}");
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_FinalStage_NonRootUserAndDotnetEntrypoint(string module, string arch)
    {
        var final = Read(module, arch)[^1];
        var user = final.Instructions.LastOrDefault(i => i.Keyword == "USER");
        user.ShouldNotBeNull($"{module}/Dockerfile.{arch}: no USER in the runtime stage (containers would run as root)");
        user.Arguments.Split(':')[0].ShouldNotBeOneOf("root", "0");
        var entry = final.Instructions.Last(i => i.Keyword == "ENTRYPOINT");
        JsonSerializer.Deserialize<string[]>(entry.Arguments).ShouldBe(IsNativeAot(module) ? ["/app/" + AssemblyName(module)] : ["dotnet", AssemblyName(module) + ".dll"]);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_NativeAotModule_PublishesAotOnTheTargetPlatformWithAToolchain(string module, string arch)
    {
        Assert.SkipUnless(IsNativeAot(module), $"{module} runs on the JIT (no PublishAot in its csproj)");
        var stages = Read(module, arch);
        var build = stages.Single(s => s.Instructions.Any(i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal)));
        build.Image.ShouldBe("mcr.microsoft.com/dotnet/sdk:10.0-noble");

        // ILCompiler links natively for the platform it runs on: no cross-compiling without a sysroot.
        build.Platform.ShouldBe(arch == "amd64" ? "linux/amd64" : "linux/arm64");
        var run = string.Join("\n", build.Instructions.Where(i => i.Keyword == "RUN").Select(i => i.Arguments));
        run.ShouldContain("clang");
        run.ShouldContain("zlib1g-dev");
        var publish = build.Instructions.Single(i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal)).Arguments;
        publish.ShouldContain("-p:PublishAot=true");
        publish.ShouldNotContain("UseAppHost=false");
        publish.ShouldNotContain("--self-contained false");
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Dockerfile_Runtime_InstallsOpenCvNativeDependenciesAndStateFolders(string module, string arch)
    {
        var final = Read(module, arch)[^1];
        var run = string.Join("\n", final.Instructions.Where(i => i.Keyword == "RUN").Select(i => i.Arguments));
        string[] packages = arch == "amd64" ? ["libgtk-3-0t64", "libdrm2", "libatomic1"] : ["libavcodec60", "libavformat60", "libswscale7"];
        foreach (var p in packages)
        {
            run.ShouldContain(p);
        }

        run.ShouldContain("--no-install-recommends");
        run.ShouldContain("rm -rf /var/lib/apt/lists/*");
        run.ShouldContain("/app/state");
        run.ShouldContain("/app/frames");
    }

    [Theory]
    [MemberData(nameof(ModuleNames))]
    public void DockerfileArm64_BuildsOpenCvSharpExternAtThePinnedVersion(string module)
    {
        var stages = Read(module, "arm64v8");
        var native = stages.Single(s => s.Name == "opencvsharp");
        native.Platform.ShouldBe("linux/arm64");
        var args = native.Instructions.Where(i => i.Keyword == "ARG").Select(i => i.Arguments).ToList();
        var pinned = XDocument.Load(Path.Combine(Root, "Directory.Packages.props")).Descendants("PackageVersion")
            .Single(e => (string?)e.Attribute("Include") == "OpenCvSharp4").Attribute("Version")!.Value;
        args.ShouldContain($"OPENCVSHARP_TAG={pinned}", "the native wrapper must match the managed OpenCvSharp4 version");
        args.ShouldContain($"OPENCV_VERSION={string.Join('.', pinned.Split('.').Take(3))}");
        stages[^1].Instructions.ShouldContain(i => i.Keyword == "COPY" && i.Arguments == "--from=opencvsharp /build/libOpenCvSharpExtern.so /app/");
    }

    [Fact]
    public void DockerfileInference_ModelsVerifiedBySha256AndCopied()
    {
        foreach (var arch in new[] { "amd64", "arm64v8" })
        {
            var stages = Read("Inference", arch);
            var models = stages.Single(s => s.Name == "models");
            models.Instructions.Single(i => i.Keyword == "RUN").Arguments.ShouldContain("d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51  face_detection_front_128x128_barracuda.onnx");
            stages[^1].Instructions.ShouldContain(i => i.Keyword == "COPY" && i.Arguments == "--from=models /models/ /app/models/");
        }
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

    private static string ContextDirectory(string module) =>
        Path.GetFullPath(Path.Combine(Root, "modules", module, ModuleJson.Load(Path.Combine(Root, "modules", module, "module.json")).ContextPath));

    /// <summary>The module ships as Native AOT: its csproj sets <c>PublishAot</c>.</summary>
    private static bool IsNativeAot(string module) =>
        string.Equals(XDocument.Load(Path.Combine(Root, "modules", module, module + ".csproj")).Descendants("PublishAot").FirstOrDefault()?.Value, "true", StringComparison.OrdinalIgnoreCase);

    private static string AssemblyName(string module) =>
        XDocument.Load(Path.Combine(Root, "modules", module, module + ".csproj")).Descendants("AssemblyName").FirstOrDefault()?.Value ?? module;

    private static HashSet<string> ProjectClosure(string csproj)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>([Path.GetFullPath(csproj)]);
        while (queue.TryDequeue(out var p))
        {
            if (!seen.Add(p))
            {
                continue;
            }

            foreach (var r in XDocument.Load(p).Descendants("ProjectReference"))
            {
                queue.Enqueue(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(p)!, r.Attribute("Include")!.Value.Replace('\\', '/'))));
            }
        }

        return seen;
    }
}
