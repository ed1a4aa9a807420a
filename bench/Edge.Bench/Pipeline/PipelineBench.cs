using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using CameraCapture;
using Edge.Hub;
using Edge.Hub.Supervisor;
using Edge.Runtime;
using Inference;
using Inference.Models;
using Inference.Processing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Edge.Bench.Pipeline;

/// <summary>
/// The whole pipeline as processes — CameraCapture → simulator hub → Inference → hub → <c>$upstream</c> — against the
/// in-process limit: the same read, resize, JPEG encode, decode, preprocess, inference and post-process with the modules' own
/// classes in one tight loop, no messaging, in the same run. Sustained frames/s and capture→upstream latency p50/p99 with 1 and
/// 4 cameras; peak and steady RSS of each module and the hub; process start → first message per module.
/// Usage: pipeline [--seconds 20] [--warmup 6] [--fps 30] [--cameras 1,4] [--config release] [--native (Megamind.avi at its own 23.98 fps)]
/// </summary>
internal sealed class PipelineBench : IBenchSuite
{
    private const int Width = 640;
    private const int Height = 480;

    public string Name => "pipeline";

    public string Description => "capture → hub → inference → hub → $upstream (processes) vs the same work in one loop; fps, latency, RSS, start-up";

    public async Task<int> RunAsync(string[] args)
    {
        var seconds = Arg(args, "--seconds", 20.0);
        var warmup = Arg(args, "--warmup", 6.0);
        var fps = Arg(args, "--fps", 30.0);
        var cameraCounts = (args.SkipWhile(a => a != "--cameras").Skip(1).FirstOrDefault() ?? "1,4").Split(',').Select(int.Parse).ToList();
        var config = args.SkipWhile(a => a != "--config").Skip(1).FirstOrDefault() ?? "release";
        var assets = Environment.GetEnvironmentVariable("EDGE_ASSETS_DIR") is { Length: > 0 } dir
            ? dir : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "edge-assets");
        var megamind = Path.Combine(assets, "Megamind.avi");
        var native = args.Contains("--native");
        var video = native ? megamind : CameraFile(megamind, fps);
        var model = Path.Combine(assets, "face_detection_front_128x128_barracuda.onnx");
        var repo = Edge.TestSupport.Assets.RepoRoot;
        string Dll(string p) => Path.Combine(repo, "artifacts", "bin", p, config, p + ".dll");
        foreach (var p in new[] { "CameraCapture", "Inference" })
        {
            if (!File.Exists(Dll(p)))
            {
                Console.Error.WriteLine($"{Dll(p)} missing: dotnet build -c {config} modules/{p}");
                return 1;
            }
        }

        Console.WriteLine($"load average at the start (1/5/15 min): {LoadAverage()} on {Environment.ProcessorCount} cores");
        Console.WriteLine($"source {(native ? "Megamind.avi (native rate)" : $"Megamind.avi's frames as a {Width}x{Height} Motion-JPEG file at {fps} fps (what a USB camera delivers)")}, resized to {Width}x{Height}, {fps} fps per camera, model {Path.GetFileName(model)}; {warmup} s warm-up + {seconds} s measured per run; modules from artifacts/bin/*/{config}");
        var runs = new List<RunResult>();
        foreach (var cameras in cameraCounts)
        {
            runs.Add(await RunPipelineAsync(cameras, fps, TimeSpan.FromSeconds(warmup), TimeSpan.FromSeconds(seconds), video, model, Dll, measureStartup: cameras == cameraCounts[0]));
        }

        var limit = await RunLimitAsync(video, model, TimeSpan.FromSeconds(seconds));

        // A video file is paced at its own frame rate: a camera cannot deliver more than min(asked, native) frames per second.
        double nativeFps;
        using (var probe = new VideoCapture(video))
        {
            nativeFps = probe.Fps > 0 ? probe.Fps : fps;
        }

        Console.WriteLine($"source native rate {nativeFps:F2} fps");
        Print(runs, limit, Math.Min(fps, nativeFps));
        Console.WriteLine($"\nload average at the end (1/5/15 min): {LoadAverage()} on {Environment.ProcessorCount} cores");
        return 0;
    }

