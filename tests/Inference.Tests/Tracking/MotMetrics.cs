using Inference.Processing;

namespace Inference.Tests.Tracking;

/// <summary>One frame of ground truth or tracker output: object id and box.</summary>
internal readonly record struct Labeled(long Id, NormalizedBox Box);

/// <summary>
/// The standard multi-object-tracking scores, computed the way their papers define them, with a box counted as a match at
/// IoU ≥ 0.5:
/// <list type="bullet">
/// <item>CLEAR-MOT (K. Bernardin, R. Stiefelhagen, "Evaluating Multiple Object Tracking Performance: The CLEAR MOT Metrics",
/// EURASIP J. Image and Video Processing, 2008): per frame, correspondences of the previous frame are kept while still valid,
/// the rest are assigned by minimum-cost (Hungarian) matching; a ground-truth object matched to a different hypothesis than
/// at its last match is an ID switch; MOTA = 1 − (misses + false positives + ID switches) / ground-truth boxes.</item>
/// <item>IDF1 (E. Ristani et al., "Performance Measures and a Data Set for Multi-Target, Multi-Camera Tracking", ECCV 2016
/// workshops): one global one-to-one matching of ground-truth trajectories to hypothesis trajectories that maximises the frames
/// where both exist and match (IDTP); IDF1 = 2·IDTP / (ground-truth boxes + hypothesis boxes).</item>
/// </list>
/// </summary>
internal sealed class MotMetrics
{
    private const double MatchIou = 0.5;
    private readonly Dictionary<long, long> _lastMatch = [];
    private readonly Dictionary<(long Gt, long Hyp), int> _cooccur = [];
    private readonly HashSet<long> _gtIds = [];
    private readonly HashSet<long> _hypIds = [];

    public List<string> SwitchLog { get; } = [];

    public int Frame { get; private set; }

    public int GroundTruth { get; private set; }

    public int Hypotheses { get; private set; }

    public int Misses { get; private set; }

    public int FalsePositives { get; private set; }

    public int IdSwitches { get; private set; }

    public int Matches { get; private set; }

    public int GroundTruthTracks => _gtIds.Count;

    public int HypothesisTracks => _hypIds.Count;

    public double Mota => GroundTruth == 0 ? 1 : 1 - ((Misses + FalsePositives + IdSwitches) / (double)GroundTruth);

    public void AddFrame(IReadOnlyList<Labeled> gt, IReadOnlyList<Labeled> hyp)
    {
        GroundTruth += gt.Count;
        Hypotheses += hyp.Count;
        foreach (var g in gt)
        {
            _gtIds.Add(g.Id);
            foreach (var h in hyp)
            {
                if (g.Box.IoU(h.Box) >= MatchIou)
                {
                    _cooccur[(g.Id, h.Id)] = _cooccur.GetValueOrDefault((g.Id, h.Id)) + 1;
                }
            }
        }

        foreach (var h in hyp)
        {
            _hypIds.Add(h.Id);
        }

        // CLEAR-MOT step 1: keep last frame's correspondences that are still valid.
        var gtMatched = new bool[gt.Count];
        var hypMatched = new bool[hyp.Count];
        var pairs = new List<(int G, int H)>();
        for (var gi = 0; gi < gt.Count; gi++)
        {
            if (_lastMatch.TryGetValue(gt[gi].Id, out var hid))
            {
                var hi = IndexOf(hyp, hid);
                if (hi >= 0 && !hypMatched[hi] && gt[gi].Box.IoU(hyp[hi].Box) >= MatchIou)
                {
                    gtMatched[gi] = hypMatched[hi] = true;
                    pairs.Add((gi, hi));
                }
            }
        }

        // Step 2: Hungarian matching of the rest on 1 − IoU, gated at IoU ≥ 0.5.
        var freeG = Enumerable.Range(0, gt.Count).Where(i => !gtMatched[i]).ToArray();
        var freeH = Enumerable.Range(0, hyp.Count).Where(i => !hypMatched[i]).ToArray();
        if (freeG.Length > 0 && freeH.Length > 0)
        {
            var cost = new double[freeG.Length, freeH.Length];
            for (var a = 0; a < freeG.Length; a++)
            {
                for (var b = 0; b < freeH.Length; b++)
                {
                    var iou = gt[freeG[a]].Box.IoU(hyp[freeH[b]].Box);
                    cost[a, b] = iou >= MatchIou ? 1 - iou : 1e6;
                }
            }

            var assign = Hungarian.Solve(cost);
            for (var a = 0; a < assign.Length; a++)
            {
                if (assign[a] >= 0 && cost[a, assign[a]] < 1e6)
                {
                    var gi = freeG[a];
                    var hi = freeH[assign[a]];
                    if (_lastMatch.TryGetValue(gt[gi].Id, out var prev) && prev != hyp[hi].Id)
                    {
                        IdSwitches++;
                        SwitchLog.Add($"frame {Frame}: gt {gt[gi].Id} {prev} -> {hyp[hi].Id}");
                    }

                    gtMatched[gi] = hypMatched[hi] = true;
                    pairs.Add((gi, hi));
                }
            }
        }

        Frame++;
        foreach (var (gi, hi) in pairs)
        {
            _lastMatch[gt[gi].Id] = hyp[hi].Id;
        }

        Matches += pairs.Count;
        Misses += gtMatched.Count(m => !m);
        FalsePositives += hypMatched.Count(m => !m);
    }

