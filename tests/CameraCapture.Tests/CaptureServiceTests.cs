using System.Text.Json.Nodes;
using Edge.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using OpenCvSharp;

namespace CameraCapture.Tests;

public sealed class CaptureServiceTests : IAsyncLifetime
{
    private readonly Harness _h = new();
    private readonly FakeLogger<CaptureService> _log = new();
    private CaptureService _service = null!;

    public async ValueTask InitializeAsync()
    {
        _service = NewService(_h.Factory);
        await _service.StartAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _service.StopAsync(CancellationToken.None);
        _service.Dispose();
        await _h.DisposeAsync();
    }

    [Fact]
    public async Task Twin_AddChangeRemove_AppliedLiveToEachCameraOnly()
    {
        var ct = TestContext.Current.CancellationToken;
        var r1 = await _h.Client.SetDesiredAsync("""{"cameras":[{"id":"a","source":"synthetic:160x120@5","fps":5}]}""", 2, ct);
        r1.Accepted.ShouldBeTrue(r1.Error);
        r1.Reported!["cameras"]![0]!["fps"]!.GetValue<double>().ShouldBe(5);
        var a = _service.Cameras["a"];
        await a.FirstOpened.WaitAsync(TimeSpan.FromSeconds(10), ct);
        await a.PacingStarted.WaitAsync(TimeSpan.FromSeconds(10), ct);
        await _h.TickAsync(a, 2);
        (await _h.Client.NextAsync(CaptureService.FramesOutput)).Properties["cameraId"].ShouldBe("a");

        // Change a's fps and quality (live, same pipeline), add b.
        var r2 = await _h.Client.SetDesiredAsync(
            """{"cameras":[{"id":"a","source":"synthetic:160x120@5","fps":2,"jpegQuality":50},{"id":"b","source":"synthetic:160x120@5"}]}""", 3, ct);
        r2.Accepted.ShouldBeTrue(r2.Error);
        _service.Cameras["a"].ShouldBeSameAs(a, "a fps change does not reopen the source");
        a.Settings.Fps.ShouldBe(2);
        _service.Cameras.Keys.Order().ShouldBe(["a", "b"]);

        // Change a's source: only a restarts. Remove b.
        var r3 = await _h.Client.SetDesiredAsync("""{"cameras":[{"id":"a","source":"synthetic:320x240@5","fps":2}]}""", 4, ct);
        r3.Accepted.ShouldBeTrue(r3.Error);
        _service.Cameras["a"].ShouldNotBeSameAs(a);
        _service.Cameras.Keys.ShouldBe(["a"]);
        _h.Client.Reported.Any(p => RemovedFromStatus(p, "b")).ShouldBeTrue();
        _log.Collector.GetSnapshot().ShouldContain(r => r.Message.Contains("1 added, 0 changed, 0 removed"));
    }

    [Fact]
    public async Task Twin_InvalidValues_RejectedWithPathsAndLastGoodKept()
    {
        var ct = TestContext.Current.CancellationToken;
        (await _h.Client.SetDesiredAsync("""{"cameras":[{"id":"a","source":"synthetic:160x120@5"}]}""", 2, ct)).Accepted.ShouldBeTrue();
        var a = _service.Cameras["a"];

        var bad = await _h.Client.SetDesiredAsync(
            """{"cameras":[{"id":"a","source":"synthetic:160x120@5","fps":500},{"id":"b","source":"ftp://x/y","jpegQuality":0}]}""", 3, ct);
        bad.Accepted.ShouldBeFalse();
        bad.Error!.ShouldContain("cameras[0].fps");
        bad.Error!.ShouldContain("cameras[1].source");
        bad.Error!.ShouldContain("cameras[1].jpegQuality");
        _service.Cameras.Keys.ShouldBe(["a"]);
        _service.Cameras["a"].ShouldBeSameAs(a);
        a.Settings.Fps.ShouldBe(5);
        (await _h.Client.InvokeAsync("getStatus", "", ct)).Payload!["settingsError"]!.GetValue<string>().ShouldContain("fps");

        var duplicate = await _h.Client.SetDesiredAsync("""{"cameras":[{"id":"a","source":"synthetic"},{"id":"a","source":"synthetic"}]}""", 4, ct);
        duplicate.Accepted.ShouldBeFalse();
        duplicate.Error!.ShouldContain("cameras[1].id: duplicate");

        var unknown = await _h.Client.SetDesiredAsync("""{"cameras":[{"id":"a","source":"synthetic","colour":"red"}]}""", 5, ct);
        unknown.Accepted.ShouldBeFalse();
        unknown.Error!.ShouldContain("colour");
        _service.Cameras["a"].ShouldBeSameAs(a);
    }

