using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Runtime;
using Edge.TestSupport;
using Inference.Models;
using Inference.Processing;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using OpenCvSharp;

namespace Inference.Tests;

public sealed class InferenceServiceTests : IAsyncLifetime
{
    private static readonly byte[] V1 = PostProcessingTests.YoloV5Model(); // best class 1 = "bicycle" (COCO), score 0.72
    private static readonly byte[] V2 = TinyModels.Constant([1, 3, 64, 64], TinyModels.Float, ("output0", [1, 8, 7], TinyModels.YoloV5OneBoxRows()));
    private readonly string _dir = Directory.CreateTempSubdirectory("inference-svc-").FullName;
    private readonly ModelServer _server = new();
    private readonly TestModuleClient _client = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeLogger<InferenceService> _serviceLog = new();
    private readonly FakeLogger<ModelManager> _modelLog = new();
    private readonly byte[] _jpeg = Jpeg(128, 64);
    private ModelManager? _models;
    private InferenceService? _service;

    private InferenceService Service => _service!;

    public ValueTask InitializeAsync()
    {
        _server.Files["v1.onnx"] = V1;
        _server.Files["v2.onnx"] = V2;
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _service?.Dispose();
        _models?.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
        _serviceLog.Collector.GetSnapshot().Where(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Error).ShouldBeEmpty();
    }

    internal static byte[] Jpeg(int width, int height)
    {
        using var m = new Mat(height, width, MatType.CV_8UC3, new Scalar(40, 90, 160));
        return m.ImEncode(".jpg");
    }

    private static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    private async Task<InferenceService> StartAsync(InferenceOptions? options = null, ModelSettings? defaults = null, string? stateDir = null)
    {
        options ??= new InferenceOptions { HeartbeatSeconds = 0, AnnotatedFps = 0, DownloadRetries = 1, DownloadRetryDelaySeconds = 0.01, DownloadTimeoutSeconds = 10 };
        defaults ??= new ModelSettings { Name = "tiny", Version = "1", Url = TinyModels.Write(V1, _dir, "v1.onnx"), Profile = ModelProfile.Yolo };
        _models = new ModelManager(stateDir ?? Path.Combine(_dir, "state"), options, new HttpClient(), TimeProvider.System, _modelLog);
        _service = new InferenceService(_client, _models, options, defaults, new ThresholdSettings(), _time, _serviceLog, new InferenceMetrics());
        await _service.StartModelAsync(CancellationToken.None);
        return _service;
    }

    private Task FrameAsync(long seq, string camera = "cam1", byte[]? body = null, Dictionary<string, string>? extra = null)
    {
        var props = new Dictionary<string, string> { ["cameraId"] = camera, ["seq"] = seq.ToString(), ["capturedAt"] = "2026-11-25T12:00:00.0000000Z" };
        foreach (var (k, v) in extra ?? [])
        {
            props[k] = v;
        }

        var message = new EdgeMessage { Body = body ?? _jpeg, ContentType = "image/jpeg", Properties = props };
        return _client.Inputs[InferenceService.FramesInput](new InputMessageArguments(InferenceService.FramesInput, message), CancellationToken.None);
    }

    private async Task<DesiredPropertiesResult> DesiredAsync(string json)
    {
        var result = await _client.Desired!(new DesiredPropertiesArguments(JsonNode.Parse(json)!.AsObject(), 2, false), CancellationToken.None);
        await Service.ModelTask;
        return result;
    }

    private List<JsonObject> Detections() =>
        [.. _client.SentTo(InferenceService.DetectionsOutput).Select(m => JsonNode.Parse(m.Body.Span)!.AsObject())];

    private async Task<JsonObject> ProcessOneAsync(long seq)
    {
        await FrameAsync(seq);
        (await Service.ProcessNextAsync(CancellationToken.None)).ShouldBeTrue();
        return Detections()[^1];
    }

