using System.Diagnostics;
using System.Globalization;
using CameraCapture;
using Edge.Runtime;
using Edge.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;

namespace Edge.Bench.Capture;

/// <summary>
/// <c>capture</c>: (1) capture-and-encode throughput and CPU per frame of the module's camera pipeline for 640x480 against a
/// raw OpenCvSharp read+encode loop, in the same process and run; (2) resident memory of the real CameraCapture process with
/// four cameras, connected to a TLS test edgeHub. Options: <c>--seconds N</c> (per throughput phase, default 8),
/// <c>--rss-seconds N</c> (default 30), <c>--skip-rss</c>. Diagnostics: <c>--phase raw|rawpaced|packets|pipe|paced|rss</c> runs one
/// phase alone (after a warm-up of <c>BENCH_WARMUP</c> seconds, default 1) and prints CPU per thread, for <c>perf record</c>;
/// <c>rss</c> takes <c>BENCH_CAMERAS</c> (default 4) and copies the module's smaps to <c>BENCH_SMAPS</c> (a folder) when set.
/// </summary>
internal sealed class CaptureBench : IBenchSuite
{
    private const int Width = 640;
    private const int Height = 480;
    private const int Quality = 85;

    public string Name => "capture";

    public string Description => "capture+encode fps and CPU/frame vs raw OpenCvSharp loop (640x480); module RSS with 4 cameras";

