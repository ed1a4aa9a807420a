using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Edge.Hub;

namespace Edge.Cli.Commands.Up;

/// <summary>
/// Counts an <c>edge up</c> run per message, by camera and sequence number, across module restarts: the frames the hub
/// accepted from CameraCapture (what capture durably sent: its outbox lets a frame go only once the hub has it; seen through
/// the run's <c>framesToSummary</c> route), the detections messages that reached <c>$upstream</c>, and the frames Inference
/// dropped on purpose (its latest-frame queue, read from its log). Process counters, which a restart resets, play no part.
/// </summary>
internal sealed partial class MessageLedger
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Camera> _cameras = new(StringComparer.Ordinal);

    /// <summary>Records a message that reached <c>$upstream</c>; other than capture frames and detections it is ignored.</summary>
    public void Observe(UpstreamMessage message)
    {
        if (message.Properties.GetValueOrDefault("cameraId") is not { } camera
            || !long.TryParse(message.Properties.GetValueOrDefault("seq"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seq))
        {
            return;
        }

        lock (_gate)
        {
            var c = Get(camera);
            switch (message.SourceModuleId, message.OutputName)
            {
                case ("CameraCapture", "frames"):
                    c.Sent.Add(seq);
                    break;
                case ("Inference", "detections"):
                    if (!c.Detected.Add(seq))
                    {
                        c.Duplicates++;
                    }

                    break;
                default:
                    break;
            }
        }
    }

    /// <summary>Reads one line of a module's output; Inference's "frame dropped by the latest-frame queue" lines are recorded.</summary>
    public void ObserveLog(string moduleId, string line)
    {
        if (moduleId != "Inference" || StaleDrop().Match(line) is not { Success: true } m)
        {
            return;
        }

        lock (_gate)
        {
            Get(m.Groups["camera"].Value).DroppedStale.Add(long.Parse(m.Groups["seq"].Value, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Per camera: sent, inferred, dropped as stale (with seqs), lost (with seqs), duplicates.</summary>
    public IReadOnlyList<CameraLedger> Report()
    {
        lock (_gate)
        {
            return [.. _cameras.OrderBy(c => c.Key, StringComparer.Ordinal).Select(kv =>
            {
                var c = kv.Value;

                // A detection proves its frame was sent (the frames route copy may still be on its way at the end).
                var sent = new SortedSet<long>(c.Sent);
                sent.UnionWith(c.Detected);
                var stale = sent.Where(s => c.DroppedStale.Contains(s) && !c.Detected.Contains(s)).ToList();
                var lost = sent.Where(s => !c.Detected.Contains(s) && !c.DroppedStale.Contains(s)).ToList();
                return new CameraLedger(kv.Key, sent.Count, c.Detected.Count, stale, lost, c.Duplicates);
            })];
        }
    }

    private Camera Get(string camera)
    {
        if (!_cameras.TryGetValue(camera, out var c))
        {
            c = new Camera();
            _cameras[camera] = c;
        }

        return c;
    }

    /// <summary>Inference's event 5011 (Debug): "Frame dropped by the latest-frame queue (SourceId cam1, Seq 42)".</summary>
    [GeneratedRegex(@"Frame dropped by the latest-frame queue \(SourceId (?<camera>[^,]+), Seq (?<seq>-?\d+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex StaleDrop();

    private sealed class Camera
    {
        public HashSet<long> Sent { get; } = [];
        public HashSet<long> Detected { get; } = [];
        public HashSet<long> DroppedStale { get; } = [];
        public long Duplicates { get; set; }
    }
}

/// <summary>One camera's messages in a run: frames sent by capture, inferred (a detections message reached $upstream), dropped as stale, lost.</summary>
internal sealed record CameraLedger(string CameraId, long Sent, long Inferred, IReadOnlyList<long> DroppedStale, IReadOnlyList<long> Lost, long Duplicates)
{
    /// <summary><c>3, 4, 5, 9</c> → <c>3-5, 9</c>; at most <paramref name="max"/> ranges, then "…".</summary>
    public static string Ranges(IReadOnlyList<long> seqs, int max = 12)
    {
        var sb = new StringBuilder();
        var ranges = 0;
        for (var i = 0; i < seqs.Count; i++)
        {
            var start = seqs[i];
            while (i + 1 < seqs.Count && seqs[i + 1] == seqs[i] + 1)
            {
                i++;
            }

            if (ranges == max)
            {
                sb.Append(", …");
                break;
            }

            sb.Append(ranges == 0 ? "" : ", ").Append(start.ToString(CultureInfo.InvariantCulture));
            if (seqs[i] != start)
            {
                sb.Append('-').Append(seqs[i].ToString(CultureInfo.InvariantCulture));
            }

            ranges++;
        }

        return sb.ToString();
    }
}