    [Fact]
    public async Task Frame_WithDetection_SendsDetectionsMessageWithTrackingProperties()
    {
        await StartAsync();
        await FrameAsync(7);
        await Service.ProcessNextAsync(CancellationToken.None);

        var (output, message) = _client.Sent.ShouldHaveSingleItem();
        output.ShouldBe("detections");
        message.ContentType.ShouldBe("application/json");
        message.ContentEncoding.ShouldBe("utf-8");
        message.Properties["cameraId"].ShouldBe("cam1");
        message.Properties["seq"].ShouldBe("7");
        message.Properties["capturedAt"].ShouldBe("2026-11-25T12:00:00.0000000Z");
        var body = JsonNode.Parse(message.Body.Span)!;
        body["cameraId"]!.GetValue<string>().ShouldBe("cam1");
        body["seq"]!.GetValue<long>().ShouldBe(7);
        body["model"]!.GetValue<string>().ShouldBe("tiny");
        body["modelVersion"]!.GetValue<string>().ShouldBe("1");
        body["inferredAt"]!.GetValue<DateTimeOffset>().ShouldBe(_time.GetUtcNow());
        var d = body["detections"]!.AsArray().ShouldHaveSingleItem()!;
        d["label"]!.GetValue<string>().ShouldBe("bicycle");
        d["score"]!.GetValue<float>().ShouldBe(0.72f, 1e-4f);
        d["box"]!["x"]!.GetValue<float>().ShouldBe(0.25f, 1e-4f);
        d["box"]!["w"]!.GetValue<float>().ShouldBe(0.5f, 1e-4f);
    }

    [Fact]
    public async Task HotSwap_GoodV2_ReplacesV1LiveWithNoFrameLost()
    {
        await StartAsync();
        _server.Delay = TimeSpan.FromMilliseconds(300);
        var result = await _client.Desired!(new DesiredPropertiesArguments(JsonNode.Parse(
            $$"""{"model":{"name":"tiny","version":"2","url":"{{_server.Url("v2.onnx")}}","sha256":"{{Sha(V2)}}","profile":"yolo"} }""")!.AsObject(), 2, false), CancellationToken.None);
        result.Accepted.ShouldBeTrue();

        // Frames keep flowing while v2 downloads, loads and warms up.
        long seq = 0;
        while (!Service.ModelTask.IsCompleted)
        {
            await ProcessOneAsync(seq++);
        }

        (await Service.ModelTask).Status.ShouldBe("ready");
        for (var i = 0; i < 3; i++)
        {
            await ProcessOneAsync(seq++);
        }

        var messages = Detections();
        messages.Select(m => m["seq"]!.GetValue<long>()).ShouldBe(Enumerable.Range(0, (int)seq).Select(i => (long)i));
        var versions = messages.Select(m => m["modelVersion"]!.GetValue<string>()).ToList();
        versions[0].ShouldBe("1"); // served by v1 while v2 was downloading
        versions.SkipWhile(v => v == "1").ShouldAllBe(v => v == "2");
        versions[^1].ShouldBe("2");
        messages[^1]["detections"]![0]!["label"]!.GetValue<string>().ShouldBe("person");
        _client.Reported.Select(r => r["model"]?["status"]?.GetValue<string>()).ShouldContain("ready");
        _models!.Status.Sha256.ShouldBe(Sha(V2));
    }

    [Fact]
    public async Task HotSwap_WithLabelsUrl_UsesTheLabelsFile()
    {
        _server.Files["labels.txt"] = "hat\nscarf\n"u8.ToArray();
        await StartAsync();
        var result = await DesiredAsync($$"""{"model":{"name":"tiny","version":"1","url":"{{_server.Url("v1.onnx")}}","sha256":"{{Sha(V1)}}","profile":"yolo","labelsUrl":"{{_server.Url("labels.txt")}}"} }""");
        result.Accepted.ShouldBeTrue();
        _models!.Status.Status.ShouldBe("ready");
        (await ProcessOneAsync(0))["detections"]![0]!["label"]!.GetValue<string>().ShouldBe("scarf");
    }

    [Fact]
    public async Task HotSwap_HashMismatch_KeepsV1AndReportsWhy()
    {
        await StartAsync();
        var status = await FailingSwapAsync(_server.Url("v2.onnx"), new string('a', 64));
        status.Error!.ShouldContain("sha256 mismatch");
        status.Error!.ShouldContain("still serving tiny 1");
    }

