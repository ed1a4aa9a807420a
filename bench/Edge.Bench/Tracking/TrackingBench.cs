using System.Diagnostics;
using System.Globalization;
using Inference.Events;
using Inference.Models;
using Inference.Processing;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;

namespace Edge.Bench.Tracking;

/// <summary>
/// Tracker + zones + events per frame with N objects (default 50: moving, bouncing, crossing four zones, so events and their
/// durable state writes happen along the way) against BlazeFace front-128 inference per frame (preprocess, Session.Run,
/// decode, NMS on decoded Megamind frames: JPEG decode left out, which makes the ratio stricter), interleaved in one process.
/// Usage: tracking [--objects N] [--frames N] [--rounds R]
/// </summary>
internal sealed class TrackingBench : IBenchSuite
{
    public string Name => "tracking";

    public string Description => "tracker + zones + events per frame (50 objects) vs BlazeFace front-128 inference per frame";

    public async Task<int> RunAsync(string[] args)
    {
        var objects = Arg(args, "--objects", 50);
        var frames = Arg(args, "--frames", 500);
        var rounds = Arg(args, "--rounds", 5);
        var assets = Environment.GetEnvironmentVariable("EDGE_ASSETS_DIR") is { Length: > 0 } d
            ? d : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "edge-assets");
        var modelPath = Path.Combine(assets, "face_detection_front_128x128_barracuda.onnx");

        var images = new List<Mat>();
        using (var capture = new VideoCapture(Path.Combine(assets, "Megamind.avi")))
        {
            for (var i = 0; i < 60; i++)
            {
                var m = new Mat();
                if (!capture.Read(m) || m.Empty())
                {
                    m.Dispose();
                    break;
                }

                images.Add(m);
            }
        }

        using var model = LoadedModel.Load(modelPath, "bench", new ModelSettings { Url = modelPath, Profile = ModelProfile.Blazeface }, null, new SessionConfig("cpu", 1));
        var thresholds = new ThresholdSettings { MinScore = 0.6, NmsIou = 0.3 };
        var raw = new List<Detection>();

        double InferRound(int n)
        {
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < n; i++)
            {
                raw.Clear();
                model.Infer(images[i % images.Count], 0.6f, 0.3f, raw);
                _ = DetectionFilter.Apply(raw, thresholds);
            }

