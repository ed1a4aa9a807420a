using System.Globalization;
using System.Text.Json;

namespace Edge.Hub.Dashboard;

/// <summary>
/// Watches what reaches <c>$upstream</c> and keeps what a person wants to see: per camera the detection rate, the
/// capture→upstream latency, the latest detections and the latest annotated frame. Thread-safe; one instance per run.
/// </summary>
public sealed class PipelineMonitor
{
    private const int LatencyWindow = 2048;
    private const int RecentCapacity = 50;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, CameraStats> _cameras = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _bySource = new(StringComparer.Ordinal);
    private readonly HashSet<string> _messageIds = new(StringComparer.Ordinal);
    private readonly LinkedList<DetectionLine> _recent = new();
    private readonly List<double> _allLatencies = [];
    private readonly PipelineHistory _history = new();
    private long _duplicates;
    private long _total;

    public PipelineMonitor(TimeProvider time) => _time = time;

    /// <summary>Records one message that reached <c>$upstream</c>; returns the detection line when it was a detections message.</summary>
    public DetectionLine? Observe(UpstreamMessage message)
    {
        var output = message.OutputName ?? "";
        var cameraId = message.Properties.GetValueOrDefault("cameraId");
        DetectionLine? line = null;
        lock (_gate)
        {
            _total++;
            var source = $"{message.SourceModuleId}/{output}";
            _bySource[source] = _bySource.GetValueOrDefault(source) + 1;
            if (message.SystemProperties.GetValueOrDefault("messageId") is { } mid && !_messageIds.Add(mid))
            {
                _duplicates++;
            }

            if (cameraId is null)
            {
                return null;
            }

            if (!_cameras.TryGetValue(cameraId, out var cam))
            {
                cam = new CameraStats(cameraId);
                _cameras[cameraId] = cam;
            }

            if (output == "annotated")
            {
                cam.LatestFrame = message.Body.ToArray();
                cam.LatestFrameAt = message.EnqueuedAt;
                return null;
            }

            if (output != "detections")
            {
                return null;
            }

            line = Parse(message, cameraId);
            _history.Record(message.EnqueuedAt, line.LatencyMs);
            cam.Messages++;
            cam.LastSeq = line.Seq;
            cam.Arrivals.Enqueue(message.EnqueuedAt);
            while (cam.Arrivals.Count > 0 && message.EnqueuedAt - cam.Arrivals.Peek() > TimeSpan.FromSeconds(5))
            {
                cam.Arrivals.Dequeue();
            }

            if (line.LatencyMs is { } latency)
            {
                cam.Latencies.Add(latency);
                if (cam.Latencies.Count > LatencyWindow)
                {
                    cam.Latencies.RemoveRange(0, cam.Latencies.Count - LatencyWindow);
                }

                _allLatencies.Add(latency);
            }

            if (line.Labels.Count > 0)
            {
                cam.Detections += line.Labels.Count;
                _recent.AddFirst(line);
                if (_recent.Count > RecentCapacity)
                {
                    _recent.RemoveLast();
                }
            }
        }

        return line;
    }

    /// <summary>The latest annotated JPEG of a camera, if any arrived.</summary>
    public byte[]? LatestFrame(string cameraId)
    {
        lock (_gate)
        {
            return _cameras.TryGetValue(cameraId, out var cam) ? cam.LatestFrame : null;
        }
    }

