using System.Diagnostics;
using Inference.Models;
using Inference.Processing;

namespace Edge.Models;

/// <summary><c>edge model compare</c> settings.</summary>
internal sealed class CompareSettings
{
    public ModelProfile Profile { get; init; } = ModelProfile.Blazeface;

    /// <summary>Detections below this score are not sent (the module's <c>thresholds.minScore</c>, default 0.5).</summary>
    public float MinScore { get; init; } = 0.5f;

    /// <summary>A candidate detection matches a reference one at this IoU or more (same label).</summary>
    public float MatchIou { get; init; } = 0.5f;

    public int MaxFrames { get; init; } = int.MaxValue;
}

/// <summary>Per-frame latency of one model: whole <c>Infer</c> (fit, normalise, run, decode, NMS) and <c>Session.Run</c> alone.</summary>
internal sealed record LatencyStats(double MedianMs, double P95Ms, double RunMedianMs, double RunP95Ms, long Bytes);

/// <summary>What <c>edge model compare</c> reports.</summary>
internal sealed record CompareResult(int Frames, int ReferenceDetections, int CandidateDetections, int Matched,
    double Recall, double Precision, double MeanScoreError, double MaxScoreError, double MeanIou, LatencyStats Reference, LatencyStats Candidate);

/// <summary>
/// Runs a reference (float) and a candidate (quantized or float16) model on the same frames through the Inference module's
/// own preprocessing, post-processing and threshold filter, and measures how far the candidate's detections are from the
/// reference's and how long each takes.
/// </summary>
internal static class ModelComparer
{
    public static CompareResult Compare(string referencePath, string candidatePath, string media, CompareSettings settings, CancellationToken ct)
    {
        using var reference = Load(referencePath, settings.Profile);
        using var candidate = Load(candidatePath, settings.Profile);
        var thresholds = new ThresholdSettings { MinScore = settings.MinScore };
        var floor = DetectionFilter.LowestMinScore(thresholds);
        var refTimes = new List<(double Total, double Run)>();
        var candTimes = new List<(double Total, double Run)>();
        int frames = 0, refCount = 0, candCount = 0, matched = 0;
        double scoreErrorSum = 0, scoreErrorMax = 0, iouSum = 0;
        foreach (var frame in MediaFrames.Read(media, settings.MaxFrames, ct))
        {
            using (frame)
            {
                if (frames == 0)
                {
                    // Warm-up outside the measurement (first-run allocations, thread-pool spin-up).
                    for (var i = 0; i < 3; i++)
                    {
                        reference.Infer(frame, floor, reference.DefaultNmsIou, []);
                        candidate.Infer(frame, floor, candidate.DefaultNmsIou, []);
                    }
                }

                // Interleaved, alternating which goes first, so neither model gets the warmer cache systematically.
                List<Detection> r, c;
                if (frames % 2 == 0)
                {
                    r = Run(reference, frame, floor, thresholds, refTimes);
                    c = Run(candidate, frame, floor, thresholds, candTimes);
                }
                else
                {
                    c = Run(candidate, frame, floor, thresholds, candTimes);
                    r = Run(reference, frame, floor, thresholds, refTimes);
                }

                frames++;
                refCount += r.Count;
                candCount += c.Count;
                foreach (var (a, b, iou) in Match(r, c, settings.MatchIou))
                {
                    matched++;
                    var e = Math.Abs(a.Score - b.Score);
                    scoreErrorSum += e;
                    scoreErrorMax = Math.Max(scoreErrorMax, e);
                    iouSum += iou;
                }
            }
        }

        return new CompareResult(frames, refCount, candCount, matched,
            refCount == 0 ? 1 : (double)matched / refCount,
            candCount == 0 ? 1 : (double)matched / candCount,
            matched == 0 ? 0 : scoreErrorSum / matched,
            scoreErrorMax,
            matched == 0 ? 0 : iouSum / matched,
            Stats(refTimes, new FileInfo(referencePath).Length),
            Stats(candTimes, new FileInfo(candidatePath).Length));
    }

    /// <summary>
    /// Greedy one-to-one matching: pairs with the same label and IoU at or above <paramref name="minIou"/>, highest IoU first.
    /// </summary>
    public static List<(Detection Reference, Detection Candidate, float Iou)> Match(IReadOnlyList<Detection> reference, IReadOnlyList<Detection> candidate, float minIou)
    {
        var pairs = new List<(int R, int C, float Iou)>();
        for (var i = 0; i < reference.Count; i++)
        {
            for (var j = 0; j < candidate.Count; j++)
            {
                if (reference[i].Label == candidate[j].Label && reference[i].Box.IoU(candidate[j].Box) is var iou && iou >= minIou)
                {
                    pairs.Add((i, j, iou));
                }
            }
        }

        var usedR = new HashSet<int>();
        var usedC = new HashSet<int>();
        var result = new List<(Detection, Detection, float)>();
        foreach (var (r, c, iou) in pairs.OrderByDescending(p => p.Iou))
        {
            if (!usedR.Contains(r) && !usedC.Contains(c))
            {
                usedR.Add(r);
                usedC.Add(c);
                result.Add((reference[r], candidate[c], iou));
            }
        }

        return result;
    }

    public static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToList();
        var rank = p / 100.0 * (sorted.Count - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo));
    }

    private static LoadedModel Load(string path, ModelProfile profile)
    {
        try
        {
            // One intra-op thread: the module's default (Inference__IntraOpThreads).
            return LoadedModel.Load(path, "compare", new ModelSettings { Url = path, Profile = profile }, null, new SessionConfig("cpu", 1));
        }
        catch (ModelValidationException ex)
        {
            throw new InvalidDataException($"{path} does not load with profile {profile.ToString().ToLowerInvariant()}: {ex.Message}", ex);
        }
    }

    private static List<Detection> Run(LoadedModel model, OpenCvSharp.Mat frame, float floor, ThresholdSettings thresholds, List<(double, double)> times)
    {
        var raw = new List<Detection>();
        var started = Stopwatch.GetTimestamp();
        var run = model.Infer(frame, floor, model.DefaultNmsIou, raw);
        var kept = DetectionFilter.Apply(raw, thresholds);
        times.Add((Stopwatch.GetElapsedTime(started).TotalMilliseconds, run.TotalMilliseconds));
        return kept;
    }

    private static LatencyStats Stats(List<(double Total, double Run)> times, long bytes)
    {
        var total = times.Select(t => t.Total).ToList();
        var run = times.Select(t => t.Run).ToList();
        return new LatencyStats(Percentile(total, 50), Percentile(total, 95), Percentile(run, 50), Percentile(run, 95), bytes);
    }
}