    [Fact]
    public async Task HotSwap_CorruptFile_KeepsV1AndReportsWhy()
    {
        var junk = "not an onnx file at all"u8.ToArray();
        _server.Files["junk.onnx"] = junk;
        await StartAsync();
        (await FailingSwapAsync(_server.Url("junk.onnx"), Sha(junk))).Error!.ShouldStartWith("not a loadable ONNX model");
    }

    [Fact]
    public async Task HotSwap_WrongInputShape_KeepsV1AndReportsWhy()
    {
        var gray = TinyModels.Constant([1, 1, 64, 64], TinyModels.Float, ("output0", [1, 8, 7], TinyModels.YoloV5OneBoxRows()));
        _server.Files["gray.onnx"] = gray;
        await StartAsync();
        (await FailingSwapAsync(_server.Url("gray.onnx"), Sha(gray))).Error!.ShouldContain("input 'images' [1,1,64,64]");
    }

    [Fact]
    public async Task HotSwap_UnreachableUrl_KeepsV1AndReportsWhy()
    {
        await StartAsync();
        var url = $"http://127.0.0.1:{LoopbackPort.Free()}/v2.onnx";
        (await FailingSwapAsync(url, Sha(V2))).Error!.ShouldStartWith("download failed");
    }

    private async Task<ModelStatus> FailingSwapAsync(string url, string sha)
    {
        var before = await ProcessOneAsync(0);
        var result = await DesiredAsync($$"""{"model":{"name":"tiny","version":"2","url":"{{url}}","sha256":"{{sha}}","profile":"yolo"} }""");
        result.Accepted.ShouldBeTrue();
        var status = _models!.Status;
        status.Status.ShouldBe("failed");
        status.Version.ShouldBe("1");
        var after = await ProcessOneAsync(1);
        before["modelVersion"]!.GetValue<string>().ShouldBe("1");
        after["modelVersion"]!.GetValue<string>().ShouldBe("1");
        after["detections"]![0]!["label"]!.GetValue<string>().ShouldBe("bicycle");
        var reported = _client.Reported.Last(r => r["model"] is not null)["model"]!;
        reported["status"]!.GetValue<string>().ShouldBe("failed");
        reported["error"]!.GetValue<string>().ShouldBe(status.Error);
        return status;
    }

    [Fact]
    public async Task Thresholds_ChangedByTwin_ChangeTheNextFrame()
    {
        await StartAsync();
        (await ProcessOneAsync(0))["detections"]!.AsArray().Count.ShouldBe(1);

        var result = await DesiredAsync("""{"thresholds":{"minScore":0.8}}""");
        result.Accepted.ShouldBeTrue();
        result.Reported!["thresholds"]!["minScore"]!.GetValue<double>().ShouldBe(0.8);
        await FrameAsync(1);
        await Service.ProcessNextAsync(CancellationToken.None);
        Detections().Count.ShouldBe(1); // nothing passes 0.8 and the heartbeat is off

        (await DesiredAsync("""{"thresholds":{"minScore":0.5,"nmsIou":0.99}}""")).Accepted.ShouldBeTrue();
        (await ProcessOneAsync(2))["detections"]!.AsArray().Count.ShouldBe(2);
    }

    [Fact]
    public async Task Desired_InvalidThresholds_RejectedWithPathAndOldKept()
    {
        await StartAsync();
        var result = await DesiredAsync("""{"thresholds":{"minScore":1.5,"maxDetections":0}}""");
        result.Accepted.ShouldBeFalse();
        result.Error!.ShouldContain("thresholds.minScore");
        result.Error!.ShouldContain("thresholds.maxDetections");
        Service.Thresholds.MinScore.ShouldBe(0.5);
        (await ProcessOneAsync(0))["detections"]!.AsArray().Count.ShouldBe(1);
    }

    [Fact]
    public async Task Desired_HttpModelWithoutSha_Rejected()
    {
        await StartAsync();
        var result = await DesiredAsync($$"""{"model":{"url":"{{_server.Url("v2.onnx")}}","profile":"yolo"} }""");
        result.Accepted.ShouldBeFalse();
        result.Error!.ShouldContain("sha256");
        _server.Requests.ShouldBe(0);
    }

