using System.Diagnostics;
using Edge.Hub.Supervisor;
using Microsoft.Extensions.Logging;
using static Edge.Hub.Tests.Supervisor.SupervisorHarness;

namespace Edge.Hub.Tests.Supervisor;

/// <summary>The supervisor over real child processes (<c>/bin/sh</c> scripts through the explicit launcher map): graceful stop, SIGKILL after grace, children, memory.</summary>
public sealed class ModuleSupervisorStopTests
{
    private const string SleepForever = "exec sleep 60";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

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
    public async Task ApplyAsync_StoppingModuleThatLeftChildren_ChildrenDoNotOutliveIt()
    {
        await using var h = new SupervisorHarness();
        h.Launch("parent", "trap 'exit 0' TERM; sleep 30 & echo \"child=$!\"; echo ready; while :; do sleep 0.05; done");
        await h.Supervisor.ApplyAsync(Desired(("parent", Module("always"))), Ct);
        await h.WaitForOutputAsync("parent", "ready");
        var child = int.Parse(h.Output("parent").Single(l => l.StartsWith("child=", StringComparison.Ordinal))["child=".Length..]);
        ProcessAlive(child).ShouldBeTrue();

        var watch = Stopwatch.StartNew();
        await h.Supervisor.ApplyAsync(Desired(("parent", Module("always", status: "stopped"))), Ct);

        await PollAsync(() => !ProcessAlive(child), "the orphaned child to die");
        h.Status("parent").ExitCode.ShouldBe(0);
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(5));
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
        var final = h.Supervisor.GetStatus().ShouldHaveSingleItem();
        final.RuntimeStatus.ShouldBe(RuntimeStatuses.Stopped);
        final.PeakRssBytes.ShouldNotBeNull();
        h.Logger.Collector.GetSnapshot().ShouldContain(r => r.Id.Id == HubEventIds.StopGraceExpired && r.Level == LogLevel.Warning);
        await Should.ThrowAsync<ObjectDisposedException>(() => h.Supervisor.ApplyAsync(Desired(), Ct));
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
}
