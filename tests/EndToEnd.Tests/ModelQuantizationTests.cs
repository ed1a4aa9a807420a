using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Models;
using Edge.TestSupport;
using EndToEnd.Tests.Harness;

namespace EndToEnd.Tests;

/// <summary>The smaller model in service: BlazeFace quantized by `edge model quantize`, hot-swapped in through the twin while frames flow.</summary>
public sealed class ModelQuantizationTests : IDisposable
{
    private const string Detections = "Inference/detections/cam1";
    private readonly string _dir = Directory.CreateTempSubdirectory("edge-e2e-int8-").FullName;

    [Fact]
    public async Task ModelHotSwap_FloatToInt8_NoFrameLostFacesStillFound()
    {
        var ct = E2E.ScenarioToken(out var cts);
        using var _ = cts;

        // The project's own tool, as `edge model quantize <front-128> --calibrate Megamind.avi --per-channel` runs it.
        var int8 = Path.Combine(_dir, "front.int8.onnx");
        Quantizer.Quantize(Assets.BlazeFaceFront128, Assets.Megamind, int8, new QuantizeSettings { PerChannel = true, Frames = 32 }, ct);
        var sha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(int8, ct)));

        await using var h = await SolutionHarness.StartAsync(ct);
        var d = HappyPathTests.CameraPipeline(fps: 10);
        await h.DeployAsync(d, ct);
        await h.WaitForAsync(() => h.Upstream.From(Detections).Count >= 20, TimeSpan.FromSeconds(60), "detections from the float model", ct);

        await h.Sim.PatchModuleDesiredAsync("Inference", JsonNode.Parse($$$"""
            {"model":{"name":"blazeface-front","version":"2-int8","url":"{{{new Uri(int8).AbsoluteUri}}}","sha256":"{{{sha}}}","profile":"blazeface"}}
            """)!.AsObject(), ct);
        await h.WaitForAsync(() => h.Upstream.From(Detections).Count(a => ModelVersion(a) == "2-int8") >= E2E.Pick(30, 5000), TimeSpan.FromSeconds(60),
            "detections from the int8 model", ct);
        var twin = await h.Sim.GetModuleTwinAsync("Inference", ct);
        twin["reported"]!["model"]!["version"]!.GetValue<string>().ShouldBe("2-int8");
        twin["reported"]!["model"]!["status"]!.GetValue<string>().ShouldBe("ready");
        twin["reported"]!["model"]!["sha256"]!.GetValue<string>().ShouldBe(sha);

        // Stop capture, drain, and account for every frame capture handed to the hub.
        await h.SetStatusAsync(d, "CameraCapture", "stopped", ct);
        await h.WaitForAsync(() => h.Module("CameraCapture").RuntimeStatus == "stopped", TimeSpan.FromSeconds(30), "capture to stop", ct);
        await h.WaitForAsync(() => h.Sim.GetStatus().Queues.Sum(q => q.Depth) == 0, TimeSpan.FromSeconds(30), "the hub queues to drain", ct);
        JsonNode stats = new JsonObject();
        await h.WaitForAsync(() =>
        {
            stats = h.InvokeAsync("Inference", "getStatus", ct).GetAwaiter().GetResult()!["stats"]!;
            return stats["queued"]!.GetValue<int>() == 0 && Long(stats, "messagesSent") == h.Upstream.From(Detections).Select(a => a.Seq).Distinct().Count();
        }, TimeSpan.FromSeconds(30), "inference to finish its queue and every result to reach $upstream", ct);
        h.Report("hot-swap front-128 float v1 → int8 v2 under 10 fps");
        TestContext.Current.TestOutputHelper?.WriteLine("inference stats: " + stats.ToJsonString());

        var delivered = h.Sim.GetStatus().Routes.Single(r => r.Name == "frames").Matched;
        (Long(stats, "framesReceived") - Long(stats, "framesDuplicate")).ShouldBe(delivered, "every frame capture sent reached inference once");
        (Long(stats, "framesProcessed") + Long(stats, "framesDropped") + Long(stats, "framesInvalid") + Long(stats, "framesFailed"))
            .ShouldBe(delivered, "each frame is processed or dropped by the latest-frame queue policy (counted)");
        Long(stats, "framesInvalid").ShouldBe(0, "never without a model during the swap");
        Long(stats, "framesFailed").ShouldBe(0);
        h.Upstream.From(Detections).Select(a => a.Seq).Distinct().Count().ShouldBe((int)Long(stats, "framesProcessed"), "one detections message per processed frame");
        h.Verifier.Report(Detections).Misordered.ShouldBe(0);

        // The int8 model still finds Megamind's face in most frames.
        var after = h.Upstream.From(Detections).Where(a => ModelVersion(a) == "2-int8").Select(a => JsonDocument.Parse(a.Message.Body).RootElement).ToList();
        after.Count(b => b.GetProperty("detections").GetArrayLength() > 0).ShouldBeGreaterThan(after.Count / 2, "Megamind shows a face in most frames");
        h.AssertHealthy();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string? ModelVersion(Arrival a) => JsonDocument.Parse(a.Message.Body).RootElement.GetProperty("modelVersion").GetString();

    private static long Long(JsonNode node, string key) => node[key]!.GetValue<long>();
}
