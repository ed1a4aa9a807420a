using EndToEnd.Tests.Harness;

namespace EndToEnd.Tests;

/// <summary>D2 and P2: the cloud goes away and comes back in cycles; only messages whose TTL expired are lost, exactly those.</summary>
public sealed class CloudOfflineTests
{
    [Fact]
    public async Task UpstreamOfflineCycles_ShortTtlBatchExpiresExactly_LongTtlSourceLosesNothing()
    {
        var ct = E2E.ScenarioToken(out var cts);
        using var _ = cts;
        var cycles = E2E.Pick(3, 5);
        var offline = E2E.Pick(TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(5));
        var online = E2E.Pick(TimeSpan.FromSeconds(1.5), TimeSpan.FromMinutes(5));
        const double Rate = 10;
        const int Batch = 25;
        await using var h = await SolutionHarness.StartAsync(ct);
        var d = new DeploymentBuilder()
            .Sender("steady", Rate, 0) // sends until stopped; what it sent is read from its persisted sequence
            .Sender("burst", 200, Batch, status: "stopped")
            .Route("steadyUp", "FROM /messages/modules/steady/outputs/out INTO $upstream", ttlSecs: 86_400)
            .Route("burstUp", "FROM /messages/modules/burst/outputs/out INTO $upstream", ttlSecs: 1);
        await h.DeployAsync(d, ct);
        await h.WaitConnectedAsync("steady", ct);
        h.Verifier.Expect("burst", 1, Batch);
        await h.WaitForAsync(() => h.Verifier.DistinctCount("steady") >= 5, TimeSpan.FromSeconds(30), "steady to reach $upstream", ct);

        var drain = TimeSpan.Zero;
        for (var cycle = 0; cycle < cycles; cycle++)
        {
            h.Sim.SetUpstreamOnline(false);
            var cut = h.Elapsed;
            if (cycle == 0)
            {
                // The 1 s TTL source sends its whole batch while the cloud is away, then the outage outlasts the TTL.
                await h.SetStatusAsync(d, "burst", "running", ct);
                await h.WaitForAsync(() => h.Sim.GetStatus().Routes.Single(r => r.Name == "burstUp").Matched >= Batch, TimeSpan.FromSeconds(30),
                    "the burst batch to be stored by the hub", ct);
                await Task.Delay(TimeSpan.FromSeconds(2.5), TimeProvider.System, ct);
            }

            var remaining = offline - (h.Elapsed - cut);
            if (remaining > TimeSpan.Zero)
            {
                await Task.Delay(remaining, TimeProvider.System, ct);
            }

            h.Verifier.ReceivedCount("burst").ShouldBe(0);
            var arrivedBefore = h.Upstream.Count;
            h.Sim.GetStatus().Queues.Where(q => q.Endpoint == "$upstream").Sum(q => q.Depth).ShouldBeGreaterThan(0, "a backlog while offline");
            h.Sim.SetUpstreamOnline(true);
            var back = h.Elapsed;
            await h.WaitForAsync(() => h.Sim.GetStatus().Queues.Where(q => q.Endpoint == "$upstream").Sum(q => q.Depth) == 0,
                offline * 2 + TimeSpan.FromSeconds(10), $"the backlog of cycle {cycle + 1} to drain", ct);
            drain = h.Elapsed - back > drain ? h.Elapsed - back : drain;
            // The collector reads the cloud side's feed asynchronously: it may see the drained backlog a moment after the queue empties.
            await h.WaitForAsync(() => h.Upstream.Count > arrivedBefore, TimeSpan.FromSeconds(10), $"the backlog of cycle {cycle + 1} at the cloud side", ct);
            await Task.Delay(online, TimeProvider.System, ct);
        }

        // Fix steady's last seq a little ahead: the changed module is recreated, resends whatever its outbox still holds
        // and stops at exactly that number (a graceful stop alone may leave accepted messages in the outbox until the next start).
        var count = h.LoadGenAcceptedSeq("steady") + 10;
        d.Env("steady", "LoadGen__Count", count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await h.ApplyModulesAsync(d, ct);
        count.ShouldBeGreaterThan((long)(Rate * offline.TotalSeconds * cycles / 2));
        h.Verifier.Expect("steady", 1, count);
        await h.WaitForAsync(() => h.Verifier.DistinctCount("steady") >= count, TimeSpan.FromSeconds(30), $"all {count} steady messages", ct);
        await Task.Delay(TimeSpan.FromMilliseconds(500), TimeProvider.System, ct);
        h.Report($"{cycles} offline/online cycles; longest drain {drain.TotalSeconds:0.0} s");

        var steady = h.Verifier.Report("steady");
        steady.Missing.ShouldBe(0, steady.ToString());
        steady.Misordered.ShouldBe(0, steady.ToString());
        steady.Duplicates.ShouldBeLessThanOrEqualTo(cycles, "at most the one message in flight to the cloud at each cut");

        // Exactly the batch expired: none of it arrived, and the hub counted exactly that many expiries.
        var burst = h.Verifier.Report("burst");
        burst.Received.ShouldBe(0, burst.ToString());
        burst.Missing.ShouldBe(Batch);
        h.Sim.GetStatus().Drops.GetValueOrDefault("expired").ShouldBe(Batch);
        h.AssertHealthy(allowedDrops: ["expired"]);
    }
}
