using Inference.Events;
using Inference.Processing;

namespace Inference.Tracking;

/// <summary>
/// Multi-object tracker for one camera (SORT-style): each frame the tracks' constant-velocity Kalman filters predict, detections
/// are associated with the predictions greedily (cheapest pair first) or by minimum-cost (Hungarian) matching on IoU
/// (<see cref="EventSettings.Matching"/>), same label only, with centre distance as
/// the fallback for pairs IoU does not reach (ranked after every IoU pair); matched tracks are corrected, unmatched detections at or above <see cref="EventSettings.MinScore"/> start
/// tentative tracks, and a track is confirmed once it has <see cref="EventSettings.MinHits"/> hits and the median of its recent
/// scores reaches <see cref="EventSettings.ConfirmScore"/> (so a one-frame false positive never becomes an object). A confirmed
/// track survives missed frames for <see cref="EventSettings.MaxAgeSeconds"/>; a tentative one dies on its second miss.
/// Not thread-safe: a camera's frames are processed one at a time. Steady state allocates nothing per frame.
/// </summary>
internal sealed class ObjectTracker
{
    private readonly List<TrackedObject> _tracks = [];
    private readonly List<TrackedObject> _removed = [];
    private const float Impossible = 1e6f;
    private readonly Assignment _assignment = new();
    private float[] _cost = new float[256];
    private int[] _rowToCol = new int[16];
    private Pair[] _pairs = new Pair[256];
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
        Associate(detections, t, s);

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

    /// <summary>
    /// Builds the track × detection cost matrix (IoU pairs first: cost 1 − IoU; centre-distance pairs after them: 1 + d/gate;
    /// impossible pairs: <see cref="Impossible"/>), solves it with the Hungarian method, and applies the possible matches.
    /// </summary>
    private void Associate(IReadOnlyList<Detection> detections, double t, EventSettings s)
    {
        var nt = _tracks.Count;
        var nd = detections.Count;
        if (nt == 0 || nd == 0)
        {
            return;
        }

        var transpose = nt > nd;
        var rows = transpose ? nd : nt;
        var cols = transpose ? nt : nd;
        if (_cost.Length < rows * cols)
        {
            _cost = new float[Math.Max(rows * cols, _cost.Length * 2)];
        }

        if (_rowToCol.Length < rows)
        {
            _rowToCol = new int[Math.Max(rows, _rowToCol.Length * 2)];
        }

        var minIou = (float)s.MatchIou;
        var gate = (float)s.CentroidGate;
        for (var ti = 0; ti < nt; ti++)
        {
            var track = _tracks[ti];
            var predicted = track.Estimate;
            var (tx, ty) = TrackedObject.Centre(predicted);
            var tSize = (predicted.W + predicted.H) / 2;

            // The prediction gets less certain with every missed frame: the centre gate widens with it.
            var trackGate = gate + (0.25f * Math.Min(track.Misses, 8));
            for (var di = 0; di < nd; di++)
            {
                var d = detections[di];
                var cost = Impossible;
                if (string.Equals(d.Label, track.Label, StringComparison.Ordinal))
                {
                    var iou = predicted.IoU(d.Box);
                    if (iou >= minIou)
                    {
                        cost = 1 - iou;
                    }
                    else if (gate > 0)
                    {
                        // Centre distance in box sizes; boxes of very different sizes never match this way.
                        var dSize = (d.Box.W + d.Box.H) / 2;
                        var ratio = dSize / MathF.Max(tSize, 1e-4f);
                        var (dx, dy) = TrackedObject.Centre(d.Box);
                        var dist = MathF.Sqrt(((dx - tx) * (dx - tx)) + ((dy - ty) * (dy - ty))) / MathF.Max((tSize + dSize) / 2, 1e-4f);
                        if (ratio is >= 0.5f and <= 2f && dist < trackGate)
                        {
                            cost = 1 + (dist / trackGate);
                        }
                    }
                }

                _cost[transpose ? (di * cols) + ti : (ti * cols) + di] = cost;
            }
        }

        if (s.Matching == TrackMatching.Hungarian)
        {
            _assignment.Solve(_cost.AsSpan(0, rows * cols), rows, cols, _rowToCol);
            for (var r = 0; r < rows; r++)
            {
                var c = _rowToCol[r];
                if (c >= 0 && _cost[(r * cols) + c] < Impossible)
                {
                    Match(transpose ? c : r, transpose ? r : c, detections, t, s);
                }
            }

            return;
        }

        // Greedy: the cheapest possible pair first, then the next among what is left.
        var n = 0;
        if (_pairs.Length < rows * cols)
        {
            _pairs = new Pair[Math.Max(rows * cols, _pairs.Length * 2)];
        }

        for (var i = 0; i < rows * cols; i++)
        {
            if (_cost[i] < Impossible)
            {
                var (r, c) = Math.DivRem(i, cols);
                _pairs[n++] = new Pair(transpose ? c : r, transpose ? r : c, _cost[i]);
            }
        }

        Array.Sort(_pairs, 0, n, PairComparer.Instance);
        for (var i = 0; i < n; i++)
        {
            var p = _pairs[i];
            if (!_tracks[p.Track].MatchedThisFrame && !_detUsed[p.Detection])
            {
                Match(p.Track, p.Detection, detections, t, s);
            }
        }
    }

    private void Match(int ti, int di, IReadOnlyList<Detection> detections, double t, EventSettings s)
    {
        var d = detections[di];
        _tracks[ti].Hit(d.Score, d.Box, t, (float)s.StationaryMove, s.StationarySeconds);
        _detUsed[di] = true;
    }

    private readonly record struct Pair(int Track, int Detection, float Cost);

    /// <summary>Cheapest pair first; ties broken by track then detection index so the result is deterministic.</summary>
    private sealed class PairComparer : IComparer<Pair>
    {
        public static readonly PairComparer Instance = new();

        public int Compare(Pair a, Pair b)
        {
            var c = a.Cost.CompareTo(b.Cost);
            if (c != 0)
            {
                return c;
            }

            c = a.Track.CompareTo(b.Track);
            return c != 0 ? c : a.Detection.CompareTo(b.Detection);
        }
    }
}
