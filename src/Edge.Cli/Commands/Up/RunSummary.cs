using System.Text.Json.Nodes;
using Edge.Hub;
using Edge.Hub.Dashboard;
using Edge.Hub.Supervisor;

namespace Edge.Cli.Commands.Up;

/// <summary>
/// What <c>edge up</c> prints on exit, and whether the run was healthy. Message figures are counted per message by camera and
/// seq across module restarts (<see cref="MessageLedger"/>); the duration is the time the modules ran (the build excluded).
/// </summary>
internal sealed record RunSummary(
    TimeSpan Elapsed,
    IReadOnlyList<CameraLedger> Cameras,
    IReadOnlyDictionary<string, long> HubDrops,
    double? LatencyP50Ms,
    double? LatencyP99Ms,
    IReadOnlyList<ModuleStatus> Modules,
    long HubPeakRssBytes,
    IReadOnlyList<string> Problems)
{
    public bool Healthy => Problems.Count == 0;

    public long Sent => Cameras.Sum(c => c.Sent);

    public long Inferred => Cameras.Sum(c => c.Inferred);

    public long DroppedStale => Cameras.Sum(c => (long)c.DroppedStale.Count);

    public long Lost => Cameras.Sum(c => (long)c.Lost.Count);

    public long Duplicates => Cameras.Sum(c => c.Duplicates);

    public static RunSummary Create(
        IReadOnlyList<CameraLedger> cameras, PipelineSnapshot pipeline, JsonNode? capture, JsonNode? inference,
        IReadOnlyList<ModuleStatus> modules, HubStatus hub, TimeSpan elapsed)
    {
        var problems = new List<string>();
        if (capture is null)
        {
            problems.Add("CameraCapture did not answer getStatus");
        }

        if (inference is null)
        {
            problems.Add("Inference did not answer getStatus");
        }

        if (cameras.Sum(c => c.Inferred) == 0)
        {
            problems.Add("no detections message reached $upstream");
        }

        foreach (var c in cameras.Where(c => c.Lost.Count > 0))
        {
            problems.Add($"{c.Lost.Count} frames of {c.CameraId} lost (sent, neither inferred nor dropped as stale): seq {CameraLedger.Ranges(c.Lost)}");
        }

        foreach (var m in modules.Where(m => m.Error is not null || m.RuntimeStatus is "failed" or "backoff"))
        {
            problems.Add($"{m.ModuleId} is {m.RuntimeStatus}{(m.Error is null ? "" : ": " + m.Error)}");
        }

        return new RunSummary(
            elapsed,
            cameras,
            hub.Drops,
            pipeline.LatencyP50Ms,
            pipeline.LatencyP99Ms,
            modules,
            Environment.ProcessId > 0 ? PeakRss() : 0,
            problems);
    }

    public void Write(TextWriter w)
    {
        static string N(long v) => v.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        static string Ms(double? v) => v is { } ms ? $"{ms:0.0} ms" : "–";
        static string Mb(long? v) => v is { } b ? $"{b / 1048576.0:0.0} MB" : "?";
        w.WriteLine();
        w.WriteLine($"  Summary ({Elapsed:hh\\:mm\\:ss} with the modules running; counted per message by camera and seq, across restarts)");
        w.WriteLine($"    frames sent by capture     {N(Sent)}   (accepted by the hub)");
        w.WriteLine($"    frames inferred            {N(Inferred)}   (a detections message reached $upstream; duplicates {N(Duplicates)})");
        w.WriteLine($"    frames dropped as stale    {N(DroppedStale)}   (Inference's latest-frame queue, on purpose)");
        foreach (var c in Cameras.Where(c => c.DroppedStale.Count > 0))
        {
            w.WriteLine($"      {c.CameraId,-10} seq {CameraLedger.Ranges(c.DroppedStale)}");
        }

        w.WriteLine($"    detections at $upstream    {N(Inferred)} of {N(Sent - DroppedStale)} expected (sent less dropped as stale)");
        w.WriteLine($"    messages lost              {N(Lost)}");
        foreach (var c in Cameras.Where(c => c.Lost.Count > 0))
        {
            w.WriteLine($"      {c.CameraId,-10} seq {CameraLedger.Ranges(c.Lost)}");
        }

        var hubDrops = HubDrops.Count == 0 ? "none" : string.Join(", ", HubDrops.Select(d => $"{d.Value} {d.Key}"));
        w.WriteLine($"    hub drops                  {hubDrops}");
        w.WriteLine($"    latency capture→upstream   p50 {Ms(LatencyP50Ms)}   p99 {Ms(LatencyP99Ms)}");
        foreach (var m in Modules)
        {
            w.WriteLine($"    {m.ModuleId,-26} peak {Mb(m.PeakRssBytes)}   restarts {m.RestartCount}   {m.RuntimeStatus}");
        }

        w.WriteLine($"    {"hub + supervisor (edge)",-26} peak {Mb(HubPeakRssBytes)}");
        w.WriteLine(Healthy ? "  Healthy run." : "  Unhealthy run:\n" + string.Join('\n', Problems.Select(p => "    - " + p)));
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
