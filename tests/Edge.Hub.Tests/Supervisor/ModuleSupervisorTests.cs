using System.Diagnostics;
using System.Text.Json.Nodes;
using Edge.Hub.Supervisor;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using static Edge.Hub.Tests.Supervisor.SupervisorHarness;

namespace Edge.Hub.Tests.Supervisor;

/// <summary>The supervisor over real child processes (<c>/bin/sh</c> scripts through the explicit launcher map).</summary>
public sealed class ModuleSupervisorTests
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
        h.Logger.Collector.GetSnapshot().ShouldContain(r => r.Id.Id == 2811 && r.Message.Contains("StateDirectory"));
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

    [Theory]
    [InlineData("never", 3, RuntimeStatuses.Failed)]
    [InlineData("never", 0, RuntimeStatuses.Stopped)]
    [InlineData("on-failure", 0, RuntimeStatuses.Stopped)]
    public async Task ApplyAsync_ExitWithoutRestart_ReportsFinalStatusAndNeverRestarts(string policy, int exitCode, string expected)
    {
        var time = new FakeTimeProvider();
        await using var h = new SupervisorHarness(time);
        h.Launch("m", $"exit {exitCode}");

        await h.Supervisor.ApplyAsync(Desired(("m", Module(policy))), Ct);
        var final = await h.WaitForStatusAsync("m", expected);

        final.ExitCode.ShouldBe(exitCode);
        final.Pid.ShouldBeNull();
        final.RestartCount.ShouldBe(0);
        final.LastExitTimeUtc.ShouldBe(time.GetUtcNow());
        time.Advance(TimeSpan.FromHours(1));
        await SettleAsync();
        h.Events("m").Count(e => e.RuntimeStatus == RuntimeStatuses.Running).ShouldBe(1);
        h.Status("m").RuntimeStatus.ShouldBe(expected);
    }

    [Theory]
    [InlineData("on-failure", 3)]
    [InlineData("always", 3)]
    [InlineData("always", 0)]
    [InlineData("on-unhealthy", 0)]
    public async Task ApplyAsync_ExitWithRestartPolicy_RestartsWithDoublingBackoffUpToMax(string policy, int exitCode)
    {
        var time = new FakeTimeProvider();
        await using var h = new SupervisorHarness(time, o => o.RestartBackoffMax = TimeSpan.FromSeconds(25));
        h.Launch("m", $"exit {exitCode}");

        await h.Supervisor.ApplyAsync(Desired(("m", Module(policy))), Ct);

        // Delays: 10 s, 20 s, then capped at 25 s (not 40 s).
        TimeSpan[] delays = [TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(25)];
        for (var i = 0; i < delays.Length; i++)
        {
            var backoff = await h.WaitForStatusAsync("m", RuntimeStatuses.Backoff, i + 1);
            backoff.RestartCount.ShouldBe(i);
            backoff.ExitCode.ShouldBe(exitCode);
            backoff.Pid.ShouldBeNull();

            time.Advance(delays[i] - TimeSpan.FromMilliseconds(100));
            await SettleAsync();
            h.Events("m").Count(e => e.RuntimeStatus == RuntimeStatuses.Running).ShouldBe(i + 1, $"restarted before back-off {i + 1} elapsed");

            time.Advance(TimeSpan.FromMilliseconds(100));
            var running = await h.WaitForStatusAsync("m", RuntimeStatuses.Running, i + 2);
            running.RestartCount.ShouldBe(i + 1);
        }
    }

    [Fact]
    public async Task ApplyAsync_ProcessRanLongerThanResetWindow_BackoffStartsFromBaseAgain()
    {
        var time = new FakeTimeProvider();
        await using var h = new SupervisorHarness(time, o => o.RestartCountResetAfter = TimeSpan.FromMinutes(10));
        h.Launch("m", SleepForever);
        await h.Supervisor.ApplyAsync(Desired(("m", Module("always"))), Ct);

        await h.Supervisor.KillAsync("m", Ct);
        await h.WaitForStatusAsync("m", RuntimeStatuses.Backoff);
        time.Advance(TimeSpan.FromSeconds(10));
        (await h.WaitForStatusAsync("m", RuntimeStatuses.Running, 2)).RestartCount.ShouldBe(1);

        time.Advance(TimeSpan.FromMinutes(11)); // a stable run
        await h.Supervisor.KillAsync("m", Ct);
        var backoff = await h.WaitForStatusAsync("m", RuntimeStatuses.Backoff, 2);
        backoff.RestartCount.ShouldBe(0);
        time.Advance(TimeSpan.FromSeconds(10)); // the base delay again, not 20 s
        await h.WaitForStatusAsync("m", RuntimeStatuses.Running, 3);
    }

    [Theory]
    [InlineData("always")]
    [InlineData("on-failure")]
    public async Task KillAsync_RestartingPolicy_CrashIsRestartedAfterBackoff(string policy)
    {
        var time = new FakeTimeProvider();
        await using var h = new SupervisorHarness(time);
        h.Launch("m", SleepForever);
        await h.Supervisor.ApplyAsync(Desired(("m", Module(policy))), Ct);
        var firstPid = h.Status("m").Pid!.Value;

        await h.Supervisor.KillAsync("m", Ct);

        ProcessAlive(firstPid).ShouldBeFalse();
        var backoff = await h.WaitForStatusAsync("m", RuntimeStatuses.Backoff);
        backoff.ExitCode.ShouldBe(137); // 128 + SIGKILL
        time.Advance(h.Options.RestartBackoffBase);
        var running = await h.WaitForStatusAsync("m", RuntimeStatuses.Running, 2);
        running.Pid.ShouldNotBe(firstPid);
        running.RestartCount.ShouldBe(1);
        ProcessAlive(running.Pid!.Value).ShouldBeTrue();
    }

    [Fact]
    public async Task KillAsync_NeverPolicy_ModuleStaysFailed()
    {
        await using var h = new SupervisorHarness(new FakeTimeProvider());
        h.Launch("m", SleepForever);
        await h.Supervisor.ApplyAsync(Desired(("m", Module("never"))), Ct);

        await h.Supervisor.KillAsync("m", Ct);

        var failed = await h.WaitForStatusAsync("m", RuntimeStatuses.Failed);
        failed.ExitCode.ShouldBe(137);
        var reported = failed.ToReportedJson();
        reported["runtimeStatus"]!.GetValue<string>().ShouldBe("failed");
        reported["exitCode"]!.GetValue<int>().ShouldBe(137);
        reported["restartCount"]!.GetValue<int>().ShouldBe(0);
        reported["startTimeUtc"]!.GetValue<string>().ShouldBe("2000-01-01T00:00:00.0000000Z");
        reported.ContainsKey("pid").ShouldBeFalse();
        await Should.ThrowAsync<InvalidOperationException>(() => h.Supervisor.KillAsync("nope", Ct));
    }

    [Fact]
    public async Task RestartAsync_RunningModule_StartsNewProcessWithoutBackoff()
    {
        await using var h = new SupervisorHarness(new FakeTimeProvider());
        h.Launch("m", SleepForever);
        await h.Supervisor.ApplyAsync(Desired(("m", Module("always"))), Ct);
        var firstPid = h.Status("m").Pid!.Value;

        await h.Supervisor.RestartAsync("m", Ct);

        var status = h.Status("m");
        status.RuntimeStatus.ShouldBe(RuntimeStatuses.Running);
        status.Pid.ShouldNotBeNull();
        status.Pid.ShouldNotBe(firstPid);
        status.ExitCode.ShouldBe(143); // stopped with SIGTERM
        ProcessAlive(firstPid).ShouldBeFalse();
        h.Events("m").ShouldNotContain(e => e.RuntimeStatus == RuntimeStatuses.Backoff);
    }

    [Fact]
    public async Task RestartAsync_ExitedNeverModule_StartsItAgain()
    {
        await using var h = new SupervisorHarness(new FakeTimeProvider());
        h.Launch("m", "exit 3");
        await h.Supervisor.ApplyAsync(Desired(("m", Module("never"))), Ct);
        await h.WaitForStatusAsync("m", RuntimeStatuses.Failed);

        await h.Supervisor.RestartAsync("m", Ct);

        await h.WaitForStatusAsync("m", RuntimeStatuses.Failed, 2);
        h.Events("m").Count(e => e.RuntimeStatus == RuntimeStatuses.Running).ShouldBe(2);
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

        await h.Supervisor.ApplyAsync(doc.DeepClone().AsObject(), Ct);

        await SettleAsync();
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
    public async Task ApplyAsync_RemovingModuleThatHonoursSigterm_StopsGracefully()
    {
        await using var h = new SupervisorHarness(configure: o => o.StopGracePeriod = TimeSpan.FromSeconds(20));
        h.Launch("m", "trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.05; done");
        await h.Supervisor.ApplyAsync(Desired(("m", Module("always"))), Ct);
        await h.WaitForOutputAsync("m", "ready");

        var watch = Stopwatch.StartNew();
        await h.Supervisor.ApplyAsync(Desired(), Ct);

        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
        h.Output("m").ShouldContain("got-term");
        var last = h.Events("m").Last();
        last.RuntimeStatus.ShouldBe(RuntimeStatuses.Stopped);
        last.ExitCode.ShouldBe(0);
        h.Supervisor.GetStatus().ShouldBeEmpty();
    }

    [Fact]
    public async Task DisposeAsync_ModuleIgnoringSigterm_IsKilledAfterGracePeriod()
    {
        var h = new SupervisorHarness(configure: o => o.StopGracePeriod = TimeSpan.FromMilliseconds(300));
        int pid;
        var watch = new Stopwatch();
        try
        {
            h.Launch("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.05; done");
            await h.Supervisor.ApplyAsync(Desired(("stubborn", Module("always"))), Ct);
            await h.WaitForOutputAsync("stubborn", "ready");
            pid = h.Status("stubborn").Pid!.Value;
            watch.Start();
        }
        finally
        {
            await h.DisposeAsync();
        }

        watch.Elapsed.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(300));
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
        ProcessAlive(pid).ShouldBeFalse();
        var last = h.Events("stubborn").Last();
        last.RuntimeStatus.ShouldBe(RuntimeStatuses.Stopped);
        last.ExitCode.ShouldBe(137);
        h.Logger.Collector.GetSnapshot().ShouldContain(r => r.Id.Id == 2805 && r.Level == LogLevel.Warning);
    }

    [Fact]
    public async Task GetStatus_RunningProcess_ReportsRssAndKeepsPeakAfterExit()
    {
        await using var h = new SupervisorHarness();
        // dash holds the 32 MB string in its own memory while it loops.
        h.Launch("hog", "x=$(head -c 33554432 /dev/zero | tr '\\0' a); echo ready; while :; do sleep 0.05; done");
        await h.Supervisor.ApplyAsync(Desired(("hog", Module("never"))), Ct);
        await h.WaitForOutputAsync("hog", "ready");

        var running = h.Status("hog");

        running.RssBytes.ShouldNotBeNull();
        running.RssBytes.Value.ShouldBeGreaterThan(30L * 1024 * 1024);
        running.PeakRssBytes!.Value.ShouldBeGreaterThanOrEqualTo(running.RssBytes.Value);
        running.StartTimeUtc.ShouldNotBeNull();

        await h.Supervisor.ApplyAsync(Desired(("hog", Module("never", status: "stopped"))), Ct);
        var stopped = h.Status("hog");
        stopped.RssBytes.ShouldBeNull();
        stopped.PeakRssBytes!.Value.ShouldBeGreaterThanOrEqualTo(running.PeakRssBytes.Value);
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
    public async Task ApplyAsync_LauncherExecutableMissing_BacksOffPerPolicyWithError()
    {
        var time = new FakeTimeProvider();
        await using var h = new SupervisorHarness(time) { AllowErrorLogs = true };
        h.Options.Launchers["m"] = new ModuleLaunchSpec(Path.Combine(h.Root, "does-not-exist"), []);

        await h.Supervisor.ApplyAsync(Desired(("m", Module("always"))), Ct);

        var backoff = await h.WaitForStatusAsync("m", RuntimeStatuses.Backoff);
        backoff.Error.ShouldNotBeNull();
        backoff.Error.ShouldContain("cannot start module m");
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
        h.Logger.Collector.GetSnapshot().ShouldContain(r => r.Id.Id == 2813);
    }
}
