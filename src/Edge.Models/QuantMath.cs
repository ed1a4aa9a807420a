namespace Edge.Models;

/// <summary>A scale and zero point: real = (q - zeroPoint) * scale.</summary>
internal readonly record struct QuantParams(float Scale, int ZeroPoint);

/// <summary>
/// The arithmetic of linear quantization, following ONNX Runtime's Python quantizer
/// (<c>onnxruntime/python/tools/quantization/quant_utils.py</c>: <c>compute_scale_zp</c>, <c>get_qmin_qmax_for_qType</c>,
/// <c>quantize_nparray</c>; <c>base_quantizer.py</c>: <c>quantize_bias_static_impl</c>). Rounding is half to even, as numpy's
/// <c>round</c> and the <c>QuantizeLinear</c> operator do.
/// </summary>
internal static class QuantMath
{
    /// <summary>Activations: int8, asymmetric, the full range.</summary>
    public const int ActivationMin = -128;
    public const int ActivationMax = 127;

    /// <summary>Weights: int8, symmetric, -127..127 (so the zero point is 0 and the range is balanced).</summary>
    public const int WeightMin = -127;
    public const int WeightMax = 127;

    /// <summary>numpy's <c>finfo(float32).tiny</c>.</summary>
    private const double SmallestNormal = 1.17549435e-38;

    /// <summary>
    /// The range is widened to include 0 (so 0 is exact); symmetric uses ±max|r|. scale = (rmax − rmin) / (qmax − qmin);
    /// zero point = round(qmin − rmin / scale), or the middle of [qmin, qmax] when symmetric. A range narrower than the
    /// smallest normal float gives scale 1, zero point 0.
    /// </summary>
    public static QuantParams Compute(float rmin, float rmax, int qmin, int qmax, bool symmetric)
    {
        double lo = Math.Min(rmin, 0f), hi = Math.Max(rmax, 0f);
        if (symmetric)
        {
            var absmax = Math.Max(Math.Abs(lo), Math.Abs(hi));
            lo = -absmax;
            hi = absmax;
        }

        var scale = (hi - lo) / ((double)qmax - qmin);
        if (scale < SmallestNormal || double.IsNaN(scale))
        {
            return new QuantParams(1f, 0);
        }

        var zp = symmetric ? Math.Round((qmin + qmax) / 2.0, MidpointRounding.ToEven) : Math.Round(qmin - (lo / scale), MidpointRounding.ToEven);
        return new QuantParams((float)scale, (int)zp);
    }

    /// <summary>q = clamp(round(x / scale) + zeroPoint, qmin, qmax).</summary>
    public static int Quantize(float x, QuantParams p, int qmin, int qmax)
    {
        var q = Math.Round((double)x / p.Scale, MidpointRounding.ToEven) + p.ZeroPoint;
        return (int)Math.Clamp(q, qmin, qmax);
    }

    /// <summary>Int8 symmetric per-tensor weights.</summary>
    public static (sbyte[] Values, QuantParams Params) QuantizeWeights(ReadOnlySpan<float> w)
    {
        var (min, max) = MinMax(w);
        var p = Compute(min, max, WeightMin, WeightMax, symmetric: true);
        var q = new sbyte[w.Length];
        for (var i = 0; i < w.Length; i++)
        {
            q[i] = (sbyte)Quantize(w[i], p, WeightMin, WeightMax);
        }

        return (q, p);
    }

    /// <summary>Int8 symmetric weights with one scale per slice of axis 0 (a Conv's output channels).</summary>
    public static (sbyte[] Values, float[] Scales) QuantizeWeightsPerChannel(ReadOnlySpan<float> w, int channels)
    {
        if (channels <= 0 || w.Length % channels != 0)
        {
            throw new ArgumentException($"{w.Length} weights do not split into {channels} channels", nameof(channels));
        }

        var per = w.Length / channels;
        var q = new sbyte[w.Length];
        var scales = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            var slice = w.Slice(c * per, per);
            var (min, max) = MinMax(slice);
            var p = Compute(min, max, WeightMin, WeightMax, symmetric: true);
            scales[c] = p.Scale;
            for (var i = 0; i < per; i++)
            {
                q[(c * per) + i] = (sbyte)Quantize(slice[i], p, WeightMin, WeightMax);
            }
        }

        return (q, scales);
    }

    /// <summary>
    /// Int32 bias with scale = input scale × weight scale (per channel when the weights are), zero point 0, so the integer
    /// convolution's accumulator adds it directly. A zero product (all-zero weights) uses scale 1.
    /// </summary>
    public static (int[] Values, float[] Scales) QuantizeBias(ReadOnlySpan<float> bias, float inputScale, ReadOnlySpan<float> weightScales)
    {
        var q = new int[bias.Length];
        var scales = new float[weightScales.Length];
        for (var i = 0; i < scales.Length; i++)
        {
            var s = inputScale * weightScales[i];
            scales[i] = s == 0 ? 1f : s;
        }

        for (var i = 0; i < bias.Length; i++)
        {
            var s = scales.Length == 1 ? scales[0] : scales[i];
            q[i] = (int)Math.Clamp(Math.Round((double)bias[i] / s, MidpointRounding.ToEven), int.MinValue, int.MaxValue);
        }

        return (q, scales);
    }

    public static (float Min, float Max) MinMax(ReadOnlySpan<float> values)
    {
        if (values.IsEmpty)
        {
            return (0, 0);
        }

        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var v in values)
        {
            if (v < min)
            {
                min = v;
            }

            if (v > max)
            {
                max = v;
            }
        }

        return (min, max);
    }
}
