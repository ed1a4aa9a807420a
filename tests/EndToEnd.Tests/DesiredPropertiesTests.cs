using System.Text.Json.Nodes;
using EndToEnd.Tests.Harness;

namespace EndToEnd.Tests;

/// <summary>T1: desired properties changed while the module is offline; an invalid patch is rejected and reported.</summary>
public sealed class DesiredPropertiesTests
{
    [Fact]
    public async Task DesiredChangedWhileOffline_LatestAppliedOnReconnect_InvalidPatchRejectedModuleKeepsRunning()
    {
        var ct = E2E.ScenarioToken(out var cts);
        using var _ = cts;
        await using var h = await SolutionHarness.StartAsync(ct);
        var d = HappyPathTests.CameraPipeline(fps: 2);
        d.Status("CameraCapture", "stopped");
        await h.DeployAsync(d, ct);
        await WaitReportedAsync(h, r => r["lastDesiredVersion"] is not null, "the first desired version to be reported", ct);

        // Offline: the process is stopped while five patches land (docs/reliability-suite.md, scenario T1).
        await h.SetStatusAsync(d, "Inference", "stopped", ct);
        await h.WaitForAsync(() => h.Module("Inference").RuntimeStatus == "stopped", TimeSpan.FromSeconds(30), "Inference to stop", ct);
        foreach (var score in new[] { 0.55, 0.6, 0.65, 0.7, 0.75 })
        {
            await h.Sim.PatchModuleDesiredAsync("Inference", new JsonObject { ["thresholds"] = new JsonObject { ["minScore"] = score } }, ct);
        }

        var latest = (await h.Sim.GetModuleTwinAsync("Inference", ct))["desired"]!["$version"]!.GetValue<long>();
        await h.SetStatusAsync(d, "Inference", "running", ct);
        var reported = await WaitReportedAsync(h, r => r["lastDesiredVersion"]?.GetValue<long>() == latest, $"desired version {latest} to be applied after reconnect", ct);
        reported["lastDesiredStatus"]!["code"]!.GetValue<int>().ShouldBe(200);
        reported["thresholds"]!["minScore"]!.GetValue<double>().ShouldBe(0.75, "the latest version wins");
        var pid = h.Module("Inference").Pid;

        // Invalid: rejected with the JSON path in the reported error; the module keeps running on the last good settings.
        await h.Sim.PatchModuleDesiredAsync("Inference", new JsonObject { ["thresholds"] = new JsonObject { ["minScore"] = 7.5 } }, ct);
        var invalid = latest + 1;
        reported = await WaitReportedAsync(h, r => r["lastDesiredVersion"]?.GetValue<long>() == invalid, "the invalid patch to be reported", ct);
        reported["lastDesiredStatus"]!["code"]!.GetValue<int>().ShouldBe(400);
        reported["lastDesiredStatus"]!["description"]!.GetValue<string>().ShouldContain("minScore");
        reported["thresholds"]!["minScore"]!.GetValue<double>().ShouldBe(0.75, "the last good value stays in force");
        var status = await h.InvokeAsync("Inference", "getStatus", ct);
        status!["thresholds"]!["minScore"]!.GetValue<double>().ShouldBe(0.75);
        h.Module("Inference").ShouldSatisfyAllConditions(m => m.RuntimeStatus.ShouldBe("running"), m => m.Pid.ShouldBe(pid));

        // A valid patch after the invalid one is applied again.
        await h.Sim.PatchModuleDesiredAsync("Inference", new JsonObject { ["thresholds"] = new JsonObject { ["minScore"] = 0.8 } }, ct);
        reported = await WaitReportedAsync(h, r => r["lastDesiredVersion"]?.GetValue<long>() == invalid + 1, "the next valid patch", ct);
        reported["lastDesiredStatus"]!["code"]!.GetValue<int>().ShouldBe(200);
        reported["thresholds"]!["minScore"]!.GetValue<double>().ShouldBe(0.8);
        h.AssertHealthy();
    }

    private static async Task<JsonObject> WaitReportedAsync(SolutionHarness h, Func<JsonObject, bool> condition, string what, CancellationToken ct)
    {
        JsonObject? match = null;
        await h.WaitForAsync(() =>
        {
            var reported = h.Sim.GetModuleTwinAsync("Inference", ct).GetAwaiter().GetResult()["reported"] as JsonObject;
            match = reported is not null && condition(reported) ? reported : null;
            return match is not null;
        }, TimeSpan.FromSeconds(45), what, ct);
        return match!;
    }
}
