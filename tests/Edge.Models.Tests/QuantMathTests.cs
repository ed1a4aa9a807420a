namespace Edge.Models.Tests;

/// <summary>The quantization arithmetic against hand-computed values (ORT quant_utils.py compute_scale_zp / quantize_nparray).</summary>
public sealed class QuantMathTests
{
    [Fact]
    public void Compute_AsymmetricInt8_ScaleAndZeroPointAsComputedByHand()
    {
        // scale = (3 - (-1)) / 255 = 0.0156863; zp = round(-128 - (-1 / 0.0156863)) = round(-128 + 63.75) = -64.
        var p = QuantMath.Compute(-1f, 3f, -128, 127, symmetric: false);
        p.Scale.ShouldBe(4f / 255f, 1e-7f);
        p.ZeroPoint.ShouldBe(-64);
    }

    [Fact]
    public void Compute_RangeAboveZero_WidenedToIncludeZero()
    {
        // [2, 6] becomes [0, 6]: scale 6/255, zero at qmin (what a removed Relu relies on).
        var p = QuantMath.Compute(2f, 6f, -128, 127, symmetric: false);
        p.Scale.ShouldBe(6f / 255f, 1e-7f);
        p.ZeroPoint.ShouldBe(-128);
        QuantMath.Quantize(-0.5f, p, -128, 127).ShouldBe(-128, "negatives clamp to the zero point: the Relu");
    }

    [Fact]
    public void Compute_UInt8_ZeroPointInsideTheRange()
    {
        // [-1, 1] on 0..255: scale 2/255, zp = round(0 + 127.5) = 128 (half to even).
        var p = QuantMath.Compute(-1f, 1f, 0, 255, symmetric: false);
        p.Scale.ShouldBe(2f / 255f, 1e-7f);
        p.ZeroPoint.ShouldBe(128);
    }

    [Fact]
    public void Compute_SymmetricWeights_ZeroPointZeroScaleFromAbsMax()
    {
        // max |r| = 2.54: scale = 5.08 / 254 = 0.02.
        var p = QuantMath.Compute(-0.5f, 2.54f, QuantMath.WeightMin, QuantMath.WeightMax, symmetric: true);
        p.Scale.ShouldBe(0.02f, 1e-7f);
        p.ZeroPoint.ShouldBe(0);
    }

    [Fact]
    public void Compute_EmptyRange_ScaleOneZeroPointZero()
    {
        QuantMath.Compute(0f, 0f, -128, 127, symmetric: false).ShouldBe(new QuantParams(1f, 0));
    }

    [Fact]
    public void Quantize_Ties_RoundHalfToEvenAndClamp()
    {
        var p = new QuantParams(1f, 0);
        QuantMath.Quantize(2.5f, p, -128, 127).ShouldBe(2);
        QuantMath.Quantize(3.5f, p, -128, 127).ShouldBe(4);
        QuantMath.Quantize(-2.5f, p, -128, 127).ShouldBe(-2);
        QuantMath.Quantize(300f, p, -128, 127).ShouldBe(127);
        QuantMath.Quantize(-300f, new QuantParams(1f, 10), -128, 127).ShouldBe(-128);
    }

    [Fact]
    public void QuantizeWeightsPerChannel_TwoChannels_OneScalePerChannel()
    {
        // Channel 0 [1, -2.54]: scale 0.02 -> [50, -127]. Channel 1 [0.5, -0.1]: scale 1/254 -> [127, round(-25.4) = -25].
        var (q, scales) = QuantMath.QuantizeWeightsPerChannel([1f, -2.54f, 0.5f, -0.1f], 2);
        scales[0].ShouldBe(0.02f, 1e-7f);
        scales[1].ShouldBe(1f / 254f, 1e-8f);
        q.ShouldBe(new sbyte[] { 50, -127, 127, -25 });
    }

    [Fact]
    public void QuantizeWeights_PerTensor_OneScaleForAll()
    {
        // max |w| = 2.54 -> scale 0.02: 0.5 -> 25, -0.1 -> -5.
        var (q, p) = QuantMath.QuantizeWeights([1f, -2.54f, 0.5f, -0.1f]);
        p.Scale.ShouldBe(0.02f, 1e-7f);
        q.ShouldBe(new sbyte[] { 50, -127, 25, -5 });
    }

    [Fact]
    public void QuantizeWeightsPerChannel_LengthNotDivisible_Throws()
    {
        Should.Throw<ArgumentException>(() => QuantMath.QuantizeWeightsPerChannel([1f, 2f, 3f], 2));
    }

    [Fact]
    public void QuantizeBias_PerChannel_ScaleIsInputScaleTimesWeightScale()
    {
        // scales 0.1 x [0.02, 0.005] = [0.002, 0.0005]: 0.5 / 0.002 = 250, -0.25 / 0.0005 = -500.
        var (q, scales) = QuantMath.QuantizeBias([0.5f, -0.25f], 0.1f, [0.02f, 0.005f]);
        scales[0].ShouldBe(0.002f, 1e-9f);
        scales[1].ShouldBe(0.0005f, 1e-10f);
        q.ShouldBe([250, -500]);
    }

    [Fact]
    public void QuantizeBias_PerTensorZeroWeightScale_FallsBackToScaleOne()
    {
        var (q, scales) = QuantMath.QuantizeBias([3f, -4f], 0.5f, [0f]);
        scales.ShouldBe([1f]);
        q.ShouldBe([3, -4]);
    }

    [Fact]
    public void PercentileRange_OneOutlierIn10000_CutAtTheBulk()
    {
        // 9999 values in [0, 1), one at 100: |x| histogram over [0, 100] in 2048 bins; 99.9% is reached inside the bulk.
        var values = Enumerable.Range(0, 9999).Select(i => i / 9999f).Append(100f).ToArray();
        var hist = new double[Calibrator.PercentileBins];
        Histogram.AddAbsolute(hist, values, 100f);
        var (lo, hi) = Histogram.PercentileRange(hist, 100f, 99.9);
        hi.ShouldBeLessThan(1.0f);
        hi.ShouldBeGreaterThan(0.9f);
        lo.ShouldBe(-hi);
    }

    [Fact]
    public void EntropyRange_GaussianWithFarOutliers_NarrowerThanTheAbsoluteMax()
    {
        var rng = new Random(7);
        var values = Enumerable.Range(0, 20000).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToList();
        values.AddRange([40f, -40f]);
        var hist = new double[Calibrator.EntropyBins];
        Histogram.AddSymmetric(hist, values.ToArray(), 40f);
        var (lo, hi) = Histogram.EntropyRange(hist, 40f, Calibrator.EntropyQuantizedBins);
        hi.ShouldBeLessThan(20f, "the outliers are clipped");
        hi.ShouldBeGreaterThan(2.5f, "the bulk of a unit Gaussian is kept");
        lo.ShouldBe(-hi, 0.05f);
    }
}
