using Inference.Processing;
using Inference.Tracking;

namespace Inference.Events;

/// <summary>
/// One camera's tracker, zones and event rules. Per frame: the tracker associates detections; each object's zone states step
/// (inertia, loitering, labels); a confirmed object not yet announced emits <c>new</c>; an announced one emits <c>update</c>
/// only on a meaningful change (zone entered or left, stationary/moving, top score up by
/// <see cref="EventSettings.ScoreImprovement"/>); a lost announced object emits <c>end</c> (<c>left</c> when it was last seen at the frame
/// edge, else <c>timeout</c>). Records are allocated only for emitted events. Not thread-safe (one camera, one frame at a time).
/// </summary>
internal sealed class EventEngine
{
    private const float EdgeMargin = 0.03f;
    private readonly ObjectTracker _tracker = new();
    private readonly string _runId;
    private Zone[] _zones = [];
    private string? _zoneSignature;
    private EventSettings _settings;

    public EventEngine(string cameraId, string runId, EventSettings settings)
    {
        CameraId = cameraId;
        _runId = runId;
        _settings = settings;
        Configure(settings);
    }

    public string CameraId { get; }

    public IReadOnlyList<TrackedObject> Tracks => _tracker.Tracks;

    public IReadOnlyList<Zone> Zones => _zones;

    /// <summary>Tracks whose best sighting changed on the last frame (a snapshot is due).</summary>
    public List<TrackedObject> SnapshotDue { get; } = [];

    /// <summary>Applies new settings; zones are recompiled (objects re-enter them with inertia) when they changed.</summary>
    public void Configure(EventSettings settings)
    {
        var defined = settings.Zones.TryGetValue(CameraId, out var z) && z is not null
            ? z.Where(kv => kv.Value is not null).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray()
            : [];
        var signature = string.Join(";", defined.Select(kv => $"{kv.Key}|{string.Join(",", kv.Value.Points.Select(p => $"{p[0]} {p[1]}"))}|{kv.Value.Inertia}|{kv.Value.LoiterSeconds}|{string.Join(",", kv.Value.Labels)}"));
        if (signature != _zoneSignature)
        {
            _zoneSignature = signature;
            _zones = defined.Select(kv => new Zone(kv.Key, kv.Value)).ToArray();
            foreach (var t in _tracker.Tracks)
            {
                t.Zones = new ZoneState[_zones.Length];
                t.EverInZones = 0;
                t.ReportedZones = 0;
            }
        }

        _settings = settings;
    }

    /// <summary>Runs one frame; emitted events are appended to <paramref name="events"/>.</summary>
    public void Process(IReadOnlyList<Detection> detections, double t, long seq, string? capturedAt, string? frameRef, List<ObjectEvent> events)
    {
        var s = _settings;
        SnapshotDue.Clear();
        _tracker.Update(detections, t, s);
        foreach (var track in _tracker.Tracks)
        {
            if (track.Zones.Length != _zones.Length)
            {
                track.Zones = new ZoneState[_zones.Length];
            }

            if (!track.MatchedThisFrame)
            {
                continue;
            }

            if (track.TopScoreRose)
            {
                track.Best = new BestSighting(seq, capturedAt, frameRef, track.Score, track.Box, t, track.Best.Jpeg);
                SnapshotDue.Add(track);
            }

            var (cx, cy) = TrackedObject.Centre(track.Box);
            for (var i = 0; i < _zones.Length; i++)
            {
                var zone = _zones[i];
                if (zone.Applies(track.Label) && track.Zones[i].Step(zone.Contains(cx, cy), t, zone) && track.Zones[i].Present)
                {
                    track.EverInZones |= 1UL << i;
                }
            }

            if (!track.Confirmed)
            {
                continue;
            }

            if (!track.Announced)
            {
                track.Announced = true;
                events.Add(Build(ObjectEvent.New, track, null, null));
                continue;
            }

            var changes = Changes(track, s);
            if (changes is not null)
            {
                events.Add(Build(ObjectEvent.Update, track, changes, null));
            }
        }

        foreach (var track in _tracker.Removed)
        {
            if (track.Announced)
            {
                events.Add(Build(ObjectEvent.End, track, null, AtEdge(track.Box) ? "left" : "timeout"));
            }
        }
    }

