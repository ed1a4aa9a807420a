namespace Edge.Hub.Dashboard;

/// <summary>
/// The dashboard's history charts: per second of arrival at <c>$upstream</c>, how many detections messages arrived and their
/// capture→upstream latency (p50 and p99 of that second). Keeps the last <see cref="Seconds"/> seconds; not thread-safe
/// (<see cref="PipelineMonitor"/> calls it under its lock).
/// </summary>
internal sealed class PipelineHistory
{
    public const int Seconds = 180;

    private readonly Bucket[] _buckets = new Bucket[Seconds];

    /// <summary>Counts one detections message that arrived at <paramref name="at"/>.</summary>
    public void Record(DateTimeOffset at, double? latencyMs)
    {
        var second = at.ToUnixTimeSeconds();
        ref var bucket = ref _buckets[(int)(second % Seconds)];
        if (bucket.Second != second)
        {
            bucket = new Bucket { Second = second, Latencies = [] };
        }

        bucket.Messages++;
        if (latencyMs is { } ms)
        {
            bucket.Latencies!.Add(ms);
        }
    }

    /// <summary>One point per second of the window that ends with the last whole second before <paramref name="now"/>, oldest first; seconds without a message count 0.</summary>
    public IReadOnlyList<HistoryPoint> Points(DateTimeOffset now)
    {
        var last = now.ToUnixTimeSeconds() - 1;
        var points = new List<HistoryPoint>(Seconds);
        for (var second = last - Seconds + 1; second <= last; second++)
        {
            var bucket = _buckets[(int)(((second % Seconds) + Seconds) % Seconds)];
            points.Add(bucket.Second == second && bucket.Latencies is { } latencies
                ? new HistoryPoint(DateTimeOffset.FromUnixTimeSeconds(second), bucket.Messages, PipelineMonitor.Percentile(latencies, 0.50), PipelineMonitor.Percentile(latencies, 0.99))
                : new HistoryPoint(DateTimeOffset.FromUnixTimeSeconds(second), 0, null, null));
        }

        return points;
    }

    private struct Bucket
    {
        public long Second;
        public int Messages;
        public List<double>? Latencies;
    }
}

/// <summary>One second of the history: detections messages that reached <c>$upstream</c> and their latency (null: none that second).</summary>
public sealed record HistoryPoint(DateTimeOffset At, int Messages, double? LatencyP50Ms, double? LatencyP99Ms);
