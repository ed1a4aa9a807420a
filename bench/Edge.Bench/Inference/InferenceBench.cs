using System.Diagnostics;
using System.Globalization;
using Edge.Runtime;
using Inference;
using Inference.Models;
using Inference.Processing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using OpenCvSharp;

namespace Edge.Bench.Inference;

/// <summary>
/// The module's frame path (input handler → latest-frame queue → decode → preprocess → infer → post-process → detections
/// message) against a bare loop (ImDecode + Resize + tensor fill + Session.Run) on the same JPEGs with the same session
/// options, interleaved in one process; plus managed allocations per frame and RSS with the default model.
/// Usage: inference [--frames N] [--rounds R] [--model path]
/// </summary>
internal sealed class InferenceBench : IBenchSuite
{
    public string Name => "inference";

    public string Description => "Inference module frame path vs bare decode+resize+Session.Run; allocations/frame; RSS";

    public async Task<int> RunAsync(string[] args)
    {
        var frames = Arg(args, "--frames", 300);
        var rounds = Arg(args, "--rounds", 5);
        var assets = Environment.GetEnvironmentVariable("EDGE_ASSETS_DIR") is { Length: > 0 } d
            ? d : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "edge-assets");
        var modelPath = args.SkipWhile(a => a != "--model").Skip(1).FirstOrDefault() ?? Path.Combine(assets, "face_detection_front_128x128_barracuda.onnx");
        var jpegs = LoadJpegs(Path.Combine(assets, "Megamind.avi"), 60);
        Console.WriteLine($"{jpegs.Count} JPEG frames {jpegs[0].Width}x{jpegs[0].Height} (q90, mean {jpegs.Average(j => j.Bytes.Length) / 1024:F0} KB) from Megamind.avi; model {Path.GetFileName(modelPath)}; {frames} frames x {rounds} rounds, interleaved");

        var state = Directory.CreateTempSubdirectory("inference-bench-").FullName;
        var options = new InferenceOptions { HeartbeatSeconds = 0, AnnotatedFps = 0, IntraOpThreads = 1 };
        using var models = new ModelManager(state, options, new HttpClient(), TimeProvider.System, NullLogger<ModelManager>.Instance);
        var client = new DiscardingModuleClient();
        using var service = new InferenceService(client, models, options, new ModelSettings { Url = modelPath }, new ThresholdSettings(),
            TimeProvider.System, NullLogger<InferenceService>.Instance, new InferenceMetrics());
        await service.StartModelAsync(CancellationToken.None);
        if (models.Status.Status != "ready")
        {
            Console.Error.WriteLine("model did not load: " + models.Status.Error);
            return 1;
        }

        var fullOptions = new InferenceOptions { HeartbeatSeconds = 0, AnnotatedFps = 0, IntraOpThreads = 1, ReducedDecode = false };
        using var full = new InferenceService(client, models, fullOptions, new ModelSettings { Url = modelPath }, new ThresholdSettings(),
            TimeProvider.System, NullLogger<InferenceService>.Instance, new InferenceMetrics());
        var seq = 0L;