    /// <summary>Ends every announced object with <paramref name="reason"/> (shutdown, tracking disabled) and forgets all tracks.</summary>
    public void EndAll(string reason, List<ObjectEvent> events)
    {
        _tracker.Clear();
        foreach (var track in _tracker.Removed)
        {
            if (track.Announced)
            {
                events.Add(Build(ObjectEvent.End, track, null, reason));
            }
        }
    }

    private List<string>? Changes(TrackedObject track, EventSettings s)
    {
        List<string>? changes = null;
        var zones = PresentMask(track);
        if (zones != track.ReportedZones)
        {
            for (var i = 0; i < _zones.Length; i++)
            {
                var bit = 1UL << i;
                if ((zones & bit) != (track.ReportedZones & bit))
                {
                    (changes ??= []).Add(((zones & bit) != 0 ? "entered:" : "left:") + _zones[i].Name);
                }
            }
        }

        if (track.Stationary != track.ReportedStationary)
        {
            (changes ??= []).Add(track.Stationary ? "stationary" : "moving");
        }

        if (track.TopScore - track.ReportedTopScore >= s.ScoreImprovement && s.ScoreImprovement > 0)
        {
            (changes ??= []).Add("score");
        }

        return changes;
    }

    private ulong PresentMask(TrackedObject track)
    {
        ulong mask = 0;
        for (var i = 0; i < track.Zones.Length; i++)
        {
            if (track.Zones[i].Present)
            {
                mask |= 1UL << i;
            }
        }

        return mask;
    }

    private static bool AtEdge(NormalizedBox b) =>
        b.X <= EdgeMargin || b.Y <= EdgeMargin || b.X + b.W >= 1 - EdgeMargin || b.Y + b.H >= 1 - EdgeMargin;

    private ObjectEvent Build(string type, TrackedObject track, List<string>? changes, string? endReason)
    {
        var present = PresentMask(track);
        track.ReportedZones = present;
        track.ReportedStationary = track.Stationary;
        track.ReportedTopScore = track.TopScore;
        track.EventCount++;
        var points = new float[track.PathCount][];
        for (var i = 0; i < points.Length; i++)
        {
            points[i] = [MathF.Round(track.PathX[i], 3), MathF.Round(track.PathY[i], 3)];
        }

        var best = track.Best;
        return new ObjectEvent(type, EventId(track.Id), CameraId, track.Id, track.Label, R(track.Score), R(track.TopScore),
            Time(track.FirstSeen), Time(track.LastSeen), Names(present), Names(track.EverInZones), track.Stationary, Box(track.Box),
            new EventPath(points, R(track.Distance), track.Hits),
            new EventSnapshot(best.Seq, best.CapturedAt, best.FrameRef, R(best.Score), Box(best.Box),
                best.Jpeg is { } jpeg ? Convert.ToBase64String(jpeg) : null),
            changes, endReason);
    }

    /// <summary>Unique across restarts: camera, the run (engine start time) and the object id.</summary>
    public string EventId(long objectId) => $"{CameraId}-{_runId}-{objectId}";

    private List<string> Names(ulong mask)
    {
        var names = new List<string>();
        for (var i = 0; i < _zones.Length; i++)
        {
            if ((mask & (1UL << i)) != 0)
            {
                names.Add(_zones[i].Name);
            }
        }

        return names;
    }

    private static EventBox Box(NormalizedBox b) => new(R(b.X), R(b.Y), R(b.W), R(b.H));

    private static float R(float v) => MathF.Round(v, 4);

    internal static DateTimeOffset Time(double t) => DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(t * 1000));
}
