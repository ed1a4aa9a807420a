namespace Inference.Tracking;

/// <summary>
/// Minimum-cost assignment of rows to columns (the Hungarian method in its O(n²m) potentials form, Kuhn–Munkres / Jonker–Volgenant
/// style), over reusable buffers: after the first frames it allocates nothing.
/// </summary>
internal sealed class Assignment
{
    private double[] _u = new double[17];
    private double[] _v = new double[17];
    private double[] _minv = new double[17];
    private int[] _p = new int[17];
    private int[] _way = new int[17];
    private bool[] _used = new bool[17];

    /// <summary>
    /// Assigns each of <paramref name="rows"/> rows (rows ≤ cols) a distinct column minimising the total of
    /// <paramref name="cost"/> (row-major, rows × cols); <paramref name="rowToCol"/> receives the column of each row.
    /// </summary>
    public void Solve(ReadOnlySpan<float> cost, int rows, int cols, Span<int> rowToCol)
    {
        if (rows > cols)
        {
            throw new ArgumentException("rows must not exceed cols", nameof(rows));
        }

        Ensure(cols + 1);
        var u = _u;
        var v = _v;
        var p = _p;
        var way = _way;
        Array.Clear(u, 0, rows + 1);
        Array.Clear(v, 0, cols + 1);
        Array.Clear(p, 0, cols + 1);
        for (var i = 1; i <= rows; i++)
        {
            p[0] = i;
            var j0 = 0;
            Array.Fill(_minv, double.PositiveInfinity, 0, cols + 1);
            Array.Clear(_used, 0, cols + 1);
            do
            {
                _used[j0] = true;
                var i0 = p[j0];
                var delta = double.PositiveInfinity;
                var j1 = 0;
                var rowBase = (i0 - 1) * cols;
                for (var j = 1; j <= cols; j++)
                {
                    if (!_used[j])
                    {
                        var cur = cost[rowBase + j - 1] - u[i0] - v[j];
                        if (cur < _minv[j])
                        {
                            _minv[j] = cur;
                            way[j] = j0;
                        }

                        if (_minv[j] < delta)
                        {
                            delta = _minv[j];
                            j1 = j;
                        }
                    }
                }

                for (var j = 0; j <= cols; j++)
                {
                    if (_used[j])
                    {
                        u[p[j]] += delta;
                        v[j] -= delta;
                    }
                    else
                    {
                        _minv[j] -= delta;
                    }
                }

                j0 = j1;
            }
            while (p[j0] != 0);

            do
            {
                var j1 = way[j0];
                p[j0] = p[j1];
                j0 = j1;
            }
            while (j0 != 0);
        }

        rowToCol[..rows].Fill(-1);
        for (var j = 1; j <= cols; j++)
        {
            if (p[j] != 0)
            {
                rowToCol[p[j] - 1] = j - 1;
            }
        }
    }

    private void Ensure(int n)
    {
        if (_u.Length >= n)
        {
            return;
        }

        var size = Math.Max(n, _u.Length * 2);
        _u = new double[size];
        _v = new double[size];
        _minv = new double[size];
        _p = new int[size];
        _way = new int[size];
        _used = new bool[size];
    }
}
