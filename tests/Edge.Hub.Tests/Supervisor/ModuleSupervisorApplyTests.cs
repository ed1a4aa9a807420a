using System.Text.Json.Nodes;
using Edge.Hub.Supervisor;
using Microsoft.Extensions.Time.Testing;
using static Edge.Hub.Tests.Supervisor.SupervisorHarness;

namespace Edge.Hub.Tests.Supervisor;

/// <summary>The supervisor over real child processes (<c>/bin/sh</c> scripts through the explicit launcher map): applying deployments: env, startupOrder, live re-apply, validation, missing builds.</summary>
public sealed class ModuleSupervisorApplyTests
{
    private const string SleepForever = "exec sleep 60";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ApplyAsync_Module_PassesConnectionStringCaPathStateDirectoryAndManifestEnv()
    {
        await using var h = new SupervisorHarness();
        h.Launch("printer", """
            echo "CS=$EdgeHubConnectionString"
            echo "CA=$EdgeModuleCACertificateFile"
            echo "SD=$StateDirectory"
            echo "PWD=$(pwd)"
            echo "T=$Threshold"
            echo "C=$FROM_CREATE"
            echo "to-stderr" >&2
            """);
        var settings = new JsonObject
        {
            ["image"] = "localhost:5000/printer:1.0",
            // Chunked like edgeAgent writes long createOptions.
            ["createOptions"] = """{"Env":["FROM_CREATE=c","Threshold=from-create"],"HostConfig":{"Binds":["printer""",
            ["createOptions01"] = """data:/data","/opt/host-only:/h:ro"],"PortBindings":{"80/tcp":[{"HostPort":"8080"}]}}}""",
        };
        var env = new Dictionary<string, string> { ["Threshold"] = "25", ["StateDirectory"] = "/app/state" };

        await h.Supervisor.ApplyAsync(Desired(("printer", Module(env: env, settings: settings))), Ct);
        var final = await h.WaitForStatusAsync("printer", RuntimeStatuses.Stopped);

        final.ExitCode.ShouldBe(0);
        var stateDir = h.Supervisor.ModuleStateDirectory("printer");
        stateDir.ShouldBe(Path.Combine(h.Options.StateDirectory, "modules", "printer"));
        var lines = h.Output("printer");
        lines.ShouldContain("CS=" + ConnectionString("printer"));
        lines.ShouldContain("CA=" + h.Options.CaCertificatePath);
        lines.ShouldContain("SD=" + stateDir); // the simulator's folder wins over the manifest's container path
        lines.ShouldContain("PWD=" + stateDir);
        lines.ShouldContain("T=25"); // module env wins over createOptions.Env
        lines.ShouldContain("C=c");
        lines.ShouldContain("to-stderr");
        Directory.Exists(Path.Combine(h.Options.StateDirectory, "volumes", "printerdata")).ShouldBeTrue();
        Directory.Exists("/opt/host-only").ShouldBeFalse();

        var log = await File.ReadAllTextAsync(h.Supervisor.LogFilePath("printer"), Ct);
        log.ShouldContain("stdout: T=25");
        log.ShouldContain("stderr: to-stderr");
        log.ShouldContain("supervisor: exited with code 0");
        h.Logger.Collector.GetSnapshot().ShouldContain(r => r.Id.Id == HubEventIds.EnvOverridden && r.Message.Contains("StateDirectory"));
    }