    public async Task<int> RunAsync(string[] args)
    {
        var seconds = Option(args, "--seconds", 8);
        var rssSeconds = Option(args, "--rss-seconds", 30);
        using var dir = new TempDirectory("capture-bench");
        var video = MakeVideo(Path.Combine(dir.Path, "bench640.avi"));
        if (OptionText(args, "--phase") is { } phase)
        {
            return await ProfilePhaseAsync(phase, video, dir.Path, TimeSpan.FromSeconds(seconds));
        }

        // Warm both paths once, then measure raw, pipeline, raw again (to see drift) and use the mean of the raw runs.
        await RawLoopAsync(video, TimeSpan.FromSeconds(1));
        await PipelineLoopAsync(new FileAsCameraFactory(video), "device:0", 1000, dir.Path, TimeSpan.FromSeconds(1));
        await PipelineLoopAsync(new FrameSourceFactory(), "file://" + video, 30, dir.Path, TimeSpan.FromSeconds(2));
        var raw1 = await RawLoopAsync(video, TimeSpan.FromSeconds(seconds));
        var pipe = await PipelineLoopAsync(new FileAsCameraFactory(video), "device:0", 1000, dir.Path, TimeSpan.FromSeconds(seconds));
        var paced = await PipelineLoopAsync(new FrameSourceFactory(), "file://" + video, 30, dir.Path, TimeSpan.FromSeconds(seconds));
        var raw2 = await RawLoopAsync(video, TimeSpan.FromSeconds(seconds));
        var rawPaced = await RawLoopAsync(video, TimeSpan.FromSeconds(seconds), 30);
        var rawFps = (raw1.Fps + raw2.Fps) / 2;
        var rawCpu = (raw1.CpuMsPerFrame + raw2.CpuMsPerFrame) / 2;

        Console.WriteLine();
        Console.WriteLine($"## Capture throughput, {Width}x{Height} MJPG file -> JPEG q{Quality}, {seconds} s per phase");
        Console.WriteLine();
        Console.WriteLine("| path | frames/s | CPU ms/frame | ratio vs raw (fps) | ratio vs raw (CPU/frame) | target |");
        Console.WriteLine("|---|---|---|---|---|---|");
        Console.WriteLine($"| raw OpenCvSharp Read+ImEncode loop (run 1 / run 2) | {raw1.Fps:F0} / {raw2.Fps:F0} | {raw1.CpuMsPerFrame:F2} / {raw2.CpuMsPerFrame:F2} | 1.00 | 1.00 | |");
        Console.WriteLine($"| CameraCapture pipeline (live reader + pacer + health + encoder + send loop) | {pipe.Fps:F0} | {pipe.CpuMsPerFrame:F2} | **{pipe.Fps / rawFps:F2}x** | {rawCpu / pipe.CpuMsPerFrame:F2}x | fps >= 0.9x |");
        Console.WriteLine($"| CameraCapture pipeline paced at the file's native 30 fps (file source, PeriodicTimer) | {paced.Fps:F1} | {paced.CpuMsPerFrame:F2} | {paced.Fps / 30:F2}x of 30 fps target | {rawCpu / paced.CpuMsPerFrame:F2}x | CPU/frame >= 0.9x |");
        Console.WriteLine($"| (for reference) the raw loop paced at 30 fps (Task.Delay between frames) | {rawPaced.Fps:F1} | {rawPaced.CpuMsPerFrame:F2} | | {rawCpu / rawPaced.CpuMsPerFrame:F2}x | |");
        Console.WriteLine();
        Console.WriteLine($"pipeline: {pipe.Frames} frames sent, {pipe.Skipped} decoded frames superseded before encoding (latest-frame semantics), {pipe.Stale} stale drops");

        if (!args.Contains("--skip-rss"))
        {
            var jit = Path.Combine(AppContext.BaseDirectory, "CameraCapture.dll");
            var aot = await AotModuleAsync();
            var baseline = await RssAsync(dir.Path, TimeSpan.FromSeconds(rssSeconds), cameras: 0, jit);
            var four = await RssAsync(dir.Path, TimeSpan.FromSeconds(rssSeconds), cameras: 4, jit);
            var aotBaseline = aot is null ? null : await RssAsync(dir.Path, TimeSpan.FromSeconds(rssSeconds), cameras: 0, aot);
            var aotFour = aot is null ? null : await RssAsync(dir.Path, TimeSpan.FromSeconds(rssSeconds), cameras: 4, aot);
            Console.WriteLine();
            Console.WriteLine($"## CameraCapture process memory ({rssSeconds} s each, mean VmRSS after 10 s; real MQTT/TLS to a test edgeHub + SQLite outbox)");
            Console.WriteLine();
            Console.WriteLine("| process | RSS | anon | file-backed | frames delivered | limit | ratio vs limit |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            Console.WriteLine($"| JIT (dotnet exec), 0 cameras (runtime baseline) | {baseline.RssMb:F1} MB | {baseline.AnonMb:F1} MB | {baseline.FileMb:F1} MB | - | | |");
            Console.WriteLine($"| JIT (dotnet exec), 4 cameras at 5 fps ({FourCameras}) | {four.RssMb:F1} MB | {four.AnonMb:F1} MB | {four.FileMb:F1} MB | {four.Frames} | 80 MB | {four.RssMb / 80:F2} |");
            if (aotBaseline is not null && aotFour is not null)
            {
                Console.WriteLine($"| Native AOT (what ships), 0 cameras | {aotBaseline.RssMb:F1} MB | {aotBaseline.AnonMb:F1} MB | {aotBaseline.FileMb:F1} MB | - | | |");
                Console.WriteLine($"| **Native AOT (what ships), 4 cameras at 5 fps** | {aotFour.RssMb:F1} MB | {aotFour.AnonMb:F1} MB | {aotFour.FileMb:F1} MB | {aotFour.Frames} | 80 MB | **{aotFour.RssMb / 80:F2}** |");
            }
            else
            {
                Console.WriteLine($"(no Native AOT rows: {ModuleProcess.AotToolchainMissing()})");
            }
        }

        return 0;
    }

    private static string? OptionText(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>
    /// Diagnostics (<c>--phase raw|pipe|paced</c>): runs one phase after a warm-up and prints CPU per thread, for profiling
    /// (e.g. under <c>perf record</c>) without the other phases in the way.
    /// </summary>
    private static async Task<int> ProfilePhaseAsync(string phase, string video, string dir, TimeSpan duration)
    {
        Func<TimeSpan, Task<Result>> run = phase switch
        {
            "raw" => d => RawLoopAsync(video, d),
            "rawpaced" => d => RawLoopAsync(video, d, 30),
            "packets" => d => Task.FromResult(PacketLoop(video, d)),
            "rss" => async d =>
            {
                var n = int.Parse(Environment.GetEnvironmentVariable("BENCH_CAMERAS") ?? "4", CultureInfo.InvariantCulture);
                var module = Environment.GetEnvironmentVariable("BENCH_AOT") == "1" ? await AotModuleAsync() ?? throw new InvalidOperationException(ModuleProcess.AotToolchainMissing()) : Path.Combine(AppContext.BaseDirectory, "CameraCapture.dll");
                var m = await RssAsync(dir, d, cameras: n, module);
                Console.WriteLine($"rss {n} cameras: {m.RssMb:F1} MB (anon {m.AnonMb:F1}, file {m.FileMb:F1}), {m.Frames} frames");
                return new Result(1, 0, 0);
            },
            "pipe" => d => PipelineLoopAsync(new FileAsCameraFactory(video), "device:0", 1000, dir, d),
            "paced" => d => PipelineLoopAsync(new FrameSourceFactory(), "file://" + video, 30, dir, d),
            _ => throw new ArgumentException($"unknown phase '{phase}' (raw, pipe, paced)"),
        };
        if (phase == "rss")
        {
            await run(duration);
            return 0;
        }

        await run(TimeSpan.FromSeconds(Environment.GetEnvironmentVariable("BENCH_WARMUP") is { } w ? double.Parse(w, CultureInfo.InvariantCulture) : 1));
        var before = ThreadCpu();
        var gc0 = GC.CollectionCount(0);
        var alloc0 = GC.GetTotalAllocatedBytes();
        var result = await run(duration);
        var after = ThreadCpu();
        Console.WriteLine($"{phase}: {result.Frames} frames, {result.Fps:F1} fps, {result.CpuMsPerFrame:F3} ms CPU/frame, skipped {result.Skipped}, ticks {result.Ticks}, " +
            $"gen0 GCs {GC.CollectionCount(0) - gc0}, allocated {(GC.GetTotalAllocatedBytes() - alloc0) / (double)Math.Max(1, result.Frames):F0} B/frame");
        foreach (var group in after.Select(a => (a.Value.Name, Ms: a.Value.Ms - (before.TryGetValue(a.Key, out var b) ? b.Ms : 0)))
            .GroupBy(t => t.Name).Select(g => (Name: g.Key, Ms: g.Sum(t => t.Ms), Count: g.Count())).OrderByDescending(t => t.Ms))
        {
            if (group.Ms > 0)
            {
                Console.WriteLine($"  {group.Name,-24} x{group.Count,-3} {group.Ms,8:F0} ms  {group.Ms / Math.Max(1, result.Frames):F3} ms/frame");
            }
        }

        return 0;
    }

    private static Dictionary<int, (string Name, double Ms)> ThreadCpu()
    {
        var result = new Dictionary<int, (string Name, double Ms)>();
        var tick = 1000.0 / 100; // USER_HZ
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var close = stat.LastIndexOf(')');
                var name = stat[(stat.IndexOf('(') + 1)..close];
                var fields = stat[(close + 2)..].Split(' ');
                var ms = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * tick;
                result[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] = (name, ms);
            }
            catch (IOException)
            {
            }
        }

        return result;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>A 640x480, 30 fps MJPG file of the synthetic pattern (10 s), so decode cost is realistic.</summary>
    private static string MakeVideo(string path)
    {
        SourceSpec.TryParse($"synthetic:{Width}x{Height}@30", out var spec, out _);
        using var synthetic = new SyntheticSource(spec!, "bench", TimeProvider.System);
        using var writer = new VideoWriter(path, FourCC.MJPG, 30, new Size(Width, Height));
        using var frame = new Mat();
        for (var i = 0; i < 300; i++)
        {
            synthetic.Render(i, frame);
            writer.Write(frame);
        }

        return path;
    }

    private sealed record Result(long Frames, double Fps, double CpuMsPerFrame, long Skipped = 0, long Stale = 0, long Ticks = 0);

    /// <summary>
    /// The baseline: what a hand-written OpenCvSharp loop does per frame (read, encode), looping the file; with
    /// <paramref name="fps"/>, the same loop at a fixed rate, to show what pacing alone costs per frame (cold caches, wake-ups).
    /// </summary>
    private static async Task<Result> RawLoopAsync(string video, TimeSpan duration, double? fps = null)
    {
        using var capture = new VideoCapture(video, VideoCaptureAPIs.FFMPEG);
        using var frame = new Mat();
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        long frames = 0;
        while (sw.Elapsed < duration)
        {
            if (!capture.Read(frame) || frame.Empty())
            {
                capture.Set(VideoCaptureProperties.PosFrames, 0);
                continue;
            }

            Cv2.ImEncode(".jpg", frame, out var jpeg, [(int)ImwriteFlags.JpegQuality, Quality]);
            GC.KeepAlive(jpeg);
            frames++;
            if (fps is { } rate && TimeSpan.FromSeconds(frames / rate) - sw.Elapsed is { Ticks: > 0 } wait)
            {
                await Task.Delay(wait, TimeProvider.System);
            }
        }

        sw.Stop();
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpu0).TotalMilliseconds;
        return new Result(frames, frames / sw.Elapsed.TotalSeconds, cpu / frames);
    }

