using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Edge.TestSupport;

namespace Edge.Cli.Tests;

/// <summary>
/// One discovery rule for every command: an explicit state folder, else the running `edge up` hub of the repository around
/// the current directory, else the running standalone `edge hub`.
/// </summary>
public sealed class LocalHubTests : IDisposable
{
    private readonly TempDirectory _repo = new("edge-cli-repo");
    private readonly TempDirectory _standalone = new("edge-cli-standalone");

    public LocalHubTests() => File.WriteAllText(Path.Combine(_repo.Path, "IoTEdgeSolution.sln"), "");

    private string UpHub => Path.Combine(_repo.Path, ".edge", "up", "hub");

    [Fact]
    public void Find_UpHubRunningInRepository_WinsOverStandalone()
    {
        WriteHubJson(UpHub, Environment.ProcessId, "up");
        WriteHubJson(_standalone.Path, Environment.ProcessId, "standalone");
        var nested = Directory.CreateDirectory(Path.Combine(_repo.Path, "modules", "Inference")).FullName;

        var (info, dir) = LocalHub.Find(null, nested, _standalone.Path);

        dir.ShouldBe(UpHub);
        info.DeviceId.ShouldBe("up");
    }

    [Fact]
    public void Find_UpHubStopped_FallsBackToRunningStandalone()
    {
        WriteHubJson(UpHub, DeadProcessId(), "up");
        WriteHubJson(_standalone.Path, Environment.ProcessId, "standalone");

        var (info, dir) = LocalHub.Find(null, _repo.Path, _standalone.Path);

        dir.ShouldBe(_standalone.Path);
        info.DeviceId.ShouldBe("standalone");
    }

    [Fact]
    public void Find_OutsideRepository_StandaloneOnly()
    {
        WriteHubJson(UpHub, Environment.ProcessId, "up");
        WriteHubJson(_standalone.Path, Environment.ProcessId, "standalone");

        LocalHub.Find(null, Path.GetTempPath(), _standalone.Path).Info.DeviceId.ShouldBe("standalone");
    }

    [Fact]
    public void Find_NothingRunning_SaysWhereItLookedAndWhatToStart()
    {
        WriteHubJson(UpHub, DeadProcessId(), "up");

        var ex = Should.Throw<HubNotFoundException>(() => LocalHub.Find(null, _repo.Path, _standalone.Path));

        ex.Message.ShouldBe($"no running hub found (looked in {UpHub} and {_standalone.Path}): start 'edge up' or 'edge hub', or pass --state <dir>");
    }

    [Fact]
    public void Find_ExplicitState_UsedEvenWhenAnotherHubRuns()
    {
        WriteHubJson(UpHub, Environment.ProcessId, "up");
        var chosen = Path.Combine(_standalone.Path, "other");
        WriteHubJson(chosen, DeadProcessId(), "chosen");

        LocalHub.Find(chosen, _repo.Path, _standalone.Path).Info.DeviceId.ShouldBe("chosen");
        Should.Throw<HubNotFoundException>(() => LocalHub.Find(Path.Combine(_standalone.Path, "none"), _repo.Path, _standalone.Path))
            .Message.ShouldContain("no hub.json");
    }

    [Fact]
    public async Task FaultAndTwin_StandaloneHubRunning_FoundWithoutOptions()
    {
        using var state = new TempDirectory("edge-cli-hubstate");
        using var work = new TempDirectory("edge-cli-work");
        var output = new StringBuilder();
        using var hub = EdgeProcess.Start(work.Path, state.Path, output,
            "hub", "--deployment", Path.Combine(Assets.RepoRoot, ".vscode", "hub.deployment.json"), "--mqtt-port", "0", "--api-port", "0");
        try
        {
            var deadline = TimeProvider.System.GetUtcNow().AddSeconds(60);
            while (!Text(output).Contains("EdgeHubConnectionString=", StringComparison.Ordinal))
            {
                hub.HasExited.ShouldBeFalse(Text(output));
                (TimeProvider.System.GetUtcNow() < deadline).ShouldBeTrue("edge hub did not start:\n" + Text(output));
                await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System, TestContext.Current.CancellationToken);
            }

            // The debugger's env file (.vscode/launch.json envFile) is there, owner-only.
            var envFile = Path.Combine(state.Path, "env", "Inference.env");
            File.ReadAllText(envFile).ShouldContain("EdgeHubConnectionString=HostName=");
            if (!OperatingSystem.IsWindows())
            {
                File.GetUnixFileMode(envFile).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            var fault = await EdgeProcess.RunAsync(work.Path, state.Path, null, "fault", "upstream", "offline");
            fault.ExitCode.ShouldBe(0, fault.ToString());

            var twin = await EdgeProcess.RunAsync(work.Path, state.Path, null, "twin", "set", "edge-sim", "Inference", "runId=52224e611572", "fps=10");
            twin.ExitCode.ShouldBe(0, twin.ToString());
            var get = await EdgeProcess.RunAsync(work.Path, state.Path, null, "twin", "get", "edge-sim", "Inference");
            get.ExitCode.ShouldBe(0, get.ToString());
            var desired = JsonNode.Parse(get.Stdout)!["properties"]!["desired"]!;
            desired["runId"]!.GetValue<string>().ShouldBe("52224e611572");
            desired["fps"]!.GetValue<int>().ShouldBe(10);
        }
        finally
        {
            hub.Kill(entireProcessTree: true);
            await hub.WaitForExitAsync(TestContext.Current.CancellationToken);
        }
    }

    private static string Text(StringBuilder sb)
    {
        lock (sb)
        {
            return sb.ToString();
        }
    }

    private static void WriteHubJson(string dir, int pid, string deviceId)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "hub.json"), new JsonObject
        {
            ["deviceId"] = deviceId,
            ["hubHostName"] = "localhost",
            ["gatewayHostName"] = "localhost",
            ["mqttPort"] = 8883,
            ["apiUri"] = "http://127.0.0.1:1/",
            ["caCertificatePath"] = "/nowhere/ca.pem",
            ["serviceConnectionString"] = "HostName=localhost;SharedAccessKeyName=iothubowner;SharedAccessKey=a2V5",
            ["processId"] = pid,
        }.ToJsonString());
    }

    /// <summary>The id of a process that has exited.</summary>
    private static int DeadProcessId()
    {
        using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        p.WaitForExit();
        return p.Id;
    }

    public void Dispose()
    {
        _repo.Dispose();
        _standalone.Dispose();
    }
}
