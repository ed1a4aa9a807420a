namespace Inference.Events;

/// <summary>Point-in-polygon and area for zones (normalised coordinates).</summary>
internal static class Polygon
{
    /// <summary>Even-odd ray casting: true when (x, y) lies inside the polygon given as parallel coordinate arrays.</summary>
    public static bool Contains(ReadOnlySpan<float> xs, ReadOnlySpan<float> ys, float x, float y)
    {
        var inside = false;
        for (int i = 0, j = xs.Length - 1; i < xs.Length; j = i++)
        {
            if ((ys[i] > y) != (ys[j] > y) && x < ((xs[j] - xs[i]) * (y - ys[i]) / (ys[j] - ys[i])) + xs[i])
            {
                inside = !inside;
            }
        }

        return inside;
    }

    /// <summary>Shoelace formula (positive counter-clockwise in y-up terms).</summary>
    public static float SignedArea(IReadOnlyList<float[]> points)
    {
        var a = 0f;
        for (int i = 0, j = points.Count - 1; i < points.Count; j = i++)
        {
            a += (points[j][0] * points[i][1]) - (points[i][0] * points[j][1]);
        }

        return a / 2;
    }
}
