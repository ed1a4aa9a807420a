using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Edge.Models.Tests;

/// <summary>The QDQ graph written for a small Conv → Relu → Conv model, checked in its structure and run in ONNX Runtime.</summary>
public sealed class QdqRewriterTests
{
    private static readonly long[] InputShape = [1, 2, 6, 6];

    [Fact]
    public void Apply_ConvReluConv_ReluRemovedWeightsInt8BiasInt32ScaledByInputTimesWeight()
    {
        var (model, plan, ranges) = Calibrated();
        plan.Removed.Select(n => n.OpType).ShouldBe(["Relu"]);
        plan.FloatOutputs.ShouldContain("out", "the output head is not requantized");

        var q = QdqRewriter.Apply(model, plan, ranges, perChannel: true, unsignedActivations: true);
        var g = q.Graph;
        g.Node.Select(n => n.OpType).ShouldNotContain("Relu");
        g.Node.Count(n => n.OpType == "QuantizeLinear").ShouldBe(2, "the input and the first Conv's (Relu's) output");
        g.Initializer.ShouldNotContain(t => t.Name == "W1" || t.Name == "B1" || t.Name == "W2" || t.Name == "B2", "float weights replaced");

        var init = g.Initializer.ToDictionary(t => t.Name);
        var conv1 = g.Node.First(n => n.OpType == "Conv");
        var wDq = g.Node.Single(n => n.Output[0] == conv1.Input[1]);
        var bDq = g.Node.Single(n => n.Output[0] == conv1.Input[2]);
        var xDq = g.Node.Single(n => n.Output[0] == conv1.Input[0]);
        init[wDq.Input[0]].DataType.ShouldBe(OnnxType.Int8);
        init[bDq.Input[0]].DataType.ShouldBe(OnnxType.Int32);
        wDq.Attribute.Single(a => a.Name == "axis").I.ShouldBe(0);
        var wScales = OnnxFile.ReadFloats(init[wDq.Input[1]]);
        wScales.Length.ShouldBe(3, "one scale per output channel");
        var xScale = OnnxFile.ReadFloats(init[xDq.Input[1]])[0];
        var bScales = OnnxFile.ReadFloats(init[bDq.Input[1]]);
        for (var c = 0; c < 3; c++)
        {
            bScales[c].ShouldBe(xScale * wScales[c], 1e-12f);
        }

        // The Relu's clamp is the quantization's: the first Conv's output zero point is the bottom of uint8.
        var conv1OutQ = g.Node.Single(n => n.OpType == "QuantizeLinear" && n.Input[0] == conv1.Output[0]);
        init[conv1OutQ.Input[2]].RawData.Span[0].ShouldBe((byte)0);
        var bias = MemoryMarshal.Cast<byte, int>(init[bDq.Input[0]].RawData.Span).ToArray();
        var floatBias = new[] { 0.1f, -0.2f, 0.05f };
        for (var c = 0; c < 3; c++)
        {
            bias[c].ShouldBe((int)Math.Round(floatBias[c] / bScales[c], MidpointRounding.ToEven));
        }
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void Apply_ConvReluConv_RunsInOnnxRuntimeCloseToFloat(bool perChannel, bool unsigned)
    {
        var (model, plan, ranges) = Calibrated();
        var q = QdqRewriter.Apply(model, plan, ranges, perChannel, unsigned);
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var plain = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var f32 = new InferenceSession(model.ToByteArray(), options);
        using var i8 = new InferenceSession(q.ToByteArray(), options);
        using var i8Plain = new InferenceSession(q.ToByteArray(), plain);
        var rng = new Random(99);
        double sumError = 0, sumAbs = 0, maxFusedVsPlain = 0, sumPlainError = 0;
        for (var k = 0; k < 8; k++)
        {
            var x = Input(rng);
            var a = Run(f32, x);
            var b = Run(i8, x);
            var c = Run(i8Plain, x);
            for (var i = 0; i < a.Length; i++)
            {
                sumError += Math.Abs(a[i] - b[i]);
                sumPlainError += Math.Abs(a[i] - c[i]);
                sumAbs += Math.Abs(a[i]);
                maxFusedVsPlain = Math.Max(maxFusedVsPlain, Math.Abs(b[i] - c[i]));
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"mean |error| / mean |output|: fused {sumError / sumAbs:0.0000}, unfused {sumPlainError / sumAbs:0.0000}; max fused vs unfused {maxFusedVsPlain:0.0000}");
        (sumError / sumAbs).ShouldBeLessThan(0.03, "8-bit steps over the calibrated ranges, not a different function");
        (sumError / sumAbs).ShouldBeGreaterThan(0, "the quantized graph really runs quantized");
        (sumPlainError / sumAbs).ShouldBeLessThan(0.03, "the QDQ graph's own semantics (no fusion) agree too");
    }

    private static (ModelProto Model, QdqPlan Plan, Dictionary<string, (float Min, float Max)> Ranges) Calibrated()
    {
        var model = ConvReluConv();
        var plan = QdqPlan.Create(model.Graph);
        var rng = new Random(5);
        var inputs = Enumerable.Range(0, 16).Select(_ => new CalibrationInput("x", InputShape, Input(rng), null)).ToList();
        var ranges = Calibrator.Collect(model, plan.CalibrationTensors, inputs, CalibrationMethod.MinMax, 99.99, TestContext.Current.CancellationToken);
        return (model, plan, ranges);
    }

    private static float[] Input(Random rng) => [.. Enumerable.Range(0, 72).Select(_ => (float)((rng.NextDouble() * 2) - 1))];

    private static float[] Run(InferenceSession s, float[] x)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(x, InputShape);
        using var outputs = s.Run(new RunOptions(), ["x"], [input], ["out"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>x[1,2,6,6] → Conv 3x3 (3 channels, pad 1) + B1 → Relu → Conv 1x1 (2 channels) + B2 → out.</summary>
    private static ModelProto ConvReluConv()
    {
        var rng = new Random(3);
        float[] Weights(int n, float scale) => [.. Enumerable.Range(0, n).Select(_ => (float)(((rng.NextDouble() * 2) - 1) * scale))];
        var w1 = Weights(3 * 2 * 3 * 3, 0.5f);
        w1[0] = 2f; // channel 0 wider than the others: per-channel scales differ
        var g = new GraphProto { Name = "conv-relu-conv" };
        g.Input.Add(Value("x", [1, 2, 6, 6]));
        g.Output.Add(Value("out", [1, 2, 6, 6]));
        g.Initializer.Add(OnnxFile.Floats("W1", w1, 3, 2, 3, 3));
        g.Initializer.Add(OnnxFile.Floats("B1", [0.1f, -0.2f, 0.05f], 3));
        g.Initializer.Add(OnnxFile.Floats("W2", Weights(2 * 3, 0.8f), 2, 3, 1, 1));
        g.Initializer.Add(OnnxFile.Floats("B2", [0.3f, -0.1f], 2));
        var pads = new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints };
        pads.Ints.AddRange([1, 1, 1, 1]);
        g.Node.Add(OnnxFile.Node("Conv", "conv1", ["x", "W1", "B1"], ["c1"], pads));
        g.Node.Add(OnnxFile.Node("Relu", "relu1", ["c1"], ["r1"]));
        g.Node.Add(OnnxFile.Node("Conv", "conv2", ["r1", "W2", "B2"], ["out"]));
        var model = new ModelProto { IrVersion = 8, ProducerName = "Edge.Models.Tests", Graph = g };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = 13 });
        return model;
    }

    private static ValueInfoProto Value(string name, long[] shape)
    {
        var s = new TensorShapeProto();
        foreach (var d in shape)
        {
            s.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = OnnxType.Float, Shape = s } } };
    }
}
