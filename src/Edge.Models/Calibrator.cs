using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Edge.Models;

/// <summary>How activation ranges are chosen from the calibration data.</summary>
internal enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen (ONNX Runtime's <c>MinMaxCalibrater</c>).</summary>
    MinMax,

    /// <summary>±the given percentile of |x| (ONNX Runtime's <c>HistogramCalibrater</c>, method percentile, symmetric, 2048 bins).</summary>
    Percentile,

    /// <summary>The range whose 128-level quantization has the least KL divergence from the histogram (ONNX Runtime's entropy method).</summary>
    Entropy,
}

/// <summary>One preprocessed model input: the tensor the module would feed for one frame.</summary>
internal sealed record CalibrationInput(string Name, long[] Shape, float[]? Floats, byte[]? Bytes);

/// <summary>
/// Runs the float model with ONNX Runtime over preprocessed frames and returns a range per requested tensor. The model is
/// augmented so that every requested intermediate tensor is a graph output, and optimisations are off so each tensor exists
/// as written (as <c>onnxruntime/python/tools/quantization/calibrate.py</c> does). Percentile and entropy take a second pass
/// over the frames with the histogram range fixed by the first (ORT merges re-binned histograms batch by batch instead).
/// </summary>
internal static class Calibrator
{
    public const int PercentileBins = 2048;

    /// <summary>
    /// Histogram bins for entropy. ORT's default (<c>num_bins</c> 128 = <c>num_quantized_bins</c> 128) leaves the search a
    /// single candidate, the full range; 2048 (ORT's option <c>CalibNumBins</c>, TensorRT's setting) gives it room.
    /// </summary>
    public const int EntropyBins = 2048;
    public const int EntropyQuantizedBins = 128;

    public static Dictionary<string, (float Min, float Max)> Collect(ModelProto model, IReadOnlyCollection<string> tensors,
        IReadOnlyList<CalibrationInput> inputs, CalibrationMethod method, double percentile, CancellationToken ct)
    {
        var names = tensors.Distinct(StringComparer.Ordinal).ToArray();
        var augmented = model.Clone();
        var outputs = augmented.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in names.Where(n => !outputs.Contains(n)))
        {
            augmented.Graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = OnnxType.Float } } });
        }

        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(augmented.ToByteArray(), options);
        using var run = new RunOptions();

        var min = new float[names.Length];
        var max = new float[names.Length];
        Array.Fill(min, float.PositiveInfinity);
        Array.Fill(max, float.NegativeInfinity);
        ForEach(session, run, inputs, names, ct, (i, span) =>
        {
            var (lo, hi) = QuantMath.MinMax(span);
            min[i] = Math.Min(min[i], lo);
            max[i] = Math.Max(max[i], hi);
        });

        var ranges = new Dictionary<string, (float, float)>(StringComparer.Ordinal);
        if (method == CalibrationMethod.MinMax)
        {
            for (var i = 0; i < names.Length; i++)
            {
                ranges[names[i]] = (min[i], max[i]);
            }

            return ranges;
        }

        var bins = method == CalibrationMethod.Percentile ? PercentileBins : EntropyBins;
        var hist = names.Select(_ => new double[bins]).ToArray();
        var absmax = names.Select((_, i) => Math.Max(Math.Abs(min[i]), Math.Abs(max[i]))).ToArray();
        ForEach(session, run, inputs, names, ct, (i, span) =>
        {
            if (method == CalibrationMethod.Percentile)
            {
                Histogram.AddAbsolute(hist[i], span, absmax[i]);
            }
            else
            {
                Histogram.AddSymmetric(hist[i], span, absmax[i]);
            }
        });
        for (var i = 0; i < names.Length; i++)
        {
            var (lo, hi) = method == CalibrationMethod.Percentile
                ? Histogram.PercentileRange(hist[i], absmax[i], percentile)
                : Histogram.EntropyRange(hist[i], absmax[i], EntropyQuantizedBins);
            ranges[names[i]] = (Math.Max(lo, min[i]), Math.Min(hi, max[i]));
        }

        return ranges;
    }

    private static void ForEach(InferenceSession session, RunOptions run, IReadOnlyList<CalibrationInput> inputs, string[] names, CancellationToken ct, Action<int, ReadOnlySpan<float>> visit)
    {
        foreach (var input in inputs)
        {
            ct.ThrowIfCancellationRequested();
            using var value = input.Floats is not null
                ? OrtValue.CreateTensorValueFromMemory(input.Floats, input.Shape)
                : OrtValue.CreateTensorValueFromMemory(input.Bytes!, input.Shape);
            using var results = session.Run(run, [input.Name], [value], names);
            var i = 0;
            foreach (var r in results)
            {
                visit(i++, r.GetTensorDataAsSpan<float>());
            }
        }
    }
}