    /// <summary>Diagnostics: the raw loop reading Motion-JPEG packets and decoding them with libjpeg-turbo (the module's file path).</summary>
    private static Result PacketLoop(string video, TimeSpan duration)
    {
        using var capture = new VideoCapture(video, VideoCaptureAPIs.FFMPEG);
        capture.Set(VideoCaptureProperties.Format, -1);
        using var packet = new Mat();
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        long frames = 0;
        while (sw.Elapsed < duration)
        {
            if (!capture.Read(packet) || packet.Empty())
            {
                capture.Set(VideoCaptureProperties.PosFrames, 0);
                continue;
            }

            using var frame = Cv2.ImDecode(packet, ImreadModes.Color);
            Cv2.ImEncode(".jpg", frame, out var jpeg, [(int)ImwriteFlags.JpegQuality, Quality]);
            GC.KeepAlive(jpeg);
            frames++;
        }

        sw.Stop();
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpu0).TotalMilliseconds;
        return new Result(frames, frames / sw.Elapsed.TotalSeconds, cpu / frames);
    }

    /// <summary>
    /// The module's pipeline, unthrottled: the file is a live camera (decoded as fast as possible on the reader thread, looping)
    /// and the pacer runs at 1,000 Hz, so every tick takes the newest frame; the sink accepts every message.
    /// </summary>
    private static async Task<Result> PipelineLoopAsync(IFrameSourceFactory factory, string source, double fps, string stateRoot, TimeSpan duration)
    {
        var state = Path.Combine(stateRoot, "state-" + Guid.NewGuid().ToString("N")[..8]);
        using var metrics = new CaptureMetrics();
        var context = new PipelineContext(
            TimeProvider.System,
            factory,
            NullLogger.Instance,
            metrics,
            state,
            new FrameStore(Path.Combine(state, "frames"), TimeProvider.System),
            (m, ct) => ValueTask.FromResult(new SendResult(SendStatus.Accepted, 0)),
            (e, ct) => Task.CompletedTask);
        var settings = new CameraSettings { Id = "bench", Source = source, Fps = fps, JpegQuality = Quality, Loop = true };
        var pipeline = new CameraPipeline(settings, context);
        var process = Process.GetCurrentProcess();
        pipeline.Start();
        await pipeline.FirstOpened;
        var cpu0 = process.TotalProcessorTime;
        var sent0 = pipeline.Counters.Sent;
        var skipped0 = pipeline.Counters.Skipped;
        var stale0 = pipeline.Counters.DroppedStale;
        var ticks0 = pipeline.Counters.Ticks;
        var sw = Stopwatch.StartNew();
        await Task.Delay(duration, TimeProvider.System);
        var frames = pipeline.Counters.Sent - sent0;
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpu0).TotalMilliseconds;
        var elapsed = sw.Elapsed.TotalSeconds;
        var skipped = pipeline.Counters.Skipped - skipped0;
        var stale = pipeline.Counters.DroppedStale - stale0;
        var ticks = pipeline.Counters.Ticks - ticks0;
        await pipeline.DisposeAsync();
        return new Result(frames, frames / elapsed, cpu / frames, skipped, stale, ticks);
    }

    /// <summary>Starts the real module process with four cameras against a TLS test edgeHub and samples its RSS.</summary>
    private sealed record Memory(double RssMb, double AnonMb, double FileMb, int Frames);

    private const string FourCameras = "640x480 synthetic, 1280x720 synthetic, Megamind.avi, JPEG folder";

    /// <summary>
    /// The Native AOT CameraCapture: <c>BENCH_CAPTURE_EXE</c>, else published once per source content under <c>artifacts/aot/</c>;
    /// null without a toolchain.
    /// </summary>
    private static async Task<string?> AotModuleAsync() => Environment.GetEnvironmentVariable("BENCH_CAPTURE_EXE") is { Length: > 0 } exe
        ? exe
        : ModuleProcess.AotToolchainMissing() is null
        ? await ModuleProcess.PublishAotAsync("modules/CameraCapture/CameraCapture.csproj", ["src/Edge.Runtime", "modules/CameraCapture"], CancellationToken.None)
        : null;

    /// <summary>
    /// The module (<paramref name="module"/>: a .dll on the JIT, else the native executable) with <paramref name="cameras"/>
    /// cameras for <paramref name="duration"/>. <c>BENCH_MODULE_ENV</c> (<c>K=V</c> lines) adds environment variables (experiments).
    /// </summary>
    private static async Task<Memory> RssAsync(string root, TimeSpan duration, int cameras, string module)
    {
        var managed = module.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        root = Path.Combine(root, $"rss{cameras}{(managed ? "jit" : "aot")}");
        Directory.CreateDirectory(root);

        await using var broker = await TestBroker.StartAsync(root, moduleId: "capture");
        var images = Path.Combine(root, "images");
        Directory.CreateDirectory(images);
        using (var img = Cv2.ImRead(Assets.Messi))
        {
            for (var i = 0; i < 5; i++)
            {
                Cv2.ImWrite(Path.Combine(images, $"{i:D3}.jpg"), img);
            }
        }

        var start = new ProcessStartInfo(managed ? "dotnet" : module, managed ? [module] : []) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (k, v) in broker.ModuleEnvironment(Path.Combine(root, "module-state")))
        {
            start.Environment[k] = v;
        }

        string[] sources = ["synthetic:640x480@30", "synthetic:1280x720@15", "file://" + Assets.Megamind, "folder:" + images];
        for (var i = 0; i < cameras; i++)
        {
            start.Environment[$"Capture__Cameras__{i}__Id"] = $"cam{i}";
            start.Environment[$"Capture__Cameras__{i}__Source"] = sources[i];
            start.Environment[$"Capture__Cameras__{i}__Fps"] = "5";
        }

        start.Environment["RuntimeLogLevel"] = "Warning";
        foreach (var kv in (Environment.GetEnvironmentVariable("BENCH_MODULE_ENV") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            start.Environment[kv[..kv.IndexOf('=', StringComparison.Ordinal)]] = kv[(kv.IndexOf('=', StringComparison.Ordinal) + 1)..];
        }

        using var child = Process.Start(start)!;
        _ = child.StandardOutput.ReadToEndAsync();
        _ = child.StandardError.ReadToEndAsync();
        var sw = Stopwatch.StartNew();
        var samples = new List<(long Rss, long Anon, long File)>();
        while (sw.Elapsed < duration && !child.HasExited)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System);
            if (sw.Elapsed > TimeSpan.FromSeconds(10) && !child.HasExited)
            {
                samples.Add((ReadStatusKb(child.Id, "VmRSS:"), ReadStatusKb(child.Id, "RssAnon:"), ReadStatusKb(child.Id, "RssFile:")));
            }
        }

        var frames = broker.Events.Count(e => e.Topic.Contains("%24.on=frames", StringComparison.Ordinal));
        if (child.HasExited || samples.Count == 0)
        {
            throw new InvalidOperationException($"the module exited early (code {(child.HasExited ? child.ExitCode : 0)})");
        }

        if (Environment.GetEnvironmentVariable("BENCH_SMAPS") is { Length: > 0 } dump)
        {
            Directory.CreateDirectory(dump);
            File.Copy($"/proc/{child.Id}/smaps", Path.Combine(dump, $"smaps{cameras}"), overwrite: true);
            File.WriteAllLines(Path.Combine(dump, $"threads{cameras}"), Directory.EnumerateDirectories($"/proc/{child.Id}/task").Select(t => File.ReadAllText(Path.Combine(t, "stat"))));
        }

        child.Kill(entireProcessTree: true);
        await child.WaitForExitAsync();
        return new Memory(samples.Average(s => s.Rss) / 1024.0, samples.Average(s => s.Anon) / 1024.0, samples.Average(s => s.File) / 1024.0, frames);
    }

    private static long ReadStatusKb(int pid, string key)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                return long.Parse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>A video file presented as a live camera that delivers frames as fast as it decodes them (looping).</summary>
    private sealed class FileAsCameraFactory(string path) : IFrameSourceFactory
    {
        public IFrameSource Open(SourceSpec spec, CameraSettings camera, TimeProvider timeProvider) => new FileAsCamera(path);
    }

    private sealed class FileAsCamera(string path) : IFrameSource
    {
        private readonly VideoCapture _capture = new(path, VideoCaptureAPIs.FFMPEG);

        public bool IsLive => true;

        public long SkippedFrames => 0;

        public string? LastError => null;

        public ReadStatus Read(TimeSpan mediaTime, Mat destination)
        {
            if (_capture.Read(destination) && !destination.Empty())
            {
                return ReadStatus.Frame;
            }

            _capture.Set(VideoCaptureProperties.PosFrames, 0);
            return _capture.Read(destination) ? ReadStatus.Frame : ReadStatus.Failed;
        }

        public void Dispose() => _capture.Dispose();
    }
}