    [Fact]
    public async Task ApplyAsync_StartupOrder_StartsEachGroupAfterThePreviousStarted()
    {
        await using var h = new SupervisorHarness();
        foreach (var id in new[] { "last", "second", "second2", "first", "third" })
        {
            h.Launch(id, SleepForever);
        }

        // Declared out of order on purpose.
        await h.Supervisor.ApplyAsync(
            Desired(
                ("last", Module()),
                ("third", Module(startupOrder: 2)),
                ("second", Module(startupOrder: 1)),
                ("first", Module(startupOrder: 0)),
                ("second2", Module(startupOrder: 1))),
            Ct);

        var started = h.AllEvents().Where(e => e.RuntimeStatus == RuntimeStatuses.Running).Select(e => e.ModuleId).ToList();
        started.Count.ShouldBe(5);
        started[0].ShouldBe("first");
        started.Skip(1).Take(2).ShouldBe(["second", "second2"], ignoreOrder: true);
        started[3].ShouldBe("third");
        started[4].ShouldBe("last");
        h.Supervisor.GetStatus().Select(s => s.ModuleId).ShouldBe(["first", "second", "second2", "third", "last"]);
        h.Supervisor.GetStatus().ShouldAllBe(s => s.RuntimeStatus == RuntimeStatuses.Running && s.Pid != null);
    }

    [Fact]
    public async Task ApplyAsync_NewDocument_AddsRemovesRecreatesAndStopsModules()
    {
        await using var h = new SupervisorHarness();
        foreach (var id in new[] { "keep", "change", "remove", "add" })
        {
            h.Launch(id, SleepForever);
        }

        await h.Supervisor.ApplyAsync(Desired(("keep", Module("always")), ("change", Module("always")), ("remove", Module("always"))), Ct);
        var keepPid = h.Status("keep").Pid!.Value;
        var changePid = h.Status("change").Pid!.Value;
        var removePid = h.Status("remove").Pid!.Value;

        var changedEnv = new Dictionary<string, string> { ["Threshold"] = "30" };
        await h.Supervisor.ApplyAsync(Desired(("keep", Module("always")), ("change", Module("always", env: changedEnv)), ("add", Module("always"))), Ct);

        h.Supervisor.GetStatus().Select(s => s.ModuleId).ShouldBe(["add", "change", "keep"], ignoreOrder: true);
        h.Status("keep").Pid.ShouldBe(keepPid);
        h.Status("change").Pid.ShouldNotBeNull();
        h.Status("change").Pid.ShouldNotBe(changePid);
        h.Status("add").RuntimeStatus.ShouldBe(RuntimeStatuses.Running);
        ProcessAlive(changePid).ShouldBeFalse();
        ProcessAlive(removePid).ShouldBeFalse();
        h.Events("remove").Last().RuntimeStatus.ShouldBe(RuntimeStatuses.Stopped);

        // status: stopped stops it; running again starts a new process.
        await h.Supervisor.ApplyAsync(Desired(("keep", Module("always", status: "stopped")), ("change", Module("always", env: changedEnv)), ("add", Module("always"))), Ct);
        h.Status("keep").RuntimeStatus.ShouldBe(RuntimeStatuses.Stopped);
        h.Status("keep").Pid.ShouldBeNull();
        ProcessAlive(keepPid).ShouldBeFalse();
        await Should.ThrowAsync<InvalidOperationException>(() => h.Supervisor.RestartAsync("keep", Ct));

        await h.Supervisor.ApplyAsync(Desired(("keep", Module("always")), ("change", Module("always", env: changedEnv)), ("add", Module("always"))), Ct);
        h.Status("keep").RuntimeStatus.ShouldBe(RuntimeStatuses.Running);
        h.Status("keep").Pid.ShouldNotBe(keepPid);
    }

    [Fact]
    public async Task ApplyAsync_SameDocumentAgain_LeavesExitedAndRunningModulesAlone()
    {
        await using var h = new SupervisorHarness(new FakeTimeProvider());
        h.Launch("once", "exit 3");
        h.Launch("daemon", SleepForever);
        var doc = Desired(("once", Module("never")), ("daemon", Module("always")));
        await h.Supervisor.ApplyAsync(doc, Ct);
        await h.WaitForStatusAsync("once", RuntimeStatuses.Failed);
        var pid = h.Status("daemon").Pid;

        // ApplyAsync returns once what it starts has spawned: a restart of either module would show now.
        await h.Supervisor.ApplyAsync(doc.DeepClone().AsObject(), Ct);

        h.Events("once").Count(e => e.RuntimeStatus == RuntimeStatuses.Running).ShouldBe(1);
        h.Status("once").RuntimeStatus.ShouldBe(RuntimeStatuses.Failed);
        h.Status("daemon").Pid.ShouldBe(pid);
    }

