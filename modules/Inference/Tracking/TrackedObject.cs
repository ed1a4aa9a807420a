using Inference.Processing;

namespace Inference.Tracking;

/// <summary>One object followed across frames: its filter, hits and misses, score history, stationarity and path.</summary>
internal sealed class TrackedObject
{
    /// <summary>Scores kept for the confirmation median.</summary>
    public const int ScoreHistory = 10;

    /// <summary>Path points kept (older ones are thinned: every other one dropped when full).</summary>
    public const int PathCapacity = 16;

    private readonly float[] _scores = new float[ScoreHistory];
    private readonly float[] _pathX = new float[PathCapacity];
    private readonly float[] _pathY = new float[PathCapacity];
    private int _scoreCount;
    private int _scoreNext;
    private KalmanBox _filter;

    public TrackedObject(long id, string label, float score, NormalizedBox box, double t)
    {
        Id = id;
        Label = label;
        _filter = new KalmanBox(box);
        Box = box;
        FirstSeen = t;
        LastSeen = t;
        LastPredicted = t;
        Hits = 1;
        Score = score;
        TopScore = score;
        AddScore(score);
        var (cx, cy) = Centre(box);
        AnchorX = cx;
        AnchorY = cy;
        AnchorTime = t;
        AddPathPoint(cx, cy);
    }

    public long Id { get; }

    public string Label { get; }

    /// <summary>The last measured box (the detection it matched).</summary>
    public NormalizedBox Box { get; private set; }

    /// <summary>The filter's estimate (predicted to the current frame).</summary>
    public NormalizedBox Estimate => _filter.Box;

    public double FirstSeen { get; }

    public double LastSeen { get; private set; }

    /// <summary>When the filter was last moved forward.</summary>
    public double LastPredicted { get; private set; }

    public int Hits { get; private set; }

    /// <summary>Frames in a row without a detection.</summary>
    public int Misses { get; private set; }

    public float Score { get; private set; }

    public float TopScore { get; private set; }

    public bool Confirmed { get; set; }

    /// <summary>A <c>new</c> event was emitted for it (so its <c>end</c> will be).</summary>
    public bool Announced { get; set; }

    /// <summary>Zones (bit per zone index) the object has been counted in at any time.</summary>
    public ulong EverInZones { get; set; }

    /// <summary>Zones (bit per zone index) the object was in when the last event was emitted.</summary>
    public ulong ReportedZones { get; set; }

    /// <summary>Events emitted for it so far (numbers the update message ids).</summary>
    public int EventCount { get; set; }

    public bool Stationary { get; private set; }

    /// <summary>Set by the tracker on a frame where stationarity flipped (either way).</summary>
    public bool StationaryChanged { get; set; }

    /// <summary>Set by the tracker on a frame where <see cref="TopScore"/> rose.</summary>
    public bool TopScoreRose { get; set; }

    /// <summary>Matched on the current frame.</summary>
    public bool MatchedThisFrame { get; set; }

    public float AnchorX { get; private set; }

    public float AnchorY { get; private set; }

    public double AnchorTime { get; private set; }

    /// <summary>Distance the centre travelled (normalised units, from the filtered estimate).</summary>
    public float Distance { get; private set; }

    public int PathCount { get; private set; }

    /// <summary>Zone state, one entry per zone of the camera (see <see cref="Events.ZoneState"/>); owned by the event engine.</summary>
    public Events.ZoneState[] Zones { get; set; } = [];

    /// <summary>The best-scored detection: what a snapshot shows.</summary>
    public BestSighting Best { get; set; }

    /// <summary>The top score last reported in an event (for <see cref="Events.EventSettings.ScoreImprovement"/>).</summary>
    public float ReportedTopScore { get; set; }

    public bool ReportedStationary { get; set; }

    public ReadOnlySpan<float> PathX => _pathX.AsSpan(0, PathCount);

    public ReadOnlySpan<float> PathY => _pathY.AsSpan(0, PathCount);

    public void Predict(double t)
    {
        var dt = (float)(t - LastPredicted);
        _filter.Predict(dt);
        LastPredicted = t;
    }

    public void Hit(float score, NormalizedBox box, double t, float stationaryMove, double stationarySeconds)
    {
        _filter.Update(box);
        Box = box;
        LastSeen = t;
        Hits++;
        Misses = 0;
        MatchedThisFrame = true;
        Score = score;
        AddScore(score);
        if (score > TopScore)
        {
            TopScore = score;
            TopScoreRose = true;
        }

        var (cx, cy) = Centre(_filter.Box);
        if (PathCount > 0)
        {
            var lx = _pathX[PathCount - 1];
            var ly = _pathY[PathCount - 1];
            var step = MathF.Sqrt(((cx - lx) * (cx - lx)) + ((cy - ly) * (cy - ly)));
            if (step >= 0.02f)
            {
                Distance += step;
                AddPathPoint(cx, cy);
            }
        }

        // Stationary: the centre stays within a fraction of the object's size of an anchor for long enough.
        var size = MathF.Max(box.W, box.H);
        var moved = MathF.Sqrt(((cx - AnchorX) * (cx - AnchorX)) + ((cy - AnchorY) * (cy - AnchorY)));
        if (moved > stationaryMove * size)
        {
            AnchorX = cx;
            AnchorY = cy;
            AnchorTime = t;
            if (Stationary)
            {
                Stationary = false;
                StationaryChanged = true;
            }
        }
        else if (!Stationary && t - AnchorTime >= stationarySeconds)
        {
            Stationary = true;
            StationaryChanged = true;
        }
    }

    public void Miss()
    {
        Misses++;
        MatchedThisFrame = false;

        // After a few misses the velocity is decayed: a lost object is assumed to slow down rather than to fly off.
        if (Misses > 5)
        {
            _filter.Damp(0.85f);
        }
    }

    /// <summary>Median of the recent scores (Frigate's "median of the score history").</summary>
    public float MedianScore()
    {
        Span<float> s = stackalloc float[ScoreHistory];
        var n = _scoreCount;
        _scores.AsSpan(0, n).CopyTo(s);
        s = s[..n];
        s.Sort();
        return n % 2 == 1 ? s[n / 2] : (s[(n / 2) - 1] + s[n / 2]) / 2;
    }

    public static (float X, float Y) Centre(NormalizedBox b) => (b.X + (b.W / 2), b.Y + (b.H / 2));

    private void AddScore(float score)
    {
        _scores[_scoreNext] = score;
        _scoreNext = (_scoreNext + 1) % ScoreHistory;
        _scoreCount = Math.Min(_scoreCount + 1, ScoreHistory);
    }

    private void AddPathPoint(float x, float y)
    {
        if (PathCount == PathCapacity)
        {
            // Keep the first point and every other one after it; the newest goes at the end.
            var n = 1;
            for (var i = 2; i < PathCapacity; i += 2)
            {
                _pathX[n] = _pathX[i];
                _pathY[n] = _pathY[i];
                n++;
            }

            PathCount = n;
        }

        _pathX[PathCount] = x;
        _pathY[PathCount] = y;
        PathCount++;
    }
}

/// <summary>The frame and box where an object scored best.</summary>
internal readonly record struct BestSighting(long Seq, string? CapturedAt, string? FrameRef, float Score, NormalizedBox Box, double Time, byte[]? Jpeg);