    /// <summary>The rate and latency history, one point per second (the dashboard's charts).</summary>
    public IReadOnlyList<HistoryPoint> History()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            return _history.Points(now);
        }
    }

    /// <summary>Everything the dashboard and the run summary show.</summary>
    public PipelineSnapshot Snapshot()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            var cameras = _cameras.Values.OrderBy(c => c.Id, StringComparer.Ordinal).Select(c => new CameraSnapshot(
                c.Id,
                c.Messages,
                c.Detections,
                c.LastSeq,
                Rate(c.Arrivals, now),
                Percentile(c.Latencies, 0.50),
                Percentile(c.Latencies, 0.99),
                c.LatestFrame is not null,
                c.LatestFrameAt)).ToList();
            return new PipelineSnapshot(
                _total,
                _duplicates,
                new Dictionary<string, long>(_bySource, StringComparer.Ordinal),
                cameras,
                [.. _recent],
                Percentile(_allLatencies, 0.50),
                Percentile(_allLatencies, 0.99));
        }
    }

    private static DetectionLine Parse(UpstreamMessage message, string cameraId)
    {
        var seq = long.TryParse(message.Properties.GetValueOrDefault("seq"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : -1;
        double? latency = null;
        if (DateTimeOffset.TryParse(message.Properties.GetValueOrDefault("capturedAt"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var captured))
        {
            latency = (message.EnqueuedAt - captured).TotalMilliseconds;
        }

        var labels = new List<LabelScore>();
        try
        {
            using var doc = JsonDocument.Parse(message.Body);
            if (doc.RootElement.TryGetProperty("detections", out var dets) && dets.ValueKind == JsonValueKind.Array)
            {
                foreach (var d in dets.EnumerateArray())
                {
                    var label = d.TryGetProperty("label", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString()! : "object";
                    var score = d.TryGetProperty("score", out var sc) && sc.ValueKind == JsonValueKind.Number ? sc.GetDouble() : 0;
                    labels.Add(new LabelScore(label, score));
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: counted as a message without detections.
        }

        return new DetectionLine(message.EnqueuedAt, cameraId, seq, labels, latency);
    }

    private static double Rate(Queue<DateTimeOffset> arrivals, DateTimeOffset now)
    {
        if (arrivals.Count < 2)
        {
            return 0;
        }

        var span = now - arrivals.Peek();
        return span <= TimeSpan.Zero ? 0 : Math.Round(arrivals.Count / Math.Max(span.TotalSeconds, 1), 2);
    }

    /// <summary>Nearest-rank percentile; null when there is no sample.</summary>
    internal static double? Percentile(List<double> samples, double p)
    {
        if (samples.Count == 0)
        {
            return null;
        }

        var sorted = samples.ToArray();
        Array.Sort(sorted);
        var rank = (int)Math.Ceiling(p * sorted.Length) - 1;
        return Math.Round(sorted[Math.Clamp(rank, 0, sorted.Length - 1)], 2);
    }

    private sealed class CameraStats(string id)
    {
        public string Id { get; } = id;
        public long Messages { get; set; }
        public long Detections { get; set; }
        public long LastSeq { get; set; } = -1;
        public Queue<DateTimeOffset> Arrivals { get; } = new();
        public List<double> Latencies { get; } = [];
        public byte[]? LatestFrame { get; set; }
        public DateTimeOffset? LatestFrameAt { get; set; }
    }
}

/// <summary>One detections message as a person reads it.</summary>
public sealed record DetectionLine(DateTimeOffset At, string CameraId, long Seq, IReadOnlyList<LabelScore> Labels, double? LatencyMs)
{
    public override string ToString()
    {
        var labels = Labels.Count == 0 ? "(no detections)" : string.Join(", ", Labels.Select(l => $"{l.Label} {l.Score:0.00}"));
        var latency = LatencyMs is { } ms ? $"{ms,7:0.0} ms" : "      ? ms";
        return $"{At.ToLocalTime():HH:mm:ss.fff}  {CameraId,-10} seq {Seq,-7} {latency}  {labels}";
    }
}

public sealed record LabelScore(string Label, double Score);

public sealed record CameraSnapshot(
    string Id, long Messages, long Detections, long LastSeq, double MessagesPerSecond, double? LatencyP50Ms, double? LatencyP99Ms,
    bool HasFrame, DateTimeOffset? FrameAt);

public sealed record PipelineSnapshot(
    long UpstreamMessages, long Duplicates, IReadOnlyDictionary<string, long> BySource, IReadOnlyList<CameraSnapshot> Cameras,
    IReadOnlyList<DetectionLine> Recent, double? LatencyP50Ms, double? LatencyP99Ms);
