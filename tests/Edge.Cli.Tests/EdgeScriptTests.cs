using System.Diagnostics;
using Edge.TestSupport;

namespace Edge.Cli.Tests;

/// <summary>
/// The <c>./edge</c> script's fast path, on a copy of the script in a miniature repository: the built CLI runs at once while
/// nothing it is built from changed, and a change to any of its sources (a referenced project's too), project files, lock
/// files, Directory.*.props or global.json rebuilds first. <c>dotnet</c> is replaced on the PATH by a recorder (the SDK is
/// the boundary here), and the "CLI" is a script that says it ran.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EdgeScriptTests : IDisposable
{
    private readonly TempDirectory _root = new("edge-script");
    private readonly string _calls;
    private readonly string _bin;

    public EdgeScriptTests()
    {
        File.Copy(Path.Combine(Assets.RepoRoot, "edge"), Path.Combine(_root.Path, "edge"));
        Write("src/Edge.Cli/Edge.Cli.csproj", """<Project><ItemGroup><ProjectReference Include="../Lib/Lib.csproj" /></ItemGroup></Project>""");
        Write("src/Edge.Cli/Program.cs", "");
        Write("src/Lib/Lib.csproj", """<Project><ItemGroup><ProjectReference Include="../Leaf/Leaf.csproj" /></ItemGroup></Project>""");
        Write("src/Lib/A.cs", "");
        Write("src/Leaf/Leaf.csproj", "<Project />");
        Write("src/Leaf/packages.lock.json", "{}");
        Write("modules/Other/Other.cs", "");
        Write("Directory.Build.props", "<Project />");
        Write("Directory.Packages.props", "<Project />");
        Write("global.json", "{}");
        _calls = Path.Combine(_root.Path, "dotnet-calls");
        Write("fake/dotnet", $"#!/bin/sh\necho \"$*\" >> '{_calls}'\n");
        _bin = Path.Combine(_root.Path, "artifacts", "bin", "Edge.Cli", "release", "edge");
        Write("artifacts/bin/Edge.Cli/release/edge", "#!/bin/sh\necho \"cli ran: $*\"\n");
        foreach (var exe in new[] { "edge", "fake/dotnet", "artifacts/bin/Edge.Cli/release/edge" })
        {
            File.SetUnixFileMode(Path.Combine(_root.Path, exe), (UnixFileMode)0b111_101_101);
        }
    }

    [Fact]
    public async Task Edge_NothingChanged_RunsTheCliWithoutBuilding()
    {
        (await RunAsync()).ShouldBe(1, "the first call has no stamp: it builds");
        (await RunAsync()).ShouldBe(0);
        (await RunAsync()).ShouldBe(0);
    }

    [Theory]
    [InlineData("src/Edge.Cli/Program.cs")]
    [InlineData("src/Lib/A.cs")]
    [InlineData("src/Leaf/packages.lock.json")]
    [InlineData("src/Leaf/Leaf.csproj")]
    [InlineData("Directory.Build.props")]
    [InlineData("Directory.Packages.props")]
    [InlineData("global.json")]
    public async Task Edge_CliSourceChanged_RebuildsOnceThenRunsAtOnce(string file)
    {
        await RunAsync();
        Touch(file);

        (await RunAsync()).ShouldBe(1, file);
        (await RunAsync()).ShouldBe(0, file);
    }

    [Fact]
    public async Task Edge_FileAddedToAReferencedProject_Rebuilds()
    {
        await RunAsync();
        Touch("src/Lib");
        Write("src/Lib/B.cs", "");
        File.SetLastWriteTimeUtc(Path.Combine(_root.Path, "src/Lib/B.cs"), TimeProvider.System.GetUtcNow().UtcDateTime.AddMinutes(-10));

        (await RunAsync()).ShouldBe(1);
    }

    [Fact]
    public async Task Edge_OnlyAFileOutsideTheCliChanged_DoesNotBuild()
    {
        await RunAsync();
        Touch("modules/Other/Other.cs");

        (await RunAsync()).ShouldBe(0);
    }

    /// <summary>Runs <c>./edge --version</c>; returns how many times it called <c>dotnet</c>.</summary>
    private async Task<int> RunAsync()
    {
        var before = File.Exists(_calls) ? File.ReadAllLines(_calls).Length : 0;
        var psi = new ProcessStartInfo(Path.Combine(_root.Path, "edge"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _root.Path,
        };
        psi.ArgumentList.Add("--version");
        psi.Environment["PATH"] = Path.Combine(_root.Path, "fake") + ":" + Environment.GetEnvironmentVariable("PATH");
        using var process = Process.Start(psi)!;
        var stdout = await process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        process.ExitCode.ShouldBe(0, stderr);
        stdout.ShouldBe("cli ran: --version\n", stderr);
        return (File.Exists(_calls) ? File.ReadAllLines(_calls).Length : 0) - before;
    }

    /// <summary>Sets a file's or folder's time just after the stamp (file times are compared, not contents).</summary>
    private void Touch(string relative)
    {
        var path = Path.Combine(_root.Path, relative);
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(Path.GetDirectoryName(_bin)!, ".edge-build-stamp"));
        if (Directory.Exists(path))
        {
            Directory.SetLastWriteTimeUtc(path, stamp.AddMilliseconds(1));
        }
        else
        {
            File.SetLastWriteTimeUtc(path, stamp.AddMilliseconds(1));
        }
    }

    private void Write(string relative, string text)
    {
        var path = Path.Combine(_root.Path, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    public void Dispose() => _root.Dispose();
}