            return sw.Elapsed.TotalMicroseconds / n;
        }

        // 50 objects bouncing around the frame, four quadrant zones with inertia and loitering, one detection list per frame.
        var settings = new EventSettings
        {
            Zones = new()
            {
                ["cam1"] = new()
                {
                    ["nw"] = new ZoneSettings { Points = [[0, 0], [0.5f, 0], [0.5f, 0.5f], [0, 0.5f]] },
                    ["ne"] = new ZoneSettings { Points = [[0.5f, 0], [1, 0], [1, 0.5f], [0.5f, 0.5f]], LoiterSeconds = 2 },
                    ["sw"] = new ZoneSettings { Points = [[0, 0.5f], [0.5f, 0.5f], [0.5f, 1], [0, 1]], Labels = ["face"] },
                    ["se"] = new ZoneSettings { Points = [[0.5f, 0.5f], [1, 0.5f], [0.9f, 1], [0.6f, 0.95f], [0.5f, 1]] },
                },
            },
        };
        var rng = new Random(1);
        var objs = Enumerable.Range(0, objects).Select(_ => (X: rng.NextDouble(), Y: rng.NextDouble(), Vx: (rng.NextDouble() - 0.5) * 0.01, Vy: (rng.NextDouble() - 0.5) * 0.01)).ToArray();
        var detectionFrames = new List<List<Detection>>();
        for (var f = 0; f < 2000; f++)
        {
            var list = new List<Detection>(objects);
            for (var i = 0; i < objs.Length; i++)
            {
                var o = objs[i];
                o.X += o.Vx;
                o.Y += o.Vy;
                if (o.X is < 0.02 or > 0.95)
                {
                    o.Vx = -o.Vx;
                }

                if (o.Y is < 0.02 or > 0.95)
                {
                    o.Vy = -o.Vy;
                }

                objs[i] = o;
                if (rng.NextDouble() > 0.05)
                {
                    list.Add(new Detection(0, "face", 0.7f + (0.25f * (float)rng.NextDouble()), new NormalizedBox((float)o.X, (float)o.Y, 0.03f, 0.04f)));
                }
            }

            detectionFrames.Add(list);
        }

        var state = Directory.CreateTempSubdirectory("tracking-bench-").FullName;
        var client = new DiscardingModuleClient();
        using var pipeline = new EventPipeline(client, state, settings, TimeProvider.System, NullLogger.Instance);
        var start = DateTimeOffset.UnixEpoch.AddYears(56);
        var frameNo = 0L;
        var stamps = Enumerable.Range(0, 100_000).Select(i => start.AddMilliseconds(i * 200).ToString("O", CultureInfo.InvariantCulture)).ToArray();

        async Task<double> TrackRound(int n)
        {
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < n; i++)
            {
                var f = frameNo++;
                await pipeline.OnFrameAsync("cam1", f, stamps[f % stamps.Length], null, null, detectionFrames[(int)(f % detectionFrames.Count)], CancellationToken.None);
            }

            return sw.Elapsed.TotalMicroseconds / n;
        }

        // The engine alone: tracker + zones + event rules (event records built, nothing serialised, sent or written).
        var engine = new EventEngine("cam1", "bench", settings);
        var emitted = new List<ObjectEvent>();
        var engineFrame = 0L;
        double EngineRound(int n)
        {
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < n; i++)
            {
                var f = engineFrame++;
                emitted.Clear();
                engine.Process(detectionFrames[(int)(f % detectionFrames.Count)], (start.ToUnixTimeMilliseconds() / 1000.0) + (f * 0.2), f, null, null, emitted);
            }

            return sw.Elapsed.TotalMicroseconds / n;
        }

        InferRound(50);
        await TrackRound(200);
        EngineRound(200);
        var infer = new List<double>();
        var track = new List<double>();
        var engineOnly = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            infer.Add(InferRound(frames / 5));
            track.Add(await TrackRound(frames));
            engineOnly.Add(EngineRound(frames));
        }

        var engineBefore = GC.GetAllocatedBytesForCurrentThread();
        EngineRound(frames);
        var engineAlloc = (GC.GetAllocatedBytesForCurrentThread() - engineBefore) / (double)frames;

        var before = GC.GetAllocatedBytesForCurrentThread();
        var eventsBefore = pipeline.NewSent + pipeline.UpdatesSent + pipeline.EndsSent;
        await TrackRound(frames);
        var allocPerFrame = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)frames;
        var eventsPerFrame = (pipeline.NewSent + pipeline.UpdatesSent + pipeline.EndsSent - eventsBefore) / (double)frames;

        var i50 = Median(infer);
        var t50 = Median(track);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{objects} objects, 4 zones; {images.Count} Megamind frames {images[0].Width}x{images[0].Height}; {rounds} interleaved rounds"));
        Console.WriteLine();
        Console.WriteLine("| measure | value | limit | ratio |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| tracker + zones + events per frame, {objects} objects (median of {rounds}) | {t50:F1} µs | 5 % of BlazeFace front-128 inference {i50:F0} µs = {i50 * 0.05:F0} µs | **{t50 / i50 * 100:F2} %** |"));
        var e50 = Median(engineOnly);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| tracker + zones + event rules only (no serialising, sending or state file) | {e50:F1} µs | {i50 * 0.05:F0} µs | **{e50 / i50 * 100:F2} %** |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| managed bytes allocated per frame, engine only | {engineAlloc:F0} B | | |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| events sent per frame (durable state written with each) | {eventsPerFrame:F3} | | |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| managed bytes allocated per frame (events included) | {allocPerFrame:F0} B | | |"));
        Console.WriteLine($"rounds tracking µs: {string.Join(", ", track.Select(x => x.ToString("F1", CultureInfo.InvariantCulture)))}; inference µs: {string.Join(", ", infer.Select(x => x.ToString("F0", CultureInfo.InvariantCulture)))}");
        foreach (var m in images)
        {
            m.Dispose();
        }

        Directory.Delete(state, recursive: true);
        return t50 / i50 <= 0.05 ? 0 : 1;
    }

    private static double Median(IEnumerable<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }
}
