using System.Text.Json;
using EndToEnd.Tests.Harness;
using Edge.TestSupport;

namespace EndToEnd.Tests;

/// <summary>D1: everything flows, nothing is lost, duplicated or reordered.</summary>
public sealed class HappyPathTests
{
    /// <summary>The BlazeFace front model's SHA-256 (eng/assets.sh verifies the same digest).</summary>
    internal const string FrontSha256 = "d388b1cf8a5f6f1af2b3f4c14f6d0f138bab970cd618cccd12dddb7484e82e51";

    [Fact]
    public async Task SendRelayUpstream_TwoSources_NoLossNoDuplicatesInOrder()
    {
        var ct = E2E.ScenarioToken(out var cts);
        using var _ = cts;
        var count = E2E.Pick(120, 18_000); // docs/reliability-suite.md, scenario D1: 10 msg/s per source x 2 sources (soak: 30 min)
        var rate = 10.0;
        await using var h = await SolutionHarness.StartAsync(ct);
        var d = new DeploymentBuilder()
            .Sender("sensorA", rate, count)
            .Sender("sensorB", rate, count)
            .Relay("relay")
            .Route("aToRelay", "FROM /messages/modules/sensorA/outputs/out INTO BrokeredEndpoint(\"/modules/relay/inputs/in\")")
            .Route("bToRelay", "FROM /messages/modules/sensorB/outputs/out INTO BrokeredEndpoint(\"/modules/relay/inputs/in\")")
            .Route("up", "FROM /messages/modules/relay/outputs/out INTO $upstream");
        await h.DeployAsync(d, ct);
        foreach (var m in new[] { "sensorA", "sensorB", "relay" })
        {
            await h.WaitConnectedAsync(m, ct);
        }

        var steady = TimeProvider.System.GetUtcNow(); // latency is judged on messages created once every module is connected
        h.Verifier.Expect("sensorA", 1, count);
        h.Verifier.Expect("sensorB", 1, count);

        await h.WaitForAsync(() => h.Verifier.DistinctCount("sensorA") >= count && h.Verifier.DistinctCount("sensorB") >= count,
            TimeSpan.FromSeconds(count / rate + 30), "both sources to arrive at $upstream", ct);
        // Late duplicates would be copies still queued in the hub: wait until it holds nothing for any endpoint.
        await h.WaitForAsync(() => h.Sim.GetStatus().Queues.All(q => q.Depth == 0), TimeSpan.FromSeconds(30), "the hub's queues to drain", ct);

        h.Report("send → relay → $upstream");
        foreach (var source in new[] { "sensorA", "sensorB" })
        {
            var r = h.Verifier.Report(source);
            r.Missing.ShouldBe(0, r.ToString());
            r.Misordered.ShouldBe(0, r.ToString());
            r.Duplicates.ShouldBe(0, r.ToString());
        }

        var latencies = h.Upstream.Latencies(createdAfter: steady);
        latencies.Count.ShouldBeGreaterThan(count / 4);
        E2E.Percentile([.. latencies], 99).ShouldBeLessThan(E2E.LatencyBudgetMs(2000), "p99 module→cloud latency once connected (docs/reliability-suite.md, scenario D1)");
        h.AssertHealthy();
    }