/// <summary>The histogram calibrators' arithmetic (ORT <c>calibrate.py</c>: <c>HistogramCollector</c>).</summary>
internal static class Histogram
{
    /// <summary>|x| into bins over [0, absmax] (the percentile method's <c>collect_absolute_value</c>).</summary>
    public static void AddAbsolute(double[] hist, ReadOnlySpan<float> values, float absmax)
    {
        var n = hist.Length;
        var k = absmax > 0 ? n / absmax : 0;
        foreach (var v in values)
        {
            hist[Math.Min(n - 1, (int)(Math.Abs(v) * k))]++;
        }
    }

    /// <summary>x into bins over [-absmax, absmax] (the entropy method's <c>collect_value</c>).</summary>
    public static void AddSymmetric(double[] hist, ReadOnlySpan<float> values, float absmax)
    {
        var n = hist.Length;
        var k = absmax > 0 ? n / (2 * absmax) : 0;
        foreach (var v in values)
        {
            hist[Math.Clamp((int)((v + absmax) * k), 0, n - 1)]++;
        }
    }

    /// <summary>
    /// The symmetric percentile range: the first bin edge where the cumulative share of |x| reaches p% (numpy
    /// <c>searchsorted</c>, left), as ±that edge (<c>compute_percentile</c>).
    /// </summary>
    public static (float Min, float Max) PercentileRange(double[] hist, float absmax, double percentile)
    {
        var total = hist.Sum();
        if (total == 0 || absmax == 0)
        {
            return (0, 0);
        }

        var target = percentile / 100.0;
        var cdf = 0.0;
        var idx = hist.Length - 1;
        for (var i = 0; i < hist.Length; i++)
        {
            cdf += hist[i] / total;
            if (cdf >= target)
            {
                idx = i;
                break;
            }
        }

        var edge = absmax * idx / hist.Length;
        return (-edge, edge);
    }

    /// <summary>
    /// The entropy range (<c>get_entropy_threshold</c>): for each window of 2i bins centred on zero, the outliers are folded
    /// into its end bins (p), the window is merged into <paramref name="quantizedBins"/> levels and expanded back over its
    /// non-empty bins (q); both are smoothed and the window with the least KL(p‖q) gives the range.
    /// </summary>
    public static (float Min, float Max) EntropyRange(double[] hist, float absmax, int quantizedBins)
    {
        var n = hist.Length;
        var zero = n / 2;
        var half = quantizedBins / 2;
        if (absmax == 0 || hist.Sum() == 0)
        {
            return (0, 0);
        }

        double Edge(int i) => -absmax + (2.0 * absmax * i / n);
        var best = double.PositiveInfinity;
        (float, float) bestRange = (-absmax, absmax);
        for (var i = half; i <= zero; i++)
        {
            var start = zero - i;
            var end = Math.Min(zero + i + 1, n);
            var len = end - start;
            var p = new double[len];
            Array.Copy(hist, start, p, 0, len);
            for (var j = 0; j < start; j++)
            {
                p[0] += hist[j];
            }

            for (var j = end; j < n; j++)
            {
                p[len - 1] += hist[j];
            }

            var merged = len / quantizedBins;
            var q = new double[len];
            for (var b = 0; b < quantizedBins; b++)
            {
                var s = b * merged;
                var e = b == quantizedBins - 1 ? len : s + merged;
                double sum = 0, nonzero = 0;
                for (var j = s; j < e; j++)
                {
                    sum += hist[start + j];
                    nonzero += hist[start + j] != 0 ? 1 : 0;
                }

                for (var j = s; j < e; j++)
                {
                    q[j] = nonzero > 0 && hist[start + j] != 0 ? sum / nonzero : 0;
                }
            }

            var kl = Smooth(p) && Smooth(q) ? KullbackLeibler(p, q) : double.PositiveInfinity;
            if (kl < best)
            {
                best = kl;
                bestRange = ((float)Edge(start), (float)Edge(end));
            }
        }

        return bestRange;
    }

    /// <summary>ORT's <c>smooth_distribution</c>: eps to every empty bin, taken evenly from the others. False when all are empty.</summary>
    private static bool Smooth(double[] p, double eps = 0.0001)
    {
        var zeros = p.Count(v => v == 0);
        var nonzeros = p.Length - zeros;
        if (nonzeros == 0)
        {
            return false;
        }

        var eps1 = eps * zeros / nonzeros;
        for (var i = 0; i < p.Length; i++)
        {
            p[i] += p[i] == 0 ? eps : -eps1;
        }

        return true;
    }

    /// <summary>scipy <c>entropy(p, q)</c>: both normalised, Σ p log(p/q).</summary>
    private static double KullbackLeibler(double[] p, double[] q)
    {
        double sp = p.Sum(), sq = q.Sum(), kl = 0;
        for (var i = 0; i < p.Length; i++)
        {
            var pi = p[i] / sp;
            var qi = q[i] / sq;
            if (pi > 0)
            {
                kl += pi * Math.Log(pi / qi);
            }
        }

        return kl;
    }
}
