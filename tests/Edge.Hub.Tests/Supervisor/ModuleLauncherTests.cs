using Edge.Hub.Supervisor;

namespace Edge.Hub.Tests.Supervisor;

public sealed class ModuleLauncherTests : IDisposable
{
    private readonly string _repo = Path.Combine(Path.GetTempPath(), "edge-launcher-tests", Guid.NewGuid().ToString("N"));

    public ModuleLauncherTests()
    {
        Directory.CreateDirectory(Path.Combine(_repo, "modules", "CameraCapture"));
        Directory.CreateDirectory(Path.Combine(_repo, "src", "deep", "er"));
        File.WriteAllText(Path.Combine(_repo, ModuleLauncher.SolutionFile), "");
    }

    public void Dispose() => Directory.Delete(_repo, recursive: true);

    [Fact]
    public void Resolve_ExplicitLauncher_TakesPrecedence()
    {
        var spec = new ModuleLaunchSpec("/bin/true", ["x"]);
        WriteDll("debug");

        var launcher = new ModuleLauncher([new("CameraCapture", spec)], _repo);

        launcher.Resolve("CameraCapture").Spec.ShouldBe(spec);
    }

    [Theory]
    [InlineData("release")]
    [InlineData("debug")]
    public void Resolve_BuiltModuleProject_RunsDllWithDotnet(string configuration)
    {
        var dll = WriteDll(configuration);

        // The root is found from any path inside the repository; a camelCase module id maps to the PascalCase project.
        var resolution = new ModuleLauncher([], Path.Combine(_repo, "src", "deep", "er")).Resolve("cameraCapture");

        resolution.Error.ShouldBeNull();
        Path.GetFileNameWithoutExtension(resolution.Spec!.FileName).ShouldBe("dotnet");
        resolution.Spec.Arguments.ShouldBe([dll]);
        resolution.Spec.WorkingDirectory.ShouldBe(Path.GetDirectoryName(dll));
    }

    [Fact]
    public void Resolve_BothConfigurationsBuilt_NewestWins()
    {
        var release = WriteDll("release");
        var debug = WriteDll("debug");
        File.SetLastWriteTimeUtc(release, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        new ModuleLauncher([], _repo).Resolve("CameraCapture").Spec!.Arguments.ShouldBe([debug]);
    }

    [Fact]
    public void Resolve_ProjectNotBuilt_ClearError()
    {
        var resolution = new ModuleLauncher([], _repo).Resolve("CameraCapture");

        resolution.Spec.ShouldBeNull();
        resolution.Error.ShouldStartWith("no local build for module CameraCapture: run `dotnet build modules/CameraCapture`");
    }

    [Fact]
    public void Resolve_NoSuchProject_ClearError()
    {
        var resolution = new ModuleLauncher([], _repo).Resolve("tempSensor");

        resolution.Error.ShouldStartWith("no local build for module tempSensor: run `dotnet build modules/tempSensor`");
        resolution.Error.ShouldContain("no project modules/tempSensor");
    }

    [Fact]
    public void ParseStatus_ProcStatusText_ReadsRssAndPeakInBytes()
    {
        const string text = "Name:\tsleep\nVmPeak:\t    8000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\nThreads:\t1\n";

        ProcessControl.ParseStatus(text).ShouldBe((1024L * 1024, 2048L * 1024));
        ProcessControl.ParseStatus("Name:\tzombie\nState:\tZ (zombie)\n").ShouldBeNull();
    }

    [Theory]
    [InlineData("123 (sleep) S 77 123 123 0 -1", 77)]
    [InlineData("124 (we ird) (x) R 1 124 124 0 -1", 1)]
    [InlineData("garbage", null)]
    public void ParseParent_ProcStatLine_ReadsPpid(string stat, int? expected)
    {
        ProcessControl.ParseParent(stat).ShouldBe(expected);
    }

    [Fact]
    public void Descendants_ThisProcess_IncludesAChildItStarted()
    {
        using var child = System.Diagnostics.Process.Start("/bin/sh", ["-c", "exec sleep 5"]);
        try
        {
            ProcessControl.Descendants(Environment.ProcessId).ShouldContain(child.Id);
            ProcessControl.Descendants(child.Id).ShouldBeEmpty();
        }
        finally
        {
            child.Kill();
        }
    }

    private string WriteDll(string configuration)
    {
        var dir = Path.Combine(_repo, "artifacts", "bin", "CameraCapture", configuration);
        Directory.CreateDirectory(dir);
        var dll = Path.Combine(dir, "CameraCapture.dll");
        File.WriteAllText(dll, "");
        return dll;
    }
}