    /// <summary>IDF1 from the global trajectory matching.</summary>
    public double Idf1()
    {
        if (GroundTruth + Hypotheses == 0)
        {
            return 1;
        }

        var gts = _gtIds.Order().ToArray();
        var hyps = _hypIds.Order().ToArray();
        if (gts.Length == 0 || hyps.Length == 0)
        {
            return 0;
        }

        var cost = new double[gts.Length, hyps.Length];
        for (var a = 0; a < gts.Length; a++)
        {
            for (var b = 0; b < hyps.Length; b++)
            {
                cost[a, b] = -_cooccur.GetValueOrDefault((gts[a], hyps[b]));
            }
        }

        var assign = Hungarian.Solve(cost);
        double idtp = 0;
        for (var a = 0; a < assign.Length; a++)
        {
            if (assign[a] >= 0)
            {
                idtp -= cost[a, assign[a]];
            }
        }

        return 2 * idtp / (GroundTruth + Hypotheses);
    }

    public override string ToString() =>
        $"GT boxes {GroundTruth}, GT tracks {GroundTruthTracks}, hyp tracks {HypothesisTracks}, matches {Matches}, misses {Misses}, FP {FalsePositives}, IDSW {IdSwitches}, MOTA {Mota:F3}, IDF1 {Idf1():F3}";

    private static int IndexOf(IReadOnlyList<Labeled> list, long id)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i].Id == id)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>Minimum-cost assignment (Kuhn–Munkres with potentials, O(n²m)) of rows to columns of a rectangular matrix.</summary>
internal static class Hungarian
{
    /// <summary>For each row, the column assigned to it, or −1 when there are more rows than columns and it got none.</summary>
    public static int[] Solve(double[,] cost)
    {
        var rows = cost.GetLength(0);
        var cols = cost.GetLength(1);
        var transpose = rows > cols;
        var n = transpose ? cols : rows;
        var m = transpose ? rows : cols;
        double C(int i, int j) => transpose ? cost[j, i] : cost[i, j];

        // 1-based arrays as in the classic formulation: p[j] = row assigned to column j.
        var u = new double[n + 1];
        var v = new double[m + 1];
        var p = new int[m + 1];
        var way = new int[m + 1];
        for (var i = 1; i <= n; i++)
        {
            p[0] = i;
            var j0 = 0;
            var minv = Enumerable.Repeat(double.PositiveInfinity, m + 1).ToArray();
            var used = new bool[m + 1];
            do
            {
                used[j0] = true;
                var i0 = p[j0];
                var delta = double.PositiveInfinity;
                var j1 = 0;
                for (var j = 1; j <= m; j++)
                {
                    if (!used[j])
                    {
                        var cur = C(i0 - 1, j - 1) - u[i0] - v[j];
                        if (cur < minv[j])
                        {
                            minv[j] = cur;
                            way[j] = j0;
                        }

                        if (minv[j] < delta)
                        {
                            delta = minv[j];
                            j1 = j;
                        }
                    }
                }

                for (var j = 0; j <= m; j++)
                {
                    if (used[j])
                    {
                        u[p[j]] += delta;
                        v[j] -= delta;
                    }
                    else
                    {
                        minv[j] -= delta;
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

        var result = Enumerable.Repeat(-1, rows).ToArray();
        for (var j = 1; j <= m; j++)
        {
            if (p[j] != 0)
            {
                if (transpose)
                {
                    result[j - 1] = p[j] - 1;
                }
                else
                {
                    result[p[j] - 1] = j - 1;
                }
            }
        }

        return result;
    }
}
