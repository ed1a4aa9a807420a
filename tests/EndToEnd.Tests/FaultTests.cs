using System.Text.Json;
using EndToEnd.Tests.Harness;

namespace EndToEnd.Tests;

/// <summary>D6 and D7: the hub restarts under load, the relay and the sender are killed with SIGKILL mid-stream.</summary>
public sealed class FaultTests
{
    /// <summary>The outbox's default in-flight window (Outbox__InFlight), the duplicate window after a cut.</summary>
    private const int InFlight = 16;

    [Fact]
    public async Task HubRestartAndKill9_UnderLoad_NoAcknowledgedMessageLostDuplicatesWithinWindow()
    {
        var ct = E2E.ScenarioToken(out var cts);
        using var _ = cts;
        var rounds = E2E.Pick(1, 20);
        const double Rate = 20;
        await using var h = await SolutionHarness.StartAsync(ct);
        var d = new DeploymentBuilder()
            .Sender("sender", Rate, 0)
            .Relay("relay")
            .Route("toRelay", "FROM /messages/modules/sender/outputs/out INTO BrokeredEndpoint(\"/modules/relay/inputs/in\")")
            .Route("up", "FROM /messages/modules/relay/outputs/out INTO $upstream");
        await h.DeployAsync(d, ct);
        await h.WaitConnectedAsync("relay", ct);
        await h.WaitConnectedAsync("sender", ct);

        var faults = 0;
        var hubRestarts = 0;
        for (var round = 0; round < rounds; round++)
        {
            // 1. The hub restarts under load: every connection drops, the store survives.
            await ProgressAsync(h, ct);
            await h.Sim.RestartAsync(ct);
            hubRestarts++;
            faults++;
            var restarted = h.Elapsed;
            await h.WaitConnectedAsync("sender", ct, TimeSpan.FromSeconds(30));
            await h.WaitConnectedAsync("relay", ct, TimeSpan.FromSeconds(30));
            TestContext.Current.TestOutputHelper?.WriteLine($"modules reconnected {(h.Elapsed - restarted).TotalSeconds:0.0} s after hub restart");

            // 2. kill -9 of the relay (the consuming side); the supervisor restarts it.
            await ProgressAsync(h, ct);
            await KillAndAwaitRestartAsync(h, "relay", ct);
            faults++;

            // 3. kill -9 of the sender mid-send; its sequence survives (persisted) and its outbox resends.
            await ProgressAsync(h, ct);
            await KillAndAwaitRestartAsync(h, "sender", ct);
            faults++;
        }

        // Give the sender a last sequence number a little ahead: the changed module is recreated (graceful stop, start),
        // resends what its outbox still holds and stops sending at exactly that number. Everything up to it must arrive.
        await ProgressAsync(h, ct);
        var count = h.LoadGenAcceptedSeq("sender") + 30;
        d.Env("sender", "LoadGen__Count", count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await h.ApplyModulesAsync(d, ct);
        h.Verifier.Expect("sender", 1, count);
        await h.WaitForAsync(() => h.Verifier.DistinctCount("sender") >= count, TimeSpan.FromSeconds(60), $"all {count} accepted messages after the faults", ct);
        await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System, ct);
        h.Report($"{rounds} round(s) of hub restart + kill -9 relay + kill -9 sender");

        var r = h.Verifier.Report("sender");
        r.Missing.ShouldBe(0, r.ToString()); // every seq the sender counted as accepted (its persisted seq) arrived
        r.Misordered.ShouldBe(0, r.ToString());

        // Duplicates: a cut can resend each hop's unacknowledged window (sender outbox, hub→relay, relay outbox).
        var bound = faults * ((2 * InFlight) + 2);
        r.Duplicates.ShouldBeLessThanOrEqualTo(bound, $"{faults} faults × (2 outbox windows of {InFlight} + the hub's one in-flight delivery + the seq persisted after accept)");

        // The sender really restarted mid-stream and continued its sequence (no restart from 1).
        var boots = h.Upstream.From("sender").Select(a => JsonDocument.Parse(a.Message.Body).RootElement.GetProperty("bootId").GetString()).Distinct().Count();
        boots.ShouldBe(rounds + 2, "one boot per sender process (start, one per kill, the final recreate)");
        h.Module("relay").RestartCount.ShouldBeGreaterThanOrEqualTo(1);
        h.AssertHealthy();
    }

    private static async Task ProgressAsync(SolutionHarness h, CancellationToken ct)
    {
        var before = h.Verifier.DistinctCount("sender");
        await h.WaitForAsync(() => h.Verifier.DistinctCount("sender") >= before + 15, TimeSpan.FromSeconds(45), "messages to flow before the next fault", ct);
    }

    private static async Task KillAndAwaitRestartAsync(SolutionHarness h, string module, CancellationToken ct)
    {
        var pid = h.Module(module).Pid;
        await h.Supervisor.KillAsync(module, ct);
        await h.WaitForAsync(() => h.Module(module) is { RuntimeStatus: "running", Pid: { } p } && p != pid, TimeSpan.FromSeconds(30), $"{module} to be restarted", ct);
        await h.WaitConnectedAsync(module, ct);
    }
}
