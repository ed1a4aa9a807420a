using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Runtime;
using Inference.Models;
using Inference.Processing;
using Microsoft.Extensions.Logging.Testing;

namespace Inference.Tests;

/// <summary>The queue's busy-camera rule: frames of different cameras go to different workers, a camera's frames one at a time.</summary>
public sealed class FrameQueueWorkerTests
{
    private static QueuedFrame Frame(string camera, long seq) => new(camera, seq, null, new byte[] { 1 }, null, null, null, 0);

    private static string Id(QueuedFrame f) => $"{f.CameraId}/{f.Seq}";

    [Fact]
    public async Task Dequeue_BusyCamera_ItsFramesWaitUntilComplete()
    {
        var queue = new FrameQueue(4);
        queue.Enqueue(Frame("a", 1));
        queue.Enqueue(Frame("a", 2));
        queue.Enqueue(Frame("b", 1));

        Id(await queue.DequeueAsync(CancellationToken.None)).ShouldBe("a/1");
        Id(await queue.DequeueAsync(CancellationToken.None)).ShouldBe("b/1");
        var third = queue.DequeueAsync(CancellationToken.None).AsTask();
        third.IsCompleted.ShouldBeFalse(); // a/2 is queued but camera a is held
        queue.Complete("b");
        third.IsCompleted.ShouldBeFalse(); // b has nothing queued
        queue.TryDequeue(out _).ShouldBeFalse(); // the single-caller path respects the hold too
        queue.Complete("a");
        Id(await third).ShouldBe("a/2");
        queue.Count.ShouldBe(0);
        Should.Throw<InvalidOperationException>(() => queue.Complete("b"));
    }

    [Fact]
    public async Task Enqueue_WhileCameraBusy_DropsOldestAndCounts()
    {
        var queue = new FrameQueue(2);
        queue.Enqueue(Frame("a", 0));
        (await queue.DequeueAsync(CancellationToken.None)).Seq.ShouldBe(0);
        queue.Enqueue(Frame("a", 1)).ShouldBeNull();
        queue.Enqueue(Frame("a", 2)).ShouldBeNull();
        queue.Enqueue(Frame("a", 3))!.Seq.ShouldBe(1);
        queue.Dropped.ShouldBe(1);
        queue.Count.ShouldBe(2);
        queue.Complete("a");
        (await queue.DequeueAsync(CancellationToken.None)).Seq.ShouldBe(2);
        queue.Complete("a");
        (await queue.DequeueAsync(CancellationToken.None)).Seq.ShouldBe(3);
        queue.Complete("a");
        queue.TryDequeue(out _).ShouldBeFalse();
    }

    [Fact]
    public void TryDequeue_SingleCaller_RoundRobinAcrossCameras()
    {
        var queue = new FrameQueue(4);
        queue.Enqueue(Frame("a", 1));
        queue.Enqueue(Frame("a", 2));
        queue.Enqueue(Frame("b", 1));
        var order = new List<string>();
        while (queue.TryDequeue(out var f))
        {
            order.Add($"{f!.CameraId}/{f.Seq}");
        }

        order.ShouldBe(["a/1", "b/1", "a/2"]);
    }
}

/// <summary>The service's worker loops (<see cref="InferenceOptions.Workers"/>) with a real ONNX session.</summary>
public sealed class InferenceWorkerTests : IAsyncLifetime
{
    private static readonly byte[] V1 = PostProcessingTests.YoloV5Model();
    private static readonly byte[] V2 = TinyModels.Constant([1, 3, 64, 64], TinyModels.Float, ("output0", [1, 8, 7], TinyModels.YoloV5OneBoxRows()));
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("inference-workers-").FullName;
    private readonly ModelServer _server = new();
    private readonly TestModuleClient _client = new();
    private readonly FakeLogger<InferenceService> _serviceLog = new();
    private readonly byte[] _jpeg = InferenceServiceTests.Jpeg(128, 64);
    private ModelManager? _models;
    private InferenceService? _service;

    private InferenceService Service => _service!;