    private static async Task<RunResult> RunPipelineAsync(int cameras, double fps, TimeSpan warmup, TimeSpan measure, string video, string model,
        Func<string, string> dll, bool measureStartup)
    {
        var state = Directory.CreateTempSubdirectory("pipeline-bench-").FullName;
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole(o => o.SingleLine = true).AddFilter("Microsoft.AspNetCore", LogLevel.Error));
        await using var sim = await EdgeHubSimulator.StartAsync(new SimulatorOptions { StateDirectory = Path.Combine(state, "hub"), UpstreamHistory = 10 },
            loggers, TimeProvider.System, CancellationToken.None);
        var arrivals = new List<(DateTimeOffset At, string Source, string Output, double? LatencyMs, DateTimeOffset? Enqueued)>();
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            try
            {
                await foreach (var m in sim.ReadUpstreamAsync(stop.Token))
                {
                    var now = TimeProvider.System.GetUtcNow();
                    double? latency = DateTimeOffset.TryParse(m.Properties.GetValueOrDefault("capturedAt"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                        ? (now - at).TotalMilliseconds : null;
                    DateTimeOffset? enqueued = DateTimeOffset.TryParse(m.SystemProperties.GetValueOrDefault("enqueuedTime"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var e) ? e : null;
                    lock (arrivals)
                    {
                        arrivals.Add((now, m.SourceModuleId, m.OutputName ?? "", latency, enqueued));
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        });

        var launchers = new Dictionary<string, ModuleLaunchSpec>(StringComparer.Ordinal)
        {
            ["CameraCapture"] = new("dotnet", [dll("CameraCapture")], Path.GetDirectoryName(dll("CameraCapture"))),
            ["Inference"] = new("dotnet", [dll("Inference")], Path.GetDirectoryName(dll("Inference"))),
        };
        var supervisor = new ModuleSupervisor(
            new SupervisorOptions { StateDirectory = Path.Combine(state, "modules"), CaCertificatePath = sim.CaCertificatePath, Launchers = launchers, MemorySampleInterval = TimeSpan.FromMilliseconds(250) },
            sim.GetModuleConnectionString, NullLogger<ModuleSupervisor>.Instance, TimeProvider.System);
        var content = Deployment(cameras, fps, video, model, sim.MqttPort, measureStartup);
        await sim.ApplyDeploymentAsync(content, CancellationToken.None);
        var deployedAt = TimeProvider.System.GetUtcNow();
        await supervisor.ApplyAsync((JsonObject)content["$edgeAgent"]!["properties.desired"]!, CancellationToken.None);

        // RSS samples (module processes from the supervisor; the hub is this process, sampled before the limit loop exists).
        var rss = new Dictionary<string, List<(TimeSpan At, long Bytes)>>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        using var self = Process.GetCurrentProcess();
        var sampler = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250), TimeProvider.System);
            while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
            {
                self.Refresh();
                var samples = supervisor.GetStatus().Where(s => s.RssBytes is not null).Select(s => (s.ModuleId, s.RssBytes!.Value)).Append(("hub", self.WorkingSet64));
                lock (rss)
                {
                    foreach (var (id, bytes) in samples)
                    {
                        (rss.TryGetValue(id, out var l) ? l : rss[id] = []).Add((clock.Elapsed, bytes));
                    }
                }
            }
        });

        await Task.Delay(warmup, TimeProvider.System);
        var from = TimeProvider.System.GetUtcNow();
        var steadyFrom = clock.Elapsed;
        await Task.Delay(measure, TimeProvider.System);
        var to = TimeProvider.System.GetUtcNow();
        var modules = supervisor.GetStatus();
        foreach (var module in new[] { "CameraCapture", "Inference" })
        {
            try
            {
                var (_, status) = await sim.InvokeMethodAsync(module, "getStatus", null, TimeSpan.FromSeconds(10), CancellationToken.None);
                var counters = module == "Inference" ? status?["stats"] : status?["cameras"]?["cam1"]?["counters"];
                Console.WriteLine($"  {module} {(module == "Inference" ? "stats" : "cam1 counters")}: {counters?.ToJsonString()}");
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Console.WriteLine($"  {module} getStatus failed: {ex.Message}");
            }
        }

