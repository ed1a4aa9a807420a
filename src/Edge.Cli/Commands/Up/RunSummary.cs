using System.Text.Json.Nodes;
using Edge.Hub;
using Edge.Hub.Dashboard;
using Edge.Hub.Supervisor;

namespace Edge.Cli.Commands.Up;

/// <summary>What <c>edge up</c> prints on exit, and whether the run was healthy.</summary>
internal sealed record RunSummary(
    TimeSpan Elapsed,
    long? FramesCaptured,
    long? FramesSent,
    long? DroppedAtCapture,
    long? FramesInferred,
    long? DroppedAtInference,
    IReadOnlyDictionary<string, long> HubDrops,
    long DetectionMessagesSent,
    long DetectionMessagesAtUpstream,
    long Lost,
    long Duplicates,
    double? LatencyP50Ms,
    double? LatencyP99Ms,
    IReadOnlyList<ModuleStatus> Modules,
    long HubPeakRssBytes,
    IReadOnlyList<string> Problems)
{
    public bool Healthy => Problems.Count == 0;

    public static RunSummary Create(
        PipelineSnapshot pipeline, JsonNode? capture, JsonNode? inference, JsonObject inferenceTwin,
        IReadOnlyList<ModuleStatus> modules, HubStatus hub, TimeSpan elapsed)
    {
        var atUpstream = pipeline.BySource.GetValueOrDefault("Inference/detections");
        var sent = Counter(inference, "detectionsSent") ?? Counter(inferenceTwin["properties"]?["reported"], "detectionsSent") ?? atUpstream;
        var lost = Math.Max(0, sent - atUpstream);
        var problems = new List<string>();
        if (capture is null)
        {
            problems.Add("CameraCapture did not answer getStatus");
        }

        if (inference is null)
        {
            problems.Add("Inference did not answer getStatus");
        }

        if (atUpstream == 0)
        {
            problems.Add("no detections message reached $upstream");
        }

        if (lost > 0)
        {
            problems.Add($"{lost} detections messages lost");
        }

        foreach (var m in modules.Where(m => m.Error is not null || m.RuntimeStatus is "failed" or "backoff"))
        {
            problems.Add($"{m.ModuleId} is {m.RuntimeStatus}{(m.Error is null ? "" : ": " + m.Error)}");
        }

        return new RunSummary(
            elapsed,
            Counter(capture, "captured"),
            Counter(capture, "sent"),
            Counter(capture, "droppedStale"),
            Counter(inference, "framesProcessed"),
            Counter(inference, "framesDropped"),
            hub.Drops,
            sent,
            atUpstream,
            lost,
            pipeline.Duplicates,
            pipeline.LatencyP50Ms,
            pipeline.LatencyP99Ms,
            modules,
            Environment.ProcessId > 0 ? PeakRss() : 0,
            problems);
    }

    public void Write(TextWriter w)
    {
        static string N(long? v) => v?.ToString("N0", System.Globalization.CultureInfo.InvariantCulture) ?? "?";
        static string Ms(double? v) => v is { } ms ? $"{ms:0.0} ms" : "–";
        static string Mb(long? v) => v is { } b ? $"{b / 1048576.0:0.0} MB" : "?";
        w.WriteLine();
        w.WriteLine($"  Summary ({Elapsed:hh\\:mm\\:ss})");
        w.WriteLine($"    frames captured            {N(FramesCaptured)}   (sent {N(FramesSent)}, dropped at capture {N(DroppedAtCapture)})");
        var hubDrops = HubDrops.Count == 0 ? "none" : string.Join(", ", HubDrops.Select(d => $"{d.Value} {d.Key}"));
        w.WriteLine($"    frames inferred            {N(FramesInferred)}   (dropped at inference {N(DroppedAtInference)}; hub drops: {hubDrops})");
        w.WriteLine($"    detections at $upstream    {N(DetectionMessagesAtUpstream)} of {N(DetectionMessagesSent)} sent   (duplicates {N(Duplicates)})");
        w.WriteLine($"    messages lost              {N(Lost)}");
        w.WriteLine($"    latency capture→upstream   p50 {Ms(LatencyP50Ms)}   p99 {Ms(LatencyP99Ms)}");
        foreach (var m in Modules)
        {
            w.WriteLine($"    {m.ModuleId,-26} peak {Mb(m.PeakRssBytes)}   restarts {m.RestartCount}   {m.RuntimeStatus}");
        }

        w.WriteLine($"    {"hub + supervisor (edge)",-26} peak {Mb(HubPeakRssBytes)}");
        w.WriteLine(Healthy ? "  Healthy run." : "  Unhealthy run:\n" + string.Join('\n', Problems.Select(p => "    - " + p)));
    }

    /// <summary>Sums every numeric property named <paramref name="name"/> anywhere in the document (e.g. per-camera counters).</summary>
    internal static long? Counter(JsonNode? node, string name)
    {
        long? total = null;
        Visit(node);
        return total;

        void Visit(JsonNode? n)
        {
            switch (n)
            {
                case JsonObject o:
                    foreach (var (key, value) in o)
                    {
                        if (key == name && value is JsonValue v && v.TryGetValue<long>(out var l))
                        {
                            total = (total ?? 0) + l;
                        }
                        else
                        {
                            Visit(value);
                        }
                    }

                    break;
                case JsonArray a:
                    foreach (var item in a)
                    {
                        Visit(item);
                    }

                    break;
                default:
                    break;
            }
        }
    }

    private static long PeakRss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }
}