        async Task<(double Wall, double Cpu)> ModuleRound(int n, InferenceService svc)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < n; i++)
            {
                var j = jpegs[i % jpegs.Count];
                await svc.OnFrameAsync(new InputMessageArguments("frames", j.Message(seq++)), CancellationToken.None);
                await svc.ProcessNextAsync(CancellationToken.None);
            }

            return (n / sw.Elapsed.TotalSeconds, n / (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
        }

        (double Wall, double Cpu) BareRound(int n, BareLoop bare)
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < n; i++)
            {
                bare.Run(jpegs[i % jpegs.Count].Bytes);
            }

            return (n / sw.Elapsed.TotalSeconds, n / (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
        }

        // Warm-up; RSS of the module alone (default model, both service instances) before the bare session exists.
        await ModuleRound(100, service);
        await ModuleRound(100, full);
        GC.Collect();
        var rssMb = Process.GetCurrentProcess().WorkingSet64 / 1024.0 / 1024.0;
        using var bare = new BareLoop(modelPath, options.IntraOpThreads);
        BareRound(50, bare);
        var module = new List<(double Wall, double Cpu)>();
        var moduleFull = new List<(double Wall, double Cpu)>();
        var bareFps = new List<(double Wall, double Cpu)>();
        for (var r = 0; r < rounds; r++)
        {
            module.Add(await ModuleRound(frames, service));
            moduleFull.Add(await ModuleRound(frames, full));
            bareFps.Add(BareRound(frames, bare));
        }

        // Managed allocations per frame on the module path (all awaits complete synchronously here: same thread).
        var before = GC.GetAllocatedBytesForCurrentThread();
        await ModuleRound(frames, full);
        var perFrame = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)frames;
        var frameBytes = jpegs[0].Width * jpegs[0].Height * 3;

        var m = Median(module.Select(x => x.Wall));
        var mf = Median(moduleFull.Select(x => x.Wall));
        var b = Median(bareFps.Select(x => x.Wall));
        var mc = Median(module.Select(x => x.Cpu));
        var mfc = Median(moduleFull.Select(x => x.Cpu));
        var bc = Median(bareFps.Select(x => x.Cpu));
        Console.WriteLine();
        Console.WriteLine("| measure | module | limit | ratio |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| frames/s, full-size decode (median of {rounds}) | {mf:F0} | bare loop {b:F0} (target ≥ 0.8×) | **{mf / b:F2}×** |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| frames/s, reduced decode (default) | {m:F0} | bare loop {b:F0} | **{m / b:F2}×** |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| frames per CPU-second, full-size decode | {mfc:F0} | bare loop {bc:F0} | **{mfc / bc:F2}×** |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| frames per CPU-second, reduced decode | {mc:F0} | bare loop {bc:F0} | **{mc / bc:F2}×** |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| managed bytes allocated per frame | {perFrame:F0} B | one decoded frame {frameBytes} B | {perFrame / frameBytes:F4}× |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| RSS, module with the default model (before the bare session) | {rssMb:F0} MB | 150 MB | {rssMb / 150:F2}× |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| module latency p50 / p99 (decode→post-process) | {service.StatusJson()["stats"]!["latencyP50Ms"]} / {service.StatusJson()["stats"]!["latencyP99Ms"]} ms | | |"));
        Console.WriteLine($"rounds reduced: {string.Join(", ", module.Select(x => x.Wall.ToString("F0", CultureInfo.InvariantCulture)))}; full: {string.Join(", ", moduleFull.Select(x => x.Wall.ToString("F0", CultureInfo.InvariantCulture)))}; bare: {string.Join(", ", bareFps.Select(x => x.Wall.ToString("F0", CultureInfo.InvariantCulture)))}; messages {client.Count}");
        Directory.Delete(state, recursive: true);
        return mf / b >= 0.8 ? 0 : 1;
    }

    private static double Median(IEnumerable<double> v) => v.Order().ElementAt(v.Count() / 2);

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static List<Jpeg> LoadJpegs(string video, int count)
    {
        using var capture = new VideoCapture(video);
        var list = new List<Jpeg>();
        using var frame = new Mat();
        while (list.Count < count && capture.Read(frame) && !frame.Empty())
        {
            Cv2.ImEncode(".jpg", frame, out var bytes, new ImageEncodingParam(ImwriteFlags.JpegQuality, 90));
            list.Add(new Jpeg(bytes, frame.Width, frame.Height));
        }

        return list;
    }

    private sealed record Jpeg(byte[] Bytes, int Width, int Height)
    {
        public EdgeMessage Message(long seq)
        {
            var props = new Dictionary<string, string>
            {
                ["cameraId"] = "bench",
                ["capturedAt"] = "2026-01-01T00:00:00Z",
                ["seq"] = seq.ToString(CultureInfo.InvariantCulture),
                ["width"] = Width.ToString(CultureInfo.InvariantCulture),
                ["height"] = Height.ToString(CultureInfo.InvariantCulture),
            };
            return new EdgeMessage { Body = Bytes, ContentType = "image/jpeg", Properties = props };
        }
    }

    /// <summary>The limit: the least work that can produce the same model output.</summary>
    private sealed class BareLoop : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly float[] _input = new float[128 * 128 * 3];
        private readonly OrtValue _value;
        private readonly Mat _resized = new();
        private readonly string[] _inputs;
        private readonly string[] _outputs;
        private readonly RunOptions _run = new();

        public BareLoop(string model, int threads)
        {
            using var o = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = threads };
            _session = new InferenceSession(model, o);
            _inputs = [.. _session.InputMetadata.Keys];
            _outputs = [.. _session.OutputMetadata.Keys];
            _value = OrtValue.CreateTensorValueFromMemory(_input, [1, 128, 128, 3]);
        }

        public void Run(byte[] jpeg)
        {
            using var image = Cv2.ImDecode(jpeg, ImreadModes.Color);
            Cv2.Resize(image, _resized, new Size(128, 128));
            ReadOnlySpan<byte> src = _resized.AsSpan<byte>();
            for (var i = 0; i < _input.Length; i++)
            {
                _input[i] = (src[i] / 127.5f) - 1f;
            }

            using var results = _session.Run(_run, _inputs, [_value], _outputs);
        }

        public void Dispose()
        {
            _value.Dispose();
            _resized.Dispose();
            _run.Dispose();
            _session.Dispose();
        }
    }
}
