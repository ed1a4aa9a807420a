using Inference.Models;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Edge.Models;

/// <summary><c>edge model quantize</c> settings.</summary>
internal sealed class QuantizeSettings
{
    /// <summary>The Inference profile whose preprocessing feeds calibration (and which must load the result).</summary>
    public ModelProfile Profile { get; init; } = ModelProfile.Blazeface;

    /// <summary>
    /// Default percentile (ORT's default is MinMax): on BlazeFace/Megamind, MinMax's outlier-stretched ranges cost a third of
    /// the precision (docs/models.md, "Making a model smaller").
    /// </summary>
    public CalibrationMethod Calibrator { get; init; } = CalibrationMethod.Percentile;

    /// <summary>Percentile calibrator: the range is ±this percentile of |x|. Default 99.99 (ORT's is 99.999; measured worse here).</summary>
    public double Percentile { get; init; } = 99.99;

    /// <summary>One weight scale per output channel for Conv (axis 0).</summary>
    public bool PerChannel { get; init; }

    /// <summary>Activations as uint8 (U8S8, what ONNX Runtime's x86 kernels are built around) instead of int8 (S8S8).</summary>
    public bool UnsignedActivations { get; init; }

    /// <summary>Calibration frames, spread evenly over the media.</summary>
    public int Frames { get; init; } = 64;
}

/// <summary>What a quantization did.</summary>
internal sealed record QuantizeResult(int CalibrationFrames, int QuantizedNodes, int TotalNodes, int FloatOutputs,
    IReadOnlyDictionary<string, int> QuantizedOps, IReadOnlyDictionary<string, int> FloatOps, long InputBytes, long OutputBytes);

/// <summary>Static INT8 quantization of a float ONNX model into QDQ form, calibrated on frames through the profile's own preprocessing.</summary>
internal static class Quantizer
{
    /// <summary>Operators whose inputs or semantics changed between opsets 12 and 13.</summary>
    private static readonly HashSet<string> Opset13Changed = new(StringComparer.Ordinal)
    {
        "Split", "Squeeze", "Unsqueeze", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
        "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "Softmax", "LogSoftmax", "Hardmax",
    };

    public static QuantizeResult Quantize(string inputPath, string media, string outputPath, QuantizeSettings settings, CancellationToken ct)
    {
        var model = OnnxFile.Load(inputPath);
        if (ModelInspector.FormOf(model) is var form and not QuantizationForm.None)
        {
            throw new InvalidDataException($"{inputPath} is already {form switch { QuantizationForm.Float16 => "float16", _ => $"quantized ({form})" }}; quantize the float32 model");
        }

        if (OnnxFile.Opset(model) < 10)
        {
            throw new InvalidDataException($"{inputPath} is opset {OnnxFile.Opset(model)}: QuantizeLinear/DequantizeLinear need opset 10; re-export at opset 13 or later");
        }

        if (settings.PerChannel && OnnxFile.Opset(model) < 13)
        {
            // DequantizeLinear's axis (per-channel) is opset 13. Moving to 13 is safe when no operator in the graph changed
            // its signature at 13 (Split, Squeeze, Unsqueeze, Reduce*, Softmax family took inputs or changed axis semantics).
            var changed = model.Graph.Node.Select(n => n.OpType).Where(Opset13Changed.Contains).Distinct(StringComparer.Ordinal).ToList();
            if (changed.Count > 0)
            {
                throw new InvalidDataException($"{inputPath} is opset {OnnxFile.Opset(model)}: per-channel DequantizeLinear (axis) needs opset 13, and {string.Join(", ", changed)} changed at 13; quantize per-tensor (drop --per-channel) or re-export at opset 13 or later");
            }

            foreach (var o in model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx"))
            {
                o.Version = 13;
            }

            model.IrVersion = Math.Max(model.IrVersion, 7);
        }

        var inputs = PrepareCalibration(inputPath, media, settings, ct);
        var plan = QdqPlan.Create(model.Graph);
        var ranges = Calibrator.Collect(model, plan.CalibrationTensors, inputs, settings.Calibrator, settings.Percentile, ct);
        var quantized = QdqRewriter.Apply(model, plan, ranges, settings.PerChannel, settings.UnsignedActivations);
        OnnxFile.Save(quantized, outputPath);

        // The output must load in the Inference module unchanged, with the same profile.
        try
        {
            using var check = LoadedModel.Load(outputPath, "quantized", new ModelSettings { Url = outputPath, Profile = settings.Profile }, null, new SessionConfig("cpu", 1));
        }
        catch (ModelValidationException ex)
        {
            throw new InvalidDataException($"the quantized model does not load with profile {settings.Profile.ToString().ToLowerInvariant()}: {ex.Message}", ex);
        }

        var quantizedOps = plan.QuantizedNodes.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var floatOps = plan.FloatNodes.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return new QuantizeResult(inputs.Count, plan.QuantizedNodes.Count, model.Graph.Node.Count, plan.FloatOutputs.Count(t => plan.QuantizedNodes.Any(n => n.Output.Contains(t))), quantizedOps, floatOps,
            new FileInfo(inputPath).Length, new FileInfo(outputPath).Length);
    }

    /// <summary>
    /// Frames from the media, fitted and normalised exactly as the Inference module does for this model and profile
    /// (<see cref="LoadedModel"/> resolves the input the same way when it serves the model).
    /// </summary>
    public static List<CalibrationInput> PrepareCalibration(string modelPath, string media, QuantizeSettings settings, CancellationToken ct)
    {
        LoadedModel loaded;
        try
        {
            loaded = LoadedModel.Load(modelPath, "calibration", new ModelSettings { Url = modelPath, Profile = settings.Profile }, null, new SessionConfig("cpu", 0));
        }
        catch (ModelValidationException ex)
        {
            throw new InvalidDataException($"{modelPath} does not load with profile {settings.Profile.ToString().ToLowerInvariant()}: {ex.Message} (edge model inspect shows which profile fits)", ex);
        }

        using (loaded)
        using (var pre = loaded.CreatePreprocessor())
        {
            var shape = loaded.InputShape;
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            var list = new List<CalibrationInput>();
            foreach (var frame in MediaFrames.Read(media, settings.Frames, ct))
            {
                using (frame)
                {
                    pre.Fit(frame);
                    if (loaded.InputType == TensorElementType.UInt8)
                    {
                        var bytes = new byte[count];
                        pre.Write(bytes);
                        list.Add(new CalibrationInput(loaded.InputName, shape, null, bytes));
                    }
                    else
                    {
                        var floats = new float[count];
                        pre.Write(floats);
                        list.Add(new CalibrationInput(loaded.InputName, shape, floats, null));
                    }
                }
            }

            return list;
        }
    }
}
