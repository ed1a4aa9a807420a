namespace Inference.Processing;

/// <summary>The last N latencies (ms) for p50/p99; thread-safe, fixed memory.</summary>
internal sealed class LatencyWindow(int size = 1024)
{
    private readonly double[] _values = new double[size];
    private readonly Lock _lock = new();
    private int _count;
    private int _next;

    public void Add(double ms)
    {
        lock (_lock)
        {
            _values[_next] = ms;
            _next = (_next + 1) % _values.Length;
            _count = Math.Min(_count + 1, _values.Length);
        }
    }

    /// <summary>The percentile (0–100) of the window, or null when empty.</summary>
    public double? Percentile(double p)
    {
        double[] copy;
        lock (_lock)
        {
            if (_count == 0)
            {
                return null;
            }

            copy = _values[.._count];
        }

        Array.Sort(copy);
        var rank = (int)Math.Ceiling(p / 100 * copy.Length) - 1;
        return Math.Round(copy[Math.Clamp(rank, 0, copy.Length - 1)], 2);
    }
}
