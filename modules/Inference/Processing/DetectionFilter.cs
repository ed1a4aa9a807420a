namespace Inference.Processing;

/// <summary>Applies <see cref="ThresholdSettings"/> to decoded detections.</summary>
internal static class DetectionFilter
{
    /// <summary>The lowest score any label may pass with: decoders skip candidates below it.</summary>
    public static float LowestMinScore(ThresholdSettings t)
    {
        var min = t.MinScore;
        foreach (var v in t.PerClass.Values)
        {
            min = Math.Min(min, v);
        }

        return (float)min;
    }

    /// <summary>Keeps detections that pass the per-label score, allow-list and box-area rules, best first, at most MaxDetections.</summary>
    public static List<Detection> Apply(List<Detection> detections, ThresholdSettings t)
    {
        var kept = new List<Detection>(Math.Min(detections.Count, t.MaxDetections));
        foreach (var d in detections)
        {
            var min = t.PerClass.TryGetValue(d.Label, out var perClass) ? perClass : t.MinScore;
            if (d.Score < min)
            {
                continue;
            }

            if (t.AllowList.Count > 0 && !t.AllowList.Contains(d.Label, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var area = d.Box.Area;
            if (area < t.MinBoxArea || area > t.MaxBoxArea)
            {
                continue;
            }

            kept.Add(d);
        }

        kept.Sort((a, b) => b.Score.CompareTo(a.Score));
        if (kept.Count > t.MaxDetections)
        {
            kept.RemoveRange(t.MaxDetections, kept.Count - t.MaxDetections);
        }

        return kept;
    }
}