    [Fact]
    public async Task Snapshot_KnownCamera_ReturnsDecodableJpegWithinMaxBytes()
    {
        var ct = TestContext.Current.CancellationToken;
        (await _h.Client.SetDesiredAsync("""{"cameras":[{"id":"cam1","source":"synthetic:1280x720@5"}]}""", 2, ct)).Accepted.ShouldBeTrue();
        var cam = _service.Cameras["cam1"];
        await cam.FirstOpened.WaitAsync(TimeSpan.FromSeconds(10), ct);
        await cam.PacingStarted.WaitAsync(TimeSpan.FromSeconds(10), ct);
        (await _h.Client.InvokeAsync("snapshot", """{"cameraId":"cam1"}""", ct)).Status.ShouldBe(503);
        await _h.TickAsync(cam, 1);

        var response = await _h.Client.InvokeAsync("snapshot", """{"cameraId":"cam1","maxBytes":30000}""", ct);
        response.Status.ShouldBe(200);
        var jpeg = Convert.FromBase64String(response.Payload!["image"]!.GetValue<string>());
        jpeg.Length.ShouldBeLessThanOrEqualTo(30000);
        using var decoded = Cv2.ImDecode(jpeg, ImreadModes.Color);
        decoded.Cols.ShouldBe(response.Payload["width"]!.GetValue<int>());

        (await _h.Client.InvokeAsync("snapshot", """{"cameraId":"nope"}""", ct)).Status.ShouldBe(404);
        (await _h.Client.InvokeAsync("snapshot", """{"cameraId":"cam1","maxBytes":1000000}""", ct)).Status.ShouldBe(400);
        (await _h.Client.InvokeAsync("snapshot", "not json", ct)).Status.ShouldBe(400);
        (await _h.Client.InvokeAsync("snapshot", "", ct)).Status.ShouldBe(200, "one camera: the id may be left out");
    }

    [Fact]
    public async Task GetStatus_ReportsStateCountersAndSource()
    {
        var ct = TestContext.Current.CancellationToken;
        (await _h.Client.SetDesiredAsync("""{"cameras":[{"id":"cam1","source":"rtsp://user:pw@10.1.1.1/s","fps":5}]}""", 2, ct)).Accepted.ShouldBeTrue();
        var status = (await _h.Client.InvokeAsync("getStatus", "{}", ct)).Payload!;
        var cam = status["cameras"]!["cam1"]!;
        cam["source"]!.GetValue<string>().ShouldBe("rtsp://***@10.1.1.1/s", "credentials never leave the module");
        cam["state"]!.GetValue<string>().ShouldBe("starting");
        cam["counters"]!["sent"]!.GetValue<long>().ShouldBe(0);
    }

    [Fact]
    public async Task Health_StalledCamera_EventOnHealthOutputAndReportedState()
    {
        var ct = TestContext.Current.CancellationToken;
        var factory = new ScriptedSourceFactory();
        await using var h = new Harness(factory);
        var service = NewService(factory, h);
        await service.StartAsync(ct);
        try
        {
            (await h.Client.SetDesiredAsync("""{"healthDebounceSeconds":0,"cameras":[{"id":"usb","source":"/dev/video0","stallTimeoutSeconds":1}]}""", 2, ct)).Accepted.ShouldBeTrue();
            var cam = service.Cameras["usb"];
            await cam.FirstOpened.WaitAsync(TimeSpan.FromSeconds(10), ct);
            await cam.PacingStarted.WaitAsync(TimeSpan.FromSeconds(10), ct);
            await h.TickAsync(cam, 1);
            factory.Current!.Stalled = true;
            await h.TickAsync(cam, 6);

            var events = new List<JsonNode>();
            while (events.Count < 2)
            {
                var m = await h.Client.NextAsync(CaptureService.HealthOutput);
                m.ContentType.ShouldBe("application/json");
                events.Add(JsonNode.Parse(m.BodyAsString())!);
            }

            events.Select(e => e["state"]!.GetValue<string>()).ShouldBe(["streaming", "stalled"]);
            events[1]["cameraId"]!.GetValue<string>().ShouldBe("usb");
            events[1]["previousState"]!.GetValue<string>().ShouldBe("streaming");
            await Harness.Eventually(() => h.Client.Reported.Any(p => p["cameraStatus"]?["usb"]?["state"]?.GetValue<string>() == "stalled"), "stalled reported");
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            service.Dispose();
        }
    }