    [Fact]
    public async Task Frame_ByReference_IsReadVerifiedAndCorruptOnesSkipped()
    {
        await StartAsync();
        var path = Path.Combine(_dir, "frame.jpg");
        File.WriteAllBytes(path, _jpeg);
        var refProps = new Dictionary<string, string> { ["frameRef"] = path, ["frameSize"] = _jpeg.Length.ToString(), ["frameSha256"] = Sha(_jpeg) };

        await FrameAsync(0, body: [], extra: refProps);
        await Service.ProcessNextAsync(CancellationToken.None);
        Detections().ShouldHaveSingleItem()["seq"]!.GetValue<long>().ShouldBe(0);

        await FrameAsync(1, body: [], extra: new(refProps) { ["frameSha256"] = new string('0', 64) });
        await FrameAsync(2, camera: "cam2", body: [], extra: new(refProps) { ["frameRef"] = Path.Combine(_dir, "missing.jpg") });
        await FrameAsync(3, camera: "cam3", body: "garbage"u8.ToArray());
        await FrameAsync(4, camera: "cam4", body: []);
        while (await Service.ProcessNextAsync(CancellationToken.None))
        {
        }

        Detections().Count.ShouldBe(1);
        Service.FramesInvalid.ShouldBe(4);
        Service.FramesProcessed.ShouldBe(1);
        _serviceLog.Collector.GetSnapshot().Count(r => r.Id.Id == InferenceEventIds.FrameSkipped).ShouldBe(4);
    }

    [Fact]
    public async Task Frame_ByReferenceOutsideFrameRefRoot_IsSkipped()
    {
        await StartAsync(new InferenceOptions { HeartbeatSeconds = 0, AnnotatedFps = 0, FrameRefRoot = Path.Combine(_dir, "frames") });
        Directory.CreateDirectory(Path.Combine(_dir, "frames"));
        var inside = Path.Combine(_dir, "frames", "a.jpg");
        var outside = Path.Combine(_dir, "b.jpg");
        File.WriteAllBytes(inside, _jpeg);
        File.WriteAllBytes(outside, _jpeg);

        await FrameAsync(0, body: [], extra: new() { ["frameRef"] = inside });
        await FrameAsync(0, camera: "cam2", body: [], extra: new() { ["frameRef"] = outside });
        await FrameAsync(0, camera: "cam3", body: [], extra: new() { ["frameRef"] = Path.Combine(_dir, "frames", "..", "b.jpg") });
        while (await Service.ProcessNextAsync(CancellationToken.None))
        {
        }

        Detections().ShouldHaveSingleItem()["cameraId"]!.GetValue<string>().ShouldBe("cam1");
        Service.FramesInvalid.ShouldBe(2);
    }

    [Fact]
    public async Task Frames_FasterThanInference_DropOldestPerCameraAndCount()
    {
        await StartAsync();
        for (var i = 0; i < 5; i++)
        {
            await FrameAsync(i);
        }

        await FrameAsync(0, camera: "cam2");
        await FrameAsync(4); // a redelivered duplicate is ignored
        while (await Service.ProcessNextAsync(CancellationToken.None))
        {
        }

        Service.Queue.Dropped.ShouldBe(3);
        Detections().Select(d => $"{d["cameraId"]}/{d["seq"]}").ShouldBe(["cam1/3", "cam2/0", "cam1/4"]);
        var status = (await _client.Methods["getStatus"](new MethodRequestArguments("getStatus", default), CancellationToken.None)).Payload!;
        status["stats"]!["framesDropped"]!.GetValue<long>().ShouldBe(3);
        status["stats"]!["framesProcessed"]!.GetValue<long>().ShouldBe(3);
        status["stats"]!["framesDuplicate"]!.GetValue<long>().ShouldBe(1);
        status["stats"]!["latencyP99Ms"].ShouldNotBeNull();
        status["model"]!["status"]!.GetValue<string>().ShouldBe("ready");
    }