    [Fact]
    public async Task CaptureInference_MegamindVideo_FacesDetectedInOrderAndSurvivesInferenceKill9()
    {
        var ct = E2E.ScenarioToken(out var cts);
        using var _ = cts;
        await using var h = await SolutionHarness.StartAsync(ct);
        await h.DeployAsync(CameraPipeline(fps: 10), ct);

        var wanted = E2E.Pick(40, 20_000);
        const string Source = "Inference/detections/cam1";
        await h.WaitForAsync(() => h.Upstream.From(Source).Count >= wanted, TimeSpan.FromSeconds(60), $"{wanted} detections messages", ct);
        var arrivals = h.Upstream.From(Source);
        var faces = arrivals.Select(a => JsonDocument.Parse(a.Message.Body).RootElement).Where(b => b.GetProperty("detections").GetArrayLength() > 0).ToList();
        faces.Count.ShouldBeGreaterThan(arrivals.Count / 2, "Megamind shows a face in most frames");
        faces[0].GetProperty("model").GetString().ShouldBe("blazeface-front");
        faces[0].GetProperty("detections")[0].GetProperty("label").GetString().ShouldBe("face");
        var seqs = arrivals.Select(a => a.Seq).ToList();
        seqs.Zip(seqs.Skip(1)).ShouldAllBe(p => p.Second > p.First, "per-camera seq strictly increasing at $upstream");
        var latencies = arrivals.Where(a => a.LatencyMs is not null).Select(a => a.LatencyMs!.Value).ToList();
        latencies.Count.ShouldBe(arrivals.Count, "every detections message carries capturedAt");
        TestContext.Current.TestOutputHelper?.WriteLine($"capture→upstream latency p50={E2E.Percentile(latencies, 50):0.0} ms p99={E2E.Percentile(latencies, 99):0.0} ms over {latencies.Count} frames");
        E2E.Percentile(latencies, 50).ShouldBeLessThan(E2E.LatencyBudgetMs(1000));

        // kill -9 of Inference: the supervisor restarts it, results resume, order per camera is kept.
        var pid = h.Module("Inference").Pid;
        await h.Supervisor.KillAsync("Inference", ct);
        await h.WaitForAsync(() => h.Module("Inference") is { RuntimeStatus: "running", Pid: { } p } && p != pid, TimeSpan.FromSeconds(30), "Inference to be restarted", ct);
        var resumedFrom = h.Upstream.From(Source).Count;
        await h.WaitForAsync(() => h.Upstream.From(Source).Count >= resumedFrom + 20, TimeSpan.FromSeconds(60), "detections after the restart", ct);
        h.Report("CameraCapture → Inference → $upstream, Inference killed once");

        var report = h.Verifier.Report(Source);
        report.Misordered.ShouldBe(0, report.ToString());
        report.Duplicates.ShouldBeLessThanOrEqualTo(17, "at most Inference's outbox in-flight window (16) plus one redelivered frame");
        h.Module("Inference").RestartCount.ShouldBe(1);
        h.AssertHealthy();
    }

    /// <summary>CameraCapture (Megamind, looped) → Inference (BlazeFace front, one detections message per frame) → $upstream.</summary>
    internal static DeploymentBuilder CameraPipeline(double fps, string source = "", int cameras = 1, string? modelUrl = null) =>
        new DeploymentBuilder()
            .Module("CameraCapture", ModuleKind.CameraCapture, CaptureEnv(source.Length > 0 ? source : new Uri(Assets.Megamind).AbsoluteUri, fps, cameras))
            .Module("Inference", ModuleKind.Inference, new Dictionary<string, string>
            {
                ["Model__Url"] = modelUrl ?? new Uri(Assets.BlazeFaceFront128).AbsoluteUri,
                ["Model__Sha256"] = FrontSha256,
                ["Model__Name"] = "blazeface-front",
                ["Model__Version"] = "1",
                ["Inference__HeartbeatSeconds"] = "0.001", // a detections message for every processed frame, faces or not
                ["Inference__AnnotatedFps"] = "0",
                ["Inference__ReportIntervalSeconds"] = "1",
            })
            .Route("frames", "FROM /messages/modules/CameraCapture/outputs/frames INTO BrokeredEndpoint(\"/modules/Inference/inputs/frames\")")
            .Route("detections", "FROM /messages/modules/Inference/outputs/detections INTO $upstream");

    private static Dictionary<string, string> CaptureEnv(string source, double fps, int cameras)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal) { ["Capture__StatusReportSeconds"] = "1" };
        for (var i = 0; i < cameras; i++)
        {
            env[$"Capture__Cameras__{i}__Id"] = $"cam{i + 1}";
            env[$"Capture__Cameras__{i}__Source"] = source;
            env[$"Capture__Cameras__{i}__Fps"] = fps.ToString(System.Globalization.CultureInfo.InvariantCulture);
            env[$"Capture__Cameras__{i}__Loop"] = "true";
        }

        return env;
    }
}