    [Fact]
    public async Task Seq_ServiceRestart_ContinuesPerCamera()
    {
        var ct = TestContext.Current.CancellationToken;
        const string desired = """{"cameras":[{"id":"cam1","source":"synthetic:160x120@5"}]}""";
        (await _h.Client.SetDesiredAsync(desired, 2, ct)).Accepted.ShouldBeTrue();
        var cam = _service.Cameras["cam1"];
        await cam.FirstOpened.WaitAsync(TimeSpan.FromSeconds(10), ct);
        await cam.PacingStarted.WaitAsync(TimeSpan.FromSeconds(10), ct);
        await _h.TickAsync(cam, 3);
        await _service.StopAsync(ct);

        _service = NewService(_h.Factory);
        await _service.StartAsync(ct);
        (await _h.Client.SetDesiredAsync(desired, 2, ct)).Accepted.ShouldBeTrue();
        cam = _service.Cameras["cam1"];
        await cam.FirstOpened.WaitAsync(TimeSpan.FromSeconds(10), ct);
        await cam.PacingStarted.WaitAsync(TimeSpan.FromSeconds(10), ct);
        await _h.TickAsync(cam, 2);
        _h.Client.Drain(CaptureService.FramesOutput).Select(f => f.Properties["seq"]).ShouldBe(["1", "2", "3", "4", "5"]);
    }

    [Fact]
    public void Configuration_EnvironmentShorthand_GivesDefaults()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CAMERA_SOURCE"] = "rtsp://cam/live",
            ["CAMERA_ID"] = "door",
            ["CAMERA_FPS"] = "2.5",
            ["CAMERA_WIDTH"] = "640",
            ["CAMERA_TRANSPORT"] = "reference",
            ["CAMERA_MOTION"] = "true",
            ["FRAME_STORE"] = "/frames",
            ["Capture:Cameras:0:Id"] = "yard",
            ["Capture:Cameras:0:Source"] = "/dev/video0",
            ["Capture:Cameras:0:Fps"] = "10",
        }).Build();
        var settings = CaptureConfiguration.FromConfiguration(config, out var errors);
        errors.ShouldBeEmpty();
        settings.FrameStore.ShouldBe("/frames");
        settings.Cameras.Select(c => c.Id).ShouldBe(["yard", "door"]);
        var door = settings.Cameras[1];
        (door.Source, door.Fps, door.Width, door.Transport, door.Motion.Enabled).ShouldBe(("rtsp://cam/live", 2.5, 640, FrameTransport.Reference, true));
        settings.Cameras[0].Fps.ShouldBe(10);
    }

    [Fact]
    public void Configuration_UnparsableValue_ListedAndDefaultKept()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CAMERA_SOURCE"] = "synthetic",
            ["CAMERA_FPS"] = "fast",
        }).Build();
        var settings = CaptureConfiguration.FromConfiguration(config, out var errors);
        errors.ShouldHaveSingleItem().ShouldContain("CAMERA_FPS");
        settings.Cameras.Single().Fps.ShouldBe(5);
    }

    [Fact]
    public async Task Start_WithEnvironmentDefaultsAndNoTwin_CapturesFromDefaults()
    {
        var ct = TestContext.Current.CancellationToken;
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["CAMERA_SOURCE"] = "synthetic:160x120@5" }).Build();
        var defaults = new CaptureDefaults(CaptureConfiguration.FromConfiguration(config, out var errors), errors);
        await using var h = new Harness();
        var service = NewService(h.Factory, h, defaults);
        await service.StartAsync(ct);
        try
        {
            await Harness.Eventually(() => service.Cameras.ContainsKey("cam1"), "cam1 from CAMERA_SOURCE");
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            service.Dispose();
        }
    }

    [Fact]
    public async Task Start_TwinAppliedBeforeStart_WinsOverEnvironmentDefaults()
    {
        var ct = TestContext.Current.CancellationToken;
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["CAMERA_SOURCE"] = "synthetic:160x120@5" }).Build();
        var defaults = new CaptureDefaults(CaptureConfiguration.FromConfiguration(config, out var errors), errors);
        await using var h = new Harness();
        var service = NewService(h.Factory, h, defaults);

        // The runtime may apply the cached twin before the hosted services run: an explicit empty list means no cameras.
        (await h.Client.SetDesiredAsync("""{"cameras":[]}""", 7, ct)).Accepted.ShouldBeTrue();
        await service.StartAsync(ct);
        try
        {
            await service.StartupSettingsDone.WaitAsync(TimeSpan.FromSeconds(10), ct);
            service.Cameras.ShouldBeEmpty();
            service.Settings.Cameras.ShouldBeEmpty("the twin's empty list, not the environment's camera");
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
            service.Dispose();
        }
    }

    private static bool RemovedFromStatus(JsonObject patch, string id) =>
        patch["cameraStatus"] is JsonObject status && status.ContainsKey(id) && status[id] is null;

    private CaptureService NewService(IFrameSourceFactory factory, Harness? harness = null, CaptureDefaults? defaults = null)
    {
        var h = harness ?? _h;
        return new CaptureService(
            h.Client,
            factory,
            h.Metrics,
            h.Time,
            Options.Create(new EdgeModuleOptions { StateDirectory = h.StateDirectory }),
            defaults ?? new CaptureDefaults(new CaptureSettings(), []),
            harness is null ? _log : new FakeLogger<CaptureService>());
    }
}
