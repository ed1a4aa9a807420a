namespace Inference.Processing;

/// <summary>A box normalised to the frame (0–1), top-left origin.</summary>
public readonly record struct NormalizedBox(float X, float Y, float W, float H)
{
    /// <summary>Area as a fraction of the frame.</summary>
    public float Area => W * H;

    /// <summary>Intersection over union with another box.</summary>
    public float IoU(NormalizedBox o)
    {
        var ix = Math.Max(0, Math.Min(X + W, o.X + o.W) - Math.Max(X, o.X));
        var iy = Math.Max(0, Math.Min(Y + H, o.Y + o.H) - Math.Max(Y, o.Y));
        var inter = ix * iy;
        var union = Area + o.Area - inter;
        return union <= 0 ? 0 : inter / union;
    }

    /// <summary>Clamped to the frame.</summary>
    public NormalizedBox Clamp()
    {
        var x0 = Math.Clamp(X, 0, 1);
        var y0 = Math.Clamp(Y, 0, 1);
        var x1 = Math.Clamp(X + W, 0, 1);
        var y1 = Math.Clamp(Y + H, 0, 1);
        return new NormalizedBox(x0, y0, x1 - x0, y1 - y0);
    }
}

/// <summary>A normalised point (0–1).</summary>
public readonly record struct NormalizedPoint(float X, float Y);

/// <summary>One decoded detection before thresholds: class id, label, score, box and optional keypoints.</summary>
internal sealed record Detection(int ClassId, string Label, float Score, NormalizedBox Box, NormalizedPoint[]? Keypoints = null);