    [Fact]
    public async Task ApplyAsync_ModuleDesiredStoppedFromTheStart_IsReportedStoppedAndNotStarted()
    {
        await using var h = new SupervisorHarness();
        var marker = Path.Combine(h.Root, "ran");
        h.Launch("m", $"touch '{marker}'");

        await h.Supervisor.ApplyAsync(Desired(("m", Module(status: "stopped"))), Ct);

        h.Status("m").RuntimeStatus.ShouldBe(RuntimeStatuses.Stopped);
        h.Status("m").StartTimeUtc.ShouldBeNull();
        File.Exists(marker).ShouldBeFalse();
    }

    [Fact]
    public async Task ApplyAsync_NoLauncherAndNoLocalBuild_FailedWithClearMessage()
    {
        await using var h = new SupervisorHarness(new FakeTimeProvider()) { AllowErrorLogs = true };
        await File.WriteAllTextAsync(Path.Combine(h.Root, "IoTEdgeSolution.sln"), "", Ct);
        Directory.CreateDirectory(Path.Combine(h.Root, "modules", "CameraCapture"));
        h.Launch("ok", SleepForever);

        await h.Supervisor.ApplyAsync(Desired(("CameraCapture", Module("always", startupOrder: 0)), ("ok", Module("always", startupOrder: 1))), Ct);

        var failed = h.Status("CameraCapture");
        failed.RuntimeStatus.ShouldBe(RuntimeStatuses.Failed);
        failed.Pid.ShouldBeNull();
        failed.Error.ShouldNotBeNull();
        failed.Error.ShouldStartWith("no local build for module CameraCapture: run `dotnet build modules/CameraCapture`");
        h.Status("ok").RuntimeStatus.ShouldBe(RuntimeStatuses.Running); // the next group still starts
        File.ReadAllText(h.Supervisor.LogFilePath("CameraCapture")).ShouldContain("no local build for module CameraCapture");
    }

    [Fact]
    public async Task ApplyAsync_InvalidDocument_ThrowsWithPathsAndLeavesRunningModulesUntouched()
    {
        await using var h = new SupervisorHarness();
        h.Launch("a", SleepForever);
        await h.Supervisor.ApplyAsync(Desired(("a", Module("always"))), Ct);
        var pid = h.Status("a").Pid;

        var bad = Desired(("a", Module("sometimes")), ("b", Module(status: "paused")));
        bad["modules"]!["b"]!["startupOrder"] = -1;

        var ex = await Should.ThrowAsync<EdgeAgentValidationException>(() => h.Supervisor.ApplyAsync(bad, Ct));

        ex.Errors.ShouldContain(e => e.StartsWith("modules.a.restartPolicy: ", StringComparison.Ordinal));
        ex.Errors.ShouldContain(e => e.StartsWith("modules.b.status: ", StringComparison.Ordinal));
        ex.Errors.ShouldContain(e => e.StartsWith("modules.b.startupOrder: ", StringComparison.Ordinal));
        h.Status("a").Pid.ShouldBe(pid);
        h.Status("a").RuntimeStatus.ShouldBe(RuntimeStatuses.Running);
        h.Supervisor.GetStatus().Count.ShouldBe(1);
    }

    [Fact]
    public async Task StatusChanged_HandlerThrows_SupervisionContinues()
    {
        await using var h = new SupervisorHarness();
        h.Launch("m", SleepForever);
        h.Supervisor.StatusChanged += _ => throw new InvalidOperationException("handler bug");

        await h.Supervisor.ApplyAsync(Desired(("m", Module("always"))), Ct);

        h.Status("m").RuntimeStatus.ShouldBe(RuntimeStatuses.Running);
        h.Logger.Collector.GetSnapshot().ShouldContain(r => r.Id.Id == HubEventIds.SupervisorHandlerFailed);
    }
}
