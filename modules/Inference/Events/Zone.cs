namespace Inference.Events;

/// <summary>A zone compiled for the per-frame test: polygon as coordinate arrays, bounding box for a quick reject, label filter.</summary>
internal sealed class Zone
{
    private readonly float[] _xs;
    private readonly float[] _ys;
    private readonly string[] _labels;
    private readonly float _minX;
    private readonly float _minY;
    private readonly float _maxX;
    private readonly float _maxY;

    public Zone(string name, ZoneSettings s)
    {
        Name = name;
        _xs = s.Points.Select(p => p[0]).ToArray();
        _ys = s.Points.Select(p => p[1]).ToArray();
        _minX = _xs.Min();
        _maxX = _xs.Max();
        _minY = _ys.Min();
        _maxY = _ys.Max();
        _labels = [.. s.Labels];
        Inertia = s.Inertia;
        LoiterSeconds = s.LoiterSeconds;
    }

    public string Name { get; }

    public int Inertia { get; }

    public double LoiterSeconds { get; }

    /// <summary>The polygon, for drawing.</summary>
    public ReadOnlySpan<float> Xs => _xs;

    public ReadOnlySpan<float> Ys => _ys;

    public bool Applies(string label)
    {
        if (_labels.Length == 0)
        {
            return true;
        }

        foreach (var l in _labels)
        {
            if (string.Equals(l, label, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public bool Contains(float x, float y) =>
        x >= _minX && x <= _maxX && y >= _minY && y <= _maxY && Polygon.Contains(_xs, _ys, x, y);
}

/// <summary>One object's state in one zone: frames in a row inside/outside, when it came in, whether it counts as present.</summary>
internal struct ZoneState
{
    public int Inside;
    public int Outside;
    public double Since;
    public bool Present;

    /// <summary>Advances the state with this frame's observation; true when <see cref="Present"/> changed.</summary>
    public bool Step(bool inside, double t, Zone zone)
    {
        if (inside)
        {
            if (Inside == 0)
            {
                Since = t;
            }

            Inside++;
            Outside = 0;
            if (!Present && Inside >= zone.Inertia && t - Since >= zone.LoiterSeconds)
            {
                Present = true;
                return true;
            }
        }
        else
        {
            Outside++;
            Inside = 0;
            if (Present && Outside >= zone.Inertia)
            {
                Present = false;
                return true;
            }
        }

        return false;
    }
}