    [Fact]
    public async Task Heartbeat_NoDetections_SendsEmptyMessageEveryInterval()
    {
        await StartAsync(new InferenceOptions { HeartbeatSeconds = 10, AnnotatedFps = 0 });
        (await DesiredAsync("""{"thresholds":{"minScore":0.99}}""")).Accepted.ShouldBeTrue();
        for (var i = 0; i < 3; i++)
        {
            await FrameAsync(i);
            await Service.ProcessNextAsync(CancellationToken.None);
            _time.Advance(TimeSpan.FromSeconds(4));
        }

        // t=0 heartbeat, t=4 and t=8 nothing, t=12 heartbeat.
        await FrameAsync(3);
        await Service.ProcessNextAsync(CancellationToken.None);
        Detections().Select(d => d["seq"]!.GetValue<long>()).ShouldBe([0L, 3L]);
        Detections().ShouldAllBe(d => d["detections"]!.AsArray().Count == 0);
    }

    [Fact]
    public async Task Annotated_RateLimitedPerCamera_SendsJpegWithBoxes()
    {
        await StartAsync(new InferenceOptions { HeartbeatSeconds = 0, AnnotatedFps = 2 });
        for (var i = 0; i < 3; i++)
        {
            await FrameAsync(i);
            await Service.ProcessNextAsync(CancellationToken.None);
            _time.Advance(TimeSpan.FromMilliseconds(300));
        }

        var annotated = _client.SentTo(InferenceService.AnnotatedOutput).ToList();
        annotated.Select(a => a.Properties["seq"]).ShouldBe(["0", "2"]);
        annotated[0].ContentType.ShouldBe("image/jpeg");
        using var image = Cv2.ImDecode(annotated[0].Body.Span, ImreadModes.Color);
        image.Width.ShouldBe(128);
        var plain = Cv2.ImDecode(_jpeg, ImreadModes.Color);
        using (plain)
        {
            Cv2.Norm(image, plain, NormTypes.L1).ShouldBeGreaterThan(1000); // boxes were drawn
        }
    }

    [Fact]
    public async Task Boot_OfflineWithMissingDefault_ServesLastGoodModelFromCache()
    {
        var state = Path.Combine(_dir, "state");
        await StartAsync(stateDir: state);
        (await DesiredAsync($$"""{"model":{"name":"tiny","version":"2","url":"{{_server.Url("v2.onnx")}}","sha256":"{{Sha(V2)}}","profile":"yolo"} }""")).Accepted.ShouldBeTrue();
        _service!.Dispose();
        _models!.Dispose();
        await _server.DisposeAsync();

        var missing = new ModelSettings { Url = Path.Combine(_dir, "nowhere.onnx"), Profile = ModelProfile.Yolo };
        await StartAsync(defaults: missing, stateDir: state);

        _models!.Status.Status.ShouldBe("ready");
        _models.Status.Version.ShouldBe("2");
        (await ProcessOneAsync(0))["detections"]![0]!["label"]!.GetValue<string>().ShouldBe("person");

        // The cached twin (FromCache) asks for the same http model while the server is gone: served from the hash cache.
        var cached = await _client.Desired!(new DesiredPropertiesArguments(JsonNode.Parse(
            $$"""{"model":{"name":"tiny","version":"2","url":"{{_server.Url("v2.onnx")}}","sha256":"{{Sha(V2)}}","profile":"yolo"} }""")!.AsObject(), 2, true), CancellationToken.None);
        cached.Accepted.ShouldBeTrue();
        (await Service.ModelTask).Status.ShouldBe("ready");
        _models.Status.Version.ShouldBe("2");
    }

    [Fact]
    public async Task ReloadModel_Method_ReloadsAndReportsStatus()
    {
        await StartAsync();
        var response = await _client.Methods["reloadModel"](new MethodRequestArguments("reloadModel", default), CancellationToken.None);
        response.Status.ShouldBe(200);
        response.Payload!["model"]!["status"]!.GetValue<string>().ShouldBe("ready");
        _client.Reported.Count(r => r["model"]?["status"]?.GetValue<string>() == "loading").ShouldBe(2);
    }