    public ValueTask InitializeAsync()
    {
        _server.Files["v2.onnx"] = V2;
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.StopAsync(CancellationToken.None);
            _service.Dispose();
        }

        _models?.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
        _serviceLog.Collector.GetSnapshot().Where(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Warning).ShouldBeEmpty();
    }

    /// <summary>Starts the hosted service (its worker loops) and waits for the boot model.</summary>
    private async Task StartAsync(int workers, int capacity, Func<QueuedFrame, CancellationToken, Task>? hook = null)
    {
        var options = new InferenceOptions { Workers = workers, QueueCapacityPerCamera = capacity, HeartbeatSeconds = 0, AnnotatedFps = 0, DownloadRetries = 1, DownloadRetryDelaySeconds = 0.01 };
        var defaults = new ModelSettings { Name = "tiny", Version = "1", Url = TinyModels.Write(V1, _dir, "v1.onnx"), Profile = ModelProfile.Yolo };
        _models = new ModelManager(Path.Combine(_dir, "state"), options, new HttpClient(), TimeProvider.System, new FakeLogger<ModelManager>());
        _service = new InferenceService(_client, _models, options, defaults, new ThresholdSettings(), TimeProvider.System, _serviceLog, new InferenceMetrics())
        {
            BeforeInferHook = hook,
        };
        _service.Workers.ShouldBe(workers);
        await _service.StartAsync(CancellationToken.None);
        await WaitUntilAsync(() => _models.Active is not null);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), TimeProvider.System, cts.Token);
        }
    }

    private Task FrameAsync(string camera, long seq)
    {
        var props = new Dictionary<string, string> { ["cameraId"] = camera, ["seq"] = seq.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var message = new EdgeMessage { Body = _jpeg, ContentType = "image/jpeg", Properties = props };
        return _client.Inputs[InferenceService.FramesInput](new InputMessageArguments(InferenceService.FramesInput, message), CancellationToken.None);
    }

    private List<JsonObject> Detections() =>
        [.. _client.SentTo(InferenceService.DetectionsOutput).Select(m => JsonNode.Parse(m.Body.Span)!.AsObject())];

    private List<long> SeqsOf(string camera) =>
        [.. Detections().Where(d => d["cameraId"]!.GetValue<string>() == camera).Select(d => d["seq"]!.GetValue<long>())];

    [Fact]
    public async Task TwoCameras_AreProcessedConcurrently()
    {
        var entered = new ConcurrentDictionary<string, TaskCompletionSource>();
        entered["a"] = new(TaskCreationOptions.RunContinuationsAsynchronously);
        entered["b"] = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await StartAsync(workers: 2, capacity: 2, async (frame, ct) =>
        {
            entered[frame.CameraId].TrySetResult();
            await gate.Task.WaitAsync(ct);
        });

        await FrameAsync("a", 0);
        await FrameAsync("b", 0);

        // Both frames are in flight at once: each worker holds its frame until both have arrived (serial would never get there).
        await Task.WhenAll(entered.Values.Select(t => t.Task)).WaitAsync(Timeout, TestContext.Current.CancellationToken);
        Detections().ShouldBeEmpty();
        gate.SetResult();
        await WaitUntilAsync(() => Detections().Count == 2);
        Detections().Select(d => d["cameraId"]!.GetValue<string>()).Order().ShouldBe(["a", "b"]);
        Detections().ShouldAllBe(d => d["detections"]!.AsArray().Count == 1);
    }

    [Fact]
    public async Task OneCamera_NeverConcurrent_ResultsInSeqOrder()
    {
        const int Cameras = 3;
        const int PerCamera = 20;
        var inFlight = new ConcurrentDictionary<string, int>();
        var overlapPerCamera = 0;
        var total = 0;
        var maxTotal = 0;
        await StartAsync(workers: 4, capacity: 64, async (frame, ct) =>
        {
            if (inFlight.AddOrUpdate(frame.CameraId, 1, (_, n) => n + 1) > 1)
            {
                Interlocked.Increment(ref overlapPerCamera);
            }

            var now = Interlocked.Increment(ref total);
            InterlockedMax(ref maxTotal, now);
            await Task.Delay(TimeSpan.FromMilliseconds(2), TimeProvider.System, ct);
            Interlocked.Decrement(ref total);
            inFlight.AddOrUpdate(frame.CameraId, 0, (_, n) => n - 1);
        });

        for (var seq = 0; seq < PerCamera; seq++)
        {
            for (var c = 0; c < Cameras; c++)
            {
                await FrameAsync($"cam{c}", seq);
            }
        }

        await WaitUntilAsync(() => Service.FramesProcessed == Cameras * PerCamera);
        Volatile.Read(ref overlapPerCamera).ShouldBe(0);
        Volatile.Read(ref maxTotal).ShouldBeGreaterThan(1); // different cameras did overlap
        Service.Queue.Dropped.ShouldBe(0);
        for (var c = 0; c < Cameras; c++)
        {
            SeqsOf($"cam{c}").ShouldBe(Enumerable.Range(0, PerCamera).Select(i => (long)i));
        }

        _models!.Active!.ScratchCount.ShouldBeLessThanOrEqualTo(4);
    }

    [Fact]
    public async Task BusyCamera_LatestFrameDropStillWorks()
    {
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await StartAsync(workers: 2, capacity: 2, async (frame, ct) =>
        {
            if (frame.Seq == 0)
            {
                holding.TrySetResult();
                await gate.Task.WaitAsync(ct);
            }
        });

        await FrameAsync("a", 0);
        await holding.Task.WaitAsync(Timeout, TestContext.Current.CancellationToken);
        for (var seq = 1; seq <= 4; seq++)
        {
            await FrameAsync("a", seq);
        }

        Service.Queue.Dropped.ShouldBe(2); // a/1 and a/2: the idle second worker must not take camera a's frames
        gate.SetResult();
        await WaitUntilAsync(() => Service.FramesProcessed == 3);
        SeqsOf("a").ShouldBe([0, 3, 4]);
    }

    [Fact]
    public async Task HotSwap_UnderConcurrentLoad_LosesNoFrame()
    {
        await StartAsync(workers: 2, capacity: 64);
        _server.Delay = TimeSpan.FromMilliseconds(200);
        var sha = Convert.ToHexStringLower(SHA256.HashData(V2));
        var result = await _client.Desired!(new DesiredPropertiesArguments(JsonNode.Parse(
            $$"""{"model":{"name":"tiny","version":"2","url":"{{_server.Url("v2.onnx")}}","sha256":"{{sha}}","profile":"yolo"} }""")!.AsObject(), 2, false), CancellationToken.None);
        result.Accepted.ShouldBeTrue();

        long seq = 0;
        var afterSwap = 0;
        while (afterSwap < 5)
        {
            if (Service.ModelTask.IsCompleted)
            {
                afterSwap++;
            }

            for (var c = 0; c < 4; c++)
            {
                await FrameAsync($"cam{c}", seq);
            }

            seq++;
            await Task.Delay(TimeSpan.FromMilliseconds(1), TimeProvider.System, TestContext.Current.CancellationToken);
        }

        (await Service.ModelTask).Status.ShouldBe("ready");
        await WaitUntilAsync(() => Service.FramesProcessed == 4 * seq);
        Service.Queue.Dropped.ShouldBe(0);
        for (var c = 0; c < 4; c++)
        {
            SeqsOf($"cam{c}").ShouldBe(Enumerable.Range(0, (int)seq).Select(i => (long)i));
            var versions = Detections().Where(d => d["cameraId"]!.GetValue<string>() == $"cam{c}").Select(d => d["modelVersion"]!.GetValue<string>()).ToList();
            versions.SkipWhile(v => v == "1").ShouldAllBe(v => v == "2");
            versions[^1].ShouldBe("2");
        }

        Detections().Select(d => d["modelVersion"]!.GetValue<string>()).ShouldContain("1");
        JsonSerializer.Serialize(Service.StatusJson()["stats"]).ShouldContain("\"framesFailed\":0");
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