        await stop.CancelAsync();
        await reader;
        try
        {
            await sampler;
        }
        catch (OperationCanceledException)
        {
        }

        List<(DateTimeOffset At, string Source, string Output, double? LatencyMs, DateTimeOffset? Enqueued)> all;
        lock (arrivals)
        {
            all = [.. arrivals];
        }

        var window = all.Where(a => a.Source == "Inference" && a.Output == "detections" && a.At >= from && a.At < to).ToList();
        var latencies = window.Where(a => a.LatencyMs is not null).Select(a => a.LatencyMs!.Value).ToList();
        var startup = new Dictionary<string, double?>(StringComparer.Ordinal);
        if (measureStartup)
        {
            foreach (var (module, output) in new[] { ("CameraCapture", "frames"), ("Inference", "detections") })
            {
                var started = modules.Single(m => m.ModuleId == module).StartTimeUtc ?? deployedAt;
                var first = all.Where(a => a.Source == module && a.Output == output).Select(a => a.Enqueued ?? a.At).DefaultIfEmpty().Min();
                startup[module] = first == default ? null : (first - started).TotalMilliseconds;
            }
        }

        var memory = rss.ToDictionary(p => p.Key, p => (Peak: p.Value.Max(s => s.Bytes), Steady: Median(p.Value.Where(s => s.At >= steadyFrom).Select(s => (double)s.Bytes).ToList())), StringComparer.Ordinal);
        await supervisor.DisposeAsync();
        try
        {
            Directory.Delete(state, recursive: true);
        }
        catch (IOException)
        {
        }

