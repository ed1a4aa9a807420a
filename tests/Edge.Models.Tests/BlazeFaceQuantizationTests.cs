using Edge.TestSupport;
using Inference.Models;

namespace Edge.Models.Tests;

/// <summary>
/// The shipped BlazeFace front-128 model through the real tooling: quantized on Megamind.avi frames through the blazeface
/// profile's preprocessing, loaded by ONNX Runtime through the Inference module's loader, compared with the float model.
/// </summary>
public sealed class BlazeFaceQuantizationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("edge-models-").FullName;

    [Fact]
    public void Quantize_BlazeFaceOnMegamind_SmallerThanAThirdAndAgreesWithFloat()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = Path.Combine(_dir, "front.int8.onnx");
        var result = Quantizer.Quantize(Assets.BlazeFaceFront128, Assets.Megamind, output,
            new QuantizeSettings { PerChannel = true, UnsignedActivations = true, Frames = 64 }, ct);

        result.CalibrationFrames.ShouldBe(64);
        result.QuantizedOps["Conv"].ShouldBe(37, "every convolution runs quantized");
        result.FloatOps.Keys.ShouldNotContain("Conv");
        ((double)result.OutputBytes / result.InputBytes).ShouldBeLessThanOrEqualTo(0.35);
        ModelInspector.FormOf(OnnxFile.Load(output)).ShouldBe(QuantizationForm.Qdq);

        // Every third frame of the clip (90 frames): the agreement the issue asks for, at the deployed threshold 0.5.
        var cmp = ModelComparer.Compare(Assets.BlazeFaceFront128, output, Assets.Megamind, new CompareSettings { MaxFrames = 90 }, ct);
        TestContext.Current.TestOutputHelper?.WriteLine($"recall {cmp.Recall:0.000} precision {cmp.Precision:0.000} score error mean {cmp.MeanScoreError:0.000} max {cmp.MaxScoreError:0.000}; " +
            $"median ms float {cmp.Reference.MedianMs:0.00} int8 {cmp.Candidate.MedianMs:0.00}");
        cmp.ReferenceDetections.ShouldBeGreaterThan(50, "Megamind has a face in most frames");
        cmp.Recall.ShouldBeGreaterThanOrEqualTo(0.95);
        cmp.Precision.ShouldBeGreaterThanOrEqualTo(0.95);
        cmp.MeanScoreError.ShouldBeLessThan(0.05);
    }

    [Fact]
    public void Quantize_AFewFramesPerTensorInt8_LoadsWithTheBlazefaceProfile()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = Path.Combine(_dir, "front.s8.onnx");
        var result = Quantizer.Quantize(Assets.BlazeFaceFront128, Assets.Megamind, output,
            new QuantizeSettings { UnsignedActivations = false, Calibrator = CalibrationMethod.MinMax, Frames = 4 }, ct);
        result.CalibrationFrames.ShouldBe(4);
        using var loaded = LoadedModel.Load(output, "t", new ModelSettings { Url = output }, null, new SessionConfig("cpu", 1));
        loaded.InputType.ShouldBe(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, "float in, float out: the module feeds it unchanged");
    }

    [Fact]
    public void Quantize_AlreadyQuantized_RefusedWithWhatToDo()
    {
        var ct = TestContext.Current.CancellationToken;
        var first = Path.Combine(_dir, "a.onnx");
        Quantizer.Quantize(Assets.BlazeFaceFront128, Assets.Megamind, first, new QuantizeSettings { Frames = 2 }, ct);
        var ex = Should.Throw<InvalidDataException>(() => Quantizer.Quantize(first, Assets.Megamind, Path.Combine(_dir, "b.onnx"), new QuantizeSettings { Frames = 2 }, ct));
        ex.Message.ShouldContain("already quantized");
        ex.Message.ShouldContain("quantize the float32 model");
    }

    [Fact]
    public void Quantize_MissingMedia_SaysWhatToGive()
    {
        var ex = Should.Throw<FileNotFoundException>(() => Quantizer.Quantize(Assets.BlazeFaceFront128, Path.Combine(_dir, "none.avi"), Path.Combine(_dir, "c.onnx"),
            new QuantizeSettings(), TestContext.Current.CancellationToken));
        ex.Message.ShouldContain("give a video");
        File.Exists(Path.Combine(_dir, "c.onnx")).ShouldBeFalse();
    }

    [Fact]
    public void Fp16_BlazeFace_HalfWeightsSameDetections()
    {
        var ct = TestContext.Current.CancellationToken;
        var output = Path.Combine(_dir, "front.fp16.onnx");
        var converted = Float16Converter.Convert(Assets.BlazeFaceFront128, output);
        converted.ShouldBeGreaterThan(30);
        var report = ModelInspector.Inspect(output);
        report.Quantization.ShouldBe(QuantizationForm.Float16);
        report.InitializerBytesByType["float16"].ShouldBeGreaterThan(150_000);
        report.InitializerBytesByType.GetValueOrDefault("float").ShouldBeLessThan(1_000);
        report.Inputs.Single().ElementType.ShouldBe("float");

        var cmp = ModelComparer.Compare(Assets.BlazeFaceFront128, output, Assets.Megamind, new CompareSettings { MaxFrames = 30 }, ct);
        cmp.Recall.ShouldBe(1.0);
        cmp.Precision.ShouldBe(1.0);
        cmp.MaxScoreError.ShouldBeLessThan(0.01);
    }

    [Fact]
    public void Inspect_BlazeFace_InterfaceOperatorsAndProfile()
    {
        var r = ModelInspector.Inspect(Assets.BlazeFaceFront128);
        r.Inputs.Single().ToString().ShouldBe("input:0: float[1,128,128,3]");
        r.Outputs.Select(o => string.Join(",", o.Shape)).ShouldBe(["1,512,1", "1,384,1", "1,512,16", "1,384,16"]);
        r.Opsets.ShouldContain(("ai.onnx", 12L));
        r.Operators.ShouldContain(("Conv", 37));
        r.Quantization.ShouldBe(QuantizationForm.None);
        r.Profiles.Single(p => p.Profile == ModelProfile.Blazeface).Fits.ShouldBeTrue();
        r.Profiles.Single(p => p.Profile == ModelProfile.Yolo).Reason!.ShouldContain("values per box");
        r.SizeBytes.ShouldBe(new FileInfo(Assets.BlazeFaceFront128).Length);
    }

    [Fact]
    public void Match_GreedyByIoU_OneToOneSameLabelOnly()
    {
        var a = new Inference.Processing.Detection(0, "face", 0.9f, new(0.1f, 0.1f, 0.2f, 0.2f));
        var b = new Inference.Processing.Detection(0, "face", 0.8f, new(0.12f, 0.1f, 0.2f, 0.2f));
        var other = new Inference.Processing.Detection(1, "cat", 0.8f, new(0.1f, 0.1f, 0.2f, 0.2f));
        var far = new Inference.Processing.Detection(0, "face", 0.7f, new(0.6f, 0.6f, 0.2f, 0.2f));
        var m = ModelComparer.Match([a, far], [b, other, b], 0.5f);
        m.Count.ShouldBe(1, "one candidate per reference; a different label never matches; the far box has no partner");
        m[0].Reference.ShouldBe(a);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
