using Inference.Events;
using Inference.Processing;

namespace Inference.Tracking;

/// <summary>
/// Multi-object tracker for one camera (SORT-style): each frame the tracks' constant-velocity Kalman filters predict, detections
/// are associated greedily by IoU with the predictions (best pair first, same label only), then by centre distance for what IoU
/// left unmatched; matched tracks are corrected, unmatched detections at or above <see cref="EventSettings.MinScore"/> start
/// tentative tracks, and a track is confirmed once it has <see cref="EventSettings.MinHits"/> hits and the median of its recent
/// scores reaches <see cref="EventSettings.ConfirmScore"/> (so a one-frame false positive never becomes an object). A confirmed
/// track survives missed frames for <see cref="EventSettings.MaxAgeSeconds"/>; a tentative one dies on its second miss.
/// Not thread-safe: a camera's frames are processed one at a time. Steady state allocates nothing per frame.
/// </summary>
internal sealed class ObjectTracker
{
    private readonly List<TrackedObject> _tracks = [];
    private readonly List<TrackedObject> _removed = [];
    private Pair[] _pairs = new Pair[64];
    private bool[] _detUsed = new bool[16];
    private long _nextId;

    public ObjectTracker(long firstId = 1) => _nextId = firstId;

    /// <summary>Live tracks (tentative and confirmed).</summary>
    public IReadOnlyList<TrackedObject> Tracks => _tracks;

    /// <summary>Tracks removed by the last <see cref="Update"/> (lost past their max age, or tentative and missed).</summary>
    public IReadOnlyList<TrackedObject> Removed => _removed;

    /// <summary>The id the next new track gets.</summary>
    public long NextId => _nextId;

    /// <summary>Associates one frame's detections (time <paramref name="t"/>, seconds) with the tracks.</summary>
    public void Update(IReadOnlyList<Detection> detections, double t, EventSettings s)
    {
        _removed.Clear();
        foreach (var track in _tracks)
        {
            track.Predict(t);
            track.MatchedThisFrame = false;
            track.TopScoreRose = false;
            track.StationaryChanged = false;
        }

        if (_detUsed.Length < detections.Count)
        {
            _detUsed = new bool[Math.Max(detections.Count, _detUsed.Length * 2)];
        }

        Array.Clear(_detUsed, 0, detections.Count);
        var n = CollectPairs(detections, (float)s.MatchIou, (float)s.CentroidGate);
        Array.Sort(_pairs, 0, n, PairComparer.Instance);
        for (var i = 0; i < n; i++)
        {
            var p = _pairs[i];
            var track = _tracks[p.Track];
            if (track.MatchedThisFrame || _detUsed[p.Detection])
            {
                continue;
            }

            var d = detections[p.Detection];
            track.Hit(d.Score, d.Box, t, (float)s.StationaryMove, s.StationarySeconds);
            _detUsed[p.Detection] = true;
        }

        for (var i = _tracks.Count - 1; i >= 0; i--)
        {
            var track = _tracks[i];
            if (track.MatchedThisFrame)
            {
                if (!track.Confirmed && track.Hits >= s.MinHits && track.MedianScore() >= s.ConfirmScore)
                {
                    track.Confirmed = true;
                }

                continue;
            }

            track.Miss();
            var lost = track.Confirmed ? t - track.LastSeen > s.MaxAgeSeconds : track.Misses >= 2;
            if (lost)
            {
                _removed.Add(track);
                _tracks.RemoveAt(i);
            }
        }

        for (var j = 0; j < detections.Count; j++)
        {
            var d = detections[j];
            if (!_detUsed[j] && d.Score >= s.MinScore)
            {
                var track = new TrackedObject(_nextId++, d.Label, d.Score, d.Box, t) { MatchedThisFrame = true, TopScoreRose = true };
                if (s.MinHits <= 1 && d.Score >= s.ConfirmScore)
                {
                    track.Confirmed = true;
                }

                _tracks.Add(track);
            }
        }
    }

    /// <summary>Removes every track (a restart or a settings change that resets tracking); they are listed in <see cref="Removed"/>.</summary>
    public void Clear()
    {
        _removed.Clear();
        _removed.AddRange(_tracks);
        _tracks.Clear();
    }

    private int CollectPairs(IReadOnlyList<Detection> detections, float minIou, float gate)
    {
        var n = 0;
        for (var ti = 0; ti < _tracks.Count; ti++)
        {
            var track = _tracks[ti];
            var predicted = track.Estimate;
            var (tx, ty) = TrackedObject.Centre(predicted);
            var tSize = (predicted.W + predicted.H) / 2;
            for (var di = 0; di < detections.Count; di++)
            {
                var d = detections[di];
                if (!string.Equals(d.Label, track.Label, StringComparison.Ordinal))
                {
                    continue;
                }

                var iou = predicted.IoU(d.Box);
                float score;
                if (iou >= minIou)
                {
                    score = 1 + iou;
                }
                else if (gate > 0)
                {
                    // Centre distance in box sizes; boxes of very different sizes never match this way.
                    var dSize = (d.Box.W + d.Box.H) / 2;
                    var ratio = dSize / MathF.Max(tSize, 1e-4f);
                    if (ratio is < 0.5f or > 2f)
                    {
                        continue;
                    }

                    var (dx, dy) = TrackedObject.Centre(d.Box);
                    var dist = MathF.Sqrt(((dx - tx) * (dx - tx)) + ((dy - ty) * (dy - ty))) / MathF.Max((tSize + dSize) / 2, 1e-4f);
                    if (dist >= gate)
                    {
                        continue;
                    }

                    score = 1 - (dist / gate);
                }
                else
                {
                    continue;
                }

                if (n == _pairs.Length)
                {
                    Array.Resize(ref _pairs, n * 2);
                }

                _pairs[n++] = new Pair(ti, di, score);
            }
        }

        return n;
    }

    private readonly record struct Pair(int Track, int Detection, float Score);

    /// <summary>Best pair first; ties broken by track then detection index so the result is deterministic.</summary>
    private sealed class PairComparer : IComparer<Pair>
    {
        public static readonly PairComparer Instance = new();

        public int Compare(Pair a, Pair b)
        {
            var c = b.Score.CompareTo(a.Score);
            if (c != 0)
            {
                return c;
            }

            c = a.Track.CompareTo(b.Track);
            return c != 0 ? c : a.Detection.CompareTo(b.Detection);
        }
    }
}