        var result = new RunResult(cameras, window.Count / (to - from).TotalSeconds, Percentile(latencies, 50), Percentile(latencies, 99), memory, startup);
        Console.WriteLine($"pipeline, {cameras} camera(s): {result.Fps:F1} results/s, latency p50 {result.P50:F1} ms p99 {result.P99:F1} ms over {latencies.Count} results");
        return result;
    }

    private static async Task<LimitResult> RunLimitAsync(string video, string model, TimeSpan measure)
    {
        var state = Directory.CreateTempSubdirectory("pipeline-limit-").FullName;
        var options = new InferenceOptions { HeartbeatSeconds = 0.001, AnnotatedFps = 0 };
        using var models = new ModelManager(state, options, new HttpClient(), TimeProvider.System, NullLogger<ModelManager>.Instance);
        using var service = new InferenceService(new DiscardingModuleClient(), models, options, new ModelSettings { Url = model }, new ThresholdSettings(),
            TimeProvider.System, NullLogger<InferenceService>.Instance, new InferenceMetrics());
        await service.StartModelAsync(CancellationToken.None);
        if (models.Status.Status != "ready")
        {
            throw new InvalidOperationException("model did not load: " + models.Status.Error);
        }

        using var capture = new VideoCapture(video);
        using var frame = new Mat();
        using var encoder = new FrameEncoder();
        var latencies = new List<double>();
        long seq = 0;

        async Task<int> Loop(TimeSpan duration, bool record)
        {
            var sw = Stopwatch.StartNew();
            var n = 0;
            while (sw.Elapsed < duration)
            {
                var t0 = Stopwatch.GetTimestamp();
                if (!capture.Read(frame) || frame.Empty())
                {
                    capture.Set(VideoCaptureProperties.PosFrames, 0);
                    continue;
                }

                var jpeg = encoder.Encode(frame, FrameEncoder.TargetSize(frame.Size(), Width, Height), 85, int.MaxValue)!;
                seq++;
                var message = new EdgeMessage
                {
                    Body = jpeg.Bytes,
                    ContentType = "image/jpeg",
                    Properties = new Dictionary<string, string>
                    {
                        ["cameraId"] = "cam1",
                        ["seq"] = seq.ToString(CultureInfo.InvariantCulture),
                        ["width"] = jpeg.Width.ToString(CultureInfo.InvariantCulture),
                        ["height"] = jpeg.Height.ToString(CultureInfo.InvariantCulture),
                        ["capturedAt"] = TimeProvider.System.GetUtcNow().ToString("o", CultureInfo.InvariantCulture),
                    },
                };
                await service.OnFrameAsync(new InputMessageArguments("frames", message), CancellationToken.None);
                await service.ProcessNextAsync(CancellationToken.None);
                if (record)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                }

                n++;
            }

            return n;
        }

        await Loop(TimeSpan.FromSeconds(3), record: false);
        var frames = await Loop(measure, record: true);
        var result = new LimitResult(frames / measure.TotalSeconds, Percentile(latencies, 50), Percentile(latencies, 99));
        Console.WriteLine($"in-process limit: {result.Fps:F1} frames/s, per-frame p50 {result.P50:F1} ms p99 {result.P99:F1} ms");
        try
        {
            Directory.Delete(state, recursive: true);
        }
        catch (IOException)
        {
        }

        return result;
    }

    private static void Print(List<RunResult> runs, LimitResult limit, double fps)
    {
        Console.WriteLine();
        Console.WriteLine("| measure | pipeline | limit / target | ratio |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| in-process limit: frames/s (one loop: read, resize, encode, decode, preprocess, infer, post-process) | | {limit.Fps:F1} | |");
        foreach (var r in runs)
        {
            var offered = fps * r.Cameras;
            var achievable = Math.Min(offered, limit.Fps);
            Console.WriteLine($"| {r.Cameras} camera(s) × {fps:0.##} fps: sustained results/s at $upstream | {r.Fps:F1} | min(offered {offered:0.#}, limit {limit.Fps:F1}) = {achievable:F1} | **{r.Fps / achievable:F2}×** |");
            Console.WriteLine($"| {r.Cameras} camera(s): capture→$upstream latency p50 | {r.P50:F1} ms | target 10 ms (limit per-frame p50 {limit.P50:F1} ms) | {r.P50 / 10:F2}× |");
            Console.WriteLine($"| {r.Cameras} camera(s): capture→$upstream latency p99 | {r.P99:F1} ms | target 30 ms (limit per-frame p99 {limit.P99:F1} ms) | {r.P99 / 30:F2}× |");
            foreach (var (id, m) in r.Memory.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                Console.WriteLine($"| {r.Cameras} camera(s): RSS {id} peak / steady (median) | {m.Peak / 1048576.0:F0} / {m.Steady / 1048576.0:F0} MB | 150 MB per module (reliability-suite.md B2) | {m.Peak / (150.0 * 1048576):F2}× |");
            }

            foreach (var (id, ms) in r.Startup)
            {
                Console.WriteLine($"| start-up {id}: process start → first message at the hub | {(ms is { } v ? $"{v:F0} ms" : "none")} | target 2000 ms | {(ms is { } w ? $"{w / 2000:F2}×" : "-")} |");
            }
        }
    }

    private static JsonObject Deployment(int cameras, double fps, string video, string model, int port, bool framesUpstream)
    {
        var captureEnv = new JsonObject { ["EdgeHubPort"] = V(port.ToString(CultureInfo.InvariantCulture)), ["Capture__StatusReportSeconds"] = V("30") };
        for (var i = 0; i < cameras; i++)
        {
            captureEnv[$"Capture__Cameras__{i}__Id"] = V($"cam{i + 1}");
            captureEnv[$"Capture__Cameras__{i}__Source"] = V(new Uri(video).AbsoluteUri);
            captureEnv[$"Capture__Cameras__{i}__Fps"] = V(fps.ToString(CultureInfo.InvariantCulture));
            captureEnv[$"Capture__Cameras__{i}__Width"] = V(Width.ToString(CultureInfo.InvariantCulture));
            captureEnv[$"Capture__Cameras__{i}__Height"] = V(Height.ToString(CultureInfo.InvariantCulture));
        }

        var inferenceEnv = new JsonObject
        {
            ["EdgeHubPort"] = V(port.ToString(CultureInfo.InvariantCulture)),
            ["Model__Url"] = V(new Uri(model).AbsoluteUri),
            ["Inference__HeartbeatSeconds"] = V("0.001"), // one detections message per processed frame
            ["Inference__AnnotatedFps"] = V("0"),
        };
        var routes = new JsonObject
        {
            ["frames"] = new JsonObject { ["route"] = "FROM /messages/modules/CameraCapture/outputs/frames INTO BrokeredEndpoint(\"/modules/Inference/inputs/frames\")" },
            ["detections"] = new JsonObject { ["route"] = "FROM /messages/modules/Inference/outputs/detections INTO $upstream" },
        };
        if (framesUpstream)
        {
            // Start-up is measured on the first run: its frames also go upstream so the first one is observable.
            routes["framesUp"] = new JsonObject { ["route"] = "FROM /messages/modules/CameraCapture/outputs/frames INTO $upstream" };
        }

        static JsonObject Module(JsonObject env) => new()
        {
            ["version"] = "1.0", ["type"] = "docker", ["status"] = "running", ["restartPolicy"] = "always",
            ["settings"] = new JsonObject { ["image"] = "local/bench:1" }, ["env"] = env,
        };

        return new JsonObject
        {
            ["$edgeAgent"] = new JsonObject
            {
                ["properties.desired"] = new JsonObject
                {
                    ["schemaVersion"] = "1.1",
                    ["runtime"] = new JsonObject { ["type"] = "docker", ["settings"] = new JsonObject() },
                    ["systemModules"] = new JsonObject(),
                    ["modules"] = new JsonObject { ["CameraCapture"] = Module(captureEnv), ["Inference"] = Module(inferenceEnv) },
                },
            },
            ["$edgeHub"] = new JsonObject
            {
                ["properties.desired"] = new JsonObject
                {
                    ["schemaVersion"] = "1.1", ["routes"] = routes,
                    ["storeAndForwardConfiguration"] = new JsonObject { ["timeToLiveSecs"] = 7200 },
                },
            },
            ["CameraCapture"] = new JsonObject { ["properties.desired"] = new JsonObject() },
            ["Inference"] = new JsonObject { ["properties.desired"] = new JsonObject() },
        };

        static JsonObject V(string value) => new() { ["value"] = value };
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        values.Sort();
        return values[Math.Clamp((int)Math.Ceiling(p / 100 * values.Count) - 1, 0, values.Count - 1)];
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(" / ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static double Median(List<double> values) => Percentile(values, 50);

    /// <summary>
    /// The sample video's frames re-encoded as a 640x480 Motion-JPEG AVI at <paramref name="fps"/>: the format and rate of a typical
    /// USB camera, so the pipeline is measured at the issue's 30 fps per camera (Megamind.avi itself plays at 23.98 fps).
    /// </summary>
    private static string CameraFile(string source, double fps)
    {
        var path = Path.Combine(Path.GetTempPath(), $"edge-bench-megamind-{Width}x{Height}-{fps:0.##}fps.avi");
        if (File.Exists(path))
        {
            return path;
        }

        var partial = path + ".partial.avi";
        using (var reader = new VideoCapture(source))
        using (var writer = new VideoWriter(partial, FourCC.MJPG, fps, new OpenCvSharp.Size(Width, Height)))
        using (var frame = new Mat())
        using (var resized = new Mat())
        {
            if (!reader.IsOpened() || !writer.IsOpened())
            {
                throw new InvalidOperationException($"cannot transcode {source} to {partial}");
            }

            while (reader.Read(frame) && !frame.Empty())
            {
                Cv2.Resize(frame, resized, new OpenCvSharp.Size(Width, Height), interpolation: InterpolationFlags.Area);
                writer.Write(resized);
            }
        }

        File.Move(partial, path, overwrite: true);
        return path;
    }

    private static double Arg(string[] args, string name, double fallback) =>
        args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;

    private sealed record RunResult(int Cameras, double Fps, double P50, double P99, Dictionary<string, (long Peak, double Steady)> Memory, Dictionary<string, double?> Startup);

    private sealed record LimitResult(double Fps, double P50, double P99);
}
