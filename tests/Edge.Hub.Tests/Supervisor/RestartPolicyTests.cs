using Edge.Hub.Supervisor;
using Microsoft.Extensions.Time.Testing;
using static Edge.Hub.Tests.Supervisor.SupervisorHarness;

namespace Edge.Hub.Tests.Supervisor;

/// <summary>The supervisor over real child processes (<c>/bin/sh</c> scripts through the explicit launcher map): restartPolicy, back-off, KillAsync and RestartAsync.</summary>
public sealed class RestartPolicyTests
{
    private const string SleepForever = "exec sleep 60";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

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

        // A restart is always announced by a back-off status, published before its timer exists; with the fake clock nothing
        // else can start the module again. None was published, and an hour later the module is still where it ended.
        h.Events("m").ShouldNotContain(e => e.RuntimeStatus == RuntimeStatuses.Backoff);
        time.Advance(TimeSpan.FromHours(1));
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

            // The back-off timer exists once the status is published; only advancing the fake clock fires it. The restart's
            // start time (fake clock) shows when it fired: exactly at the end of the back-off, not 100 ms before.
            var due = time.GetUtcNow() + delays[i];
            time.Advance(delays[i] - TimeSpan.FromMilliseconds(100));
            time.Advance(TimeSpan.FromMilliseconds(100));
            var running = await h.WaitForStatusAsync("m", RuntimeStatuses.Running, i + 2);
            running.RestartCount.ShouldBe(i + 1);
            running.StartTimeUtc.ShouldBe(due, $"restarted before back-off {i + 1} elapsed");
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
    public async Task RestartAsync_CalledAsTheModuleSettlesOnFailed_StartsItAgain()
    {
        await using var h = new SupervisorHarness(new FakeTimeProvider());
        h.Launch("m", "exit 3");
        Task? restart = null;
        h.Supervisor.StatusChanged += s =>
        {
            // Raised by the supervision loop itself while it settles: the narrowest window for a lost restart.
            if (s.ModuleId == "m" && s.RuntimeStatus == RuntimeStatuses.Failed && restart is null)
            {
                restart = h.Supervisor.RestartAsync("m", Ct);
            }
        };

        await h.Supervisor.ApplyAsync(Desired(("m", Module("never"))), Ct);
        await h.WaitForStatusAsync("m", RuntimeStatuses.Failed, 2);

        var issued = restart ?? throw new InvalidOperationException("the Failed event never issued a restart");
        await issued.WaitAsync(TimeSpan.FromSeconds(10), TimeProvider.System, Ct);
        h.Events("m").Count(e => e.RuntimeStatus == RuntimeStatuses.Running).ShouldBe(2);
        h.Events("m").Select(e => e.RuntimeStatus).ShouldBe([RuntimeStatuses.Running, RuntimeStatuses.Failed, RuntimeStatuses.Running, RuntimeStatuses.Failed]);
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
    public async Task ApplyAsync_ConnectionStringUnavailable_BacksOffWithError()
    {
        await using var h = new SupervisorHarness(new FakeTimeProvider(), connectionString: id => throw new KeyNotFoundException($"no identity {id}")) { AllowErrorLogs = true };
        h.Launch("m", SleepForever);

        await h.Supervisor.ApplyAsync(Desired(("m", Module("always"))), Ct);

        var backoff = await h.WaitForStatusAsync("m", RuntimeStatuses.Backoff);
        backoff.Error.ShouldNotBeNull();
        backoff.Error.ShouldContain("no identity m");
        backoff.ExitCode.ShouldBeNull();
    }
}
