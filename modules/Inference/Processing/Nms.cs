namespace Inference.Processing;

/// <summary>Non-maximum suppression over normalised detections.</summary>
internal static class Nms
{
    private static readonly Comparison<Detection> ByScoreDescending = (a, b) => b.Score.CompareTo(a.Score);

    /// <summary>Class-wise hard NMS in place: keeps the highest-scoring box of each overlapping group of the same class.</summary>
    public static void Hard(List<Detection> detections, float iou)
    {
        detections.Sort(ByScoreDescending);
        for (var i = 0; i < detections.Count; i++)
        {
            var keep = detections[i];
            for (var j = detections.Count - 1; j > i; j--)
            {
                if (detections[j].ClassId == keep.ClassId && keep.Box.IoU(detections[j].Box) > iou)
                {
                    detections.RemoveAt(j);
                }
            }
        }
    }

    /// <summary>
    /// Weighted NMS (MediaPipe/BlazeFace): each group of boxes overlapping the best one above <paramref name="iou"/>
    /// becomes one detection whose box and keypoints are the score-weighted mean and whose score is the best one.
    /// </summary>
    public static void Weighted(List<Detection> detections, float iou)
    {
        detections.Sort(ByScoreDescending);
        var remaining = new List<Detection>(detections);
        detections.Clear();
        var group = new List<Detection>();
        while (remaining.Count > 0)
        {
            var best = remaining[0];
            group.Clear();
            for (var j = remaining.Count - 1; j >= 0; j--)
            {
                if (j == 0 || best.Box.IoU(remaining[j].Box) > iou)
                {
                    group.Add(remaining[j]);
                    remaining.RemoveAt(j);
                }
            }

            float sw = 0, x = 0, y = 0, w = 0, h = 0;
            var kpCount = best.Keypoints?.Length ?? 0;
            var kps = kpCount > 0 ? new NormalizedPoint[kpCount] : null;
            var kx = new float[kpCount];
            var ky = new float[kpCount];
            foreach (var d in group)
            {
                sw += d.Score;
                x += d.Box.X * d.Score;
                y += d.Box.Y * d.Score;
                w += d.Box.W * d.Score;
                h += d.Box.H * d.Score;
                for (var k = 0; k < kpCount && d.Keypoints is not null; k++)
                {
                    kx[k] += d.Keypoints[k].X * d.Score;
                    ky[k] += d.Keypoints[k].Y * d.Score;
                }
            }

            for (var k = 0; k < kpCount; k++)
            {
                kps![k] = new NormalizedPoint(kx[k] / sw, ky[k] / sw);
            }

            detections.Add(best with { Box = new NormalizedBox(x / sw, y / sw, w / sw, h / sw), Keypoints = kps });
        }
    }
}