    [Fact]
    public async Task Service_RealBlazeFaceOnMegamindJpeg_DetectsTheFace()
    {
        await StartAsync(defaults: new ModelSettings());
        using var frame = BlazeFaceTests.MegamindFrame100();
        await FrameAsync(100, body: frame.ImEncode(".jpg"));
        await Service.ProcessNextAsync(CancellationToken.None);
        var d = Detections().ShouldHaveSingleItem()["detections"]!.AsArray().ShouldHaveSingleItem()!;
        d["label"]!.GetValue<string>().ShouldBe("face");
        (d["box"]!["x"]!.GetValue<float>() * 720).ShouldBe(420, 10);
        d["keypoints"]!.AsArray().Count.ShouldBe(6);
        JsonSerializer.Serialize(Detections()[0]).Length.ShouldBeLessThan(2000);
    }
}

public sealed class ReducedDecodeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("inference-rd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Frame_WithSizeProperties_ReducedOrFullDecodeFindsTheSameFace(bool reduced)
    {
        var options = new InferenceOptions { HeartbeatSeconds = 0, AnnotatedFps = 0, ReducedDecode = reduced };
        using var models = new ModelManager(_dir, options, new HttpClient(), TimeProvider.System, new FakeLogger<ModelManager>());
        var client = new TestModuleClient();
        using var service = new InferenceService(client, models, options, new ModelSettings(), new ThresholdSettings(), TimeProvider.System,
            new FakeLogger<InferenceService>(), new InferenceMetrics());
        await service.StartModelAsync(CancellationToken.None);
        using var frame = BlazeFaceTests.MegamindFrame100();
        var props = new Dictionary<string, string> { ["cameraId"] = "c", ["seq"] = "1", ["width"] = "720", ["height"] = "528" };
        await client.Inputs["frames"](new InputMessageArguments("frames", new EdgeMessage { Body = frame.ImEncode(".jpg"), Properties = props }), CancellationToken.None);
        await service.ProcessNextAsync(CancellationToken.None);

        var body = JsonNode.Parse(client.SentTo("detections").ShouldHaveSingleItem().Body.Span)!;
        body["frameWidth"]!.GetValue<int>().ShouldBe(720);
        body["frameHeight"]!.GetValue<int>().ShouldBe(528);
        var d = body["detections"]!.AsArray().ShouldHaveSingleItem()!;
        d["score"]!.GetValue<float>().ShouldBeGreaterThan(0.8f);
        (d["box"]!["x"]!.GetValue<float>() * 720).ShouldBe(420, 8);
        (d["box"]!["y"]!.GetValue<float>() * 528).ShouldBe(141, 8);
        (d["box"]!["w"]!.GetValue<float>() * 720).ShouldBe(147, 8);
    }
}

public sealed class NoModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("inference-nm-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Boot_ModelMissing_ReportsWhyAndSkipsFramesWithoutCrashing()
    {
        var options = new InferenceOptions { HeartbeatSeconds = 0, AnnotatedFps = 0 };
        using var models = new ModelManager(_dir, options, new HttpClient(), TimeProvider.System, new FakeLogger<ModelManager>());
        var client = new TestModuleClient();
        var log = new FakeLogger<InferenceService>();
        using var service = new InferenceService(client, models, options, new ModelSettings { Url = Path.Combine(_dir, "none.onnx") }, new ThresholdSettings(),
            TimeProvider.System, log, new InferenceMetrics());
        await service.StartModelAsync(CancellationToken.None);

        models.Status.Status.ShouldBe("failed");
        models.Status.Error!.ShouldContain("model file not found");
        models.Status.Error!.ShouldContain("no model in service");
        for (var i = 0; i < 150; i++)
        {
            await client.Inputs["frames"](new InputMessageArguments("frames", new EdgeMessage { Body = new byte[] { 1 }, Properties = new Dictionary<string, string> { ["seq"] = i.ToString() } }), CancellationToken.None);
            await service.ProcessNextAsync(CancellationToken.None);
        }

        service.FramesInvalid.ShouldBe(150);
        log.Collector.GetSnapshot().Count(r => r.Id.Id == InferenceEventIds.FrameSkipped).ShouldBe(2);
        client.Sent.ShouldBeEmpty();
    }
}
