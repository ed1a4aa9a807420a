using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.TestSupport;
using EndToEnd.Tests.Harness;
using OpenCvSharp;

namespace EndToEnd.Tests;

/// <summary>
/// The module images as they ship (issue 13): CameraCapture and Inference run as containers (host network) on the simulator.
/// Runs only with EDGE_E2E_IMAGES=1 (<c>edge images test</c> builds the images and sets it); skipped otherwise, so the default
/// test run does not depend on a container engine.
/// </summary>
public sealed class ContainerImageTests
{
    [Fact]
    public async Task Images_MegamindPipeline_FramesFlowFaceFoundTwinAppliedSigtermExitsZeroStateKept()
    {
        Assert.SkipUnless(ContainerImages.Enabled, "EDGE_E2E_IMAGES=1 is not set: `./edge images test` builds the module images and runs this test");
        var ct = E2E.ScenarioToken(out var cts);
        using var _ = cts;
        await using var h = await SolutionHarness.StartAsync(ct);
        var d = HappyPathTests.CameraPipeline(fps: 10);
        const string Source = "Inference/detections/cam1";
        var deployed = Stopwatch.StartNew();
        await h.DeployAsync(d, ct);

        // Frames flow: CameraCapture's container → Inference's container → $upstream.
        await h.WaitForAsync(() => h.Upstream.From(Source).Count >= 1, TimeSpan.FromSeconds(90), "the first detections message", ct);
        var firstMessage = deployed.Elapsed;
        await h.WaitForAsync(() => h.Upstream.From(Source).Count >= 30, TimeSpan.FromSeconds(60), "30 detections messages", ct);
        TestContext.Current.TestOutputHelper?.WriteLine($"containers started → first detections message at $upstream: {firstMessage.TotalSeconds:0.00} s");

        // Megamind frame 100 through Inference's container: the face, score above 0.8.
        using (var capture = new VideoCapture(Assets.Megamind))
        using (var frame = new Mat())
        {
            capture.Set(VideoCaptureProperties.PosFrames, 100);
            capture.Read(frame).ShouldBeTrue("Megamind frame 100");
            await h.Sim.InjectAsync("Inference", "frames", frame.ImEncode(".jpg"), new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["cameraId"] = "frame100",
                ["seq"] = "100",
                ["capturedAt"] = TimeProvider.System.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
                ["width"] = frame.Width.ToString(CultureInfo.InvariantCulture),
                ["height"] = frame.Height.ToString(CultureInfo.InvariantCulture),
            }, "image/jpeg", ct);
        }

        await h.WaitForAsync(() => h.Upstream.From("Inference/detections/frame100").Count >= 1, TimeSpan.FromSeconds(30), "frame 100's detections", ct);
        var body = JsonDocument.Parse(h.Upstream.From("Inference/detections/frame100")[0].Message.Body).RootElement;
        var face = body.GetProperty("detections").EnumerateArray().ShouldHaveSingleItem();
        face.GetProperty("label").GetString().ShouldBe("face");
        face.GetProperty("score").GetDouble().ShouldBeGreaterThan(0.8);

        // The twin applies inside the container.
        await h.Sim.PatchModuleDesiredAsync("Inference", new JsonObject { ["thresholds"] = new JsonObject { ["minScore"] = 0.6 } }, ct);
        await h.WaitForAsync(() => ReportedMinScore(h, ct) == 0.6, TimeSpan.FromSeconds(30), "Inference to report thresholds.minScore 0.6", ct);

        // SIGTERM (the supervisor's graceful stop, forwarded into the container) exits 0.
        var before = h.Upstream.From(Source).Count;
        var lastSeq = h.Upstream.From(Source)[^1].Seq;
        await h.StopAsync(d, "CameraCapture", ct);
        h.Module("CameraCapture").ExitCode.ShouldBe(0, "CameraCapture's exit code after SIGTERM");

        // A new container from the same image on the same state folder: the camera's sequence continues.
        await h.SetStatusAsync(d, "CameraCapture", "running", ct);
        await h.WaitForAsync(() => h.Upstream.From(Source).Count >= before + 20, TimeSpan.FromSeconds(90), "detections after the restart", ct);
        h.Upstream.From(Source)[^1].Seq.ShouldBeGreaterThan(lastSeq + 10);
        var report = h.Verifier.Report(Source);
        report.Misordered.ShouldBe(0, "the sequence number survived the container restart: " + report);
        report.Duplicates.ShouldBe(0, report.ToString());

        await h.StopAsync(d, "Inference", ct);
        h.Module("Inference").ExitCode.ShouldBe(0, "Inference's exit code after SIGTERM");
        h.Report("CameraCapture and Inference images → $upstream");
    }

    private static double? ReportedMinScore(SolutionHarness h, CancellationToken ct) =>
        (h.Sim.GetModuleTwinAsync("Inference", ct).GetAwaiter().GetResult()["reported"] as JsonObject)?["thresholds"]?["minScore"]?.GetValue<double>();
}
