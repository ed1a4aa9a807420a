using Inference.Models;
using Onnx;

namespace Edge.Models;

/// <summary>How a model is quantized, as read from its graph.</summary>
internal enum QuantizationForm
{
    /// <summary>Float32 weights and activations.</summary>
    None,

    /// <summary>QuantizeLinear/DequantizeLinear pairs around float operators (ONNX Runtime fuses them into integer kernels).</summary>
    Qdq,

    /// <summary>Integer operators (QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger, ...).</summary>
    QOperator,

    /// <summary>Float16 initializers or tensors.</summary>
    Float16,
}

/// <summary>One graph input or output.</summary>
internal sealed record TensorInfo(string Name, string ElementType, IReadOnlyList<string> Shape)
{
    public override string ToString() => $"{Name}: {ElementType}[{string.Join(",", Shape)}]";
}

/// <summary>Whether a profile serves the model, and why not.</summary>
internal sealed record ProfileFit(ModelProfile Profile, bool Fits, string? Reason);

/// <summary>What <c>edge model inspect</c> prints.</summary>
internal sealed record ModelReport(
    string Path,
    long SizeBytes,
    long IrVersion,
    IReadOnlyList<(string Domain, long Version)> Opsets,
    string Producer,
    IReadOnlyList<TensorInfo> Inputs,
    IReadOnlyList<TensorInfo> Outputs,
    IReadOnlyList<(string Op, int Count)> Operators,
    int Initializers,
    long Parameters,
    IReadOnlyDictionary<string, long> InitializerBytesByType,
    QuantizationForm Quantization,
    IReadOnlyList<ProfileFit> Profiles);

/// <summary>Reads an ONNX model's interface, operators and quantization form, and tries it against every Inference profile.</summary>
internal static class ModelInspector
{
    private static readonly HashSet<string> QOperatorOps =
    [
        "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "QLinearAdd", "QLinearMul", "QLinearConcat",
        "QLinearSigmoid", "QLinearLeakyRelu", "QLinearAveragePool", "QLinearGlobalAveragePool", "QGemm", "QLinearSoftmax",
        "DynamicQuantizeLinear", "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
    ];

    public static ModelReport Inspect(string path)
    {
        var model = OnnxFile.Load(path);
        var g = model.Graph;
        var initializerNames = g.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = g.Input.Where(i => !initializerNames.Contains(i.Name)).Select(Describe).ToList();
        var outputs = g.Output.Select(Describe).ToList();
        var ops = g.Node.GroupBy(n => n.Domain is "" or "ai.onnx" ? n.OpType : $"{n.Domain}.{n.OpType}")
            .Select(x => (x.Key, x.Count())).OrderByDescending(x => x.Item2).ThenBy(x => x.Key, StringComparer.Ordinal).ToList();
        var bytesByType = g.Initializer.GroupBy(t => OnnxType.Name(t.DataType))
            .ToDictionary(x => x.Key, x => x.Sum(t => (long)(t.RawData.Length > 0 ? t.RawData.Length : t.CalculateSize())), StringComparer.Ordinal);
        return new ModelReport(
            Path.GetFullPath(path),
            new FileInfo(path).Length,
            model.IrVersion,
            [.. model.OpsetImport.Select(o => (o.Domain is "" ? "ai.onnx" : o.Domain, o.Version))],
            $"{model.ProducerName} {model.ProducerVersion}".Trim(),
            inputs,
            outputs,
            ops,
            g.Initializer.Count,
            g.Initializer.Sum(OnnxFile.Count),
            bytesByType,
            FormOf(model),
            [.. Enum.GetValues<ModelProfile>().Select(p => Fit(path, p))]);
    }

    /// <summary>QDQ, QOperator, float16 or none, from the operators and initializer types.</summary>
    public static QuantizationForm FormOf(ModelProto model)
    {
        var g = model.Graph;
        if (g.Node.Any(n => QOperatorOps.Contains(n.OpType)))
        {
            return QuantizationForm.QOperator;
        }

        if (g.Node.Any(n => n.OpType is "QuantizeLinear" or "DequantizeLinear"))
        {
            return QuantizationForm.Qdq;
        }

        return g.Initializer.Any(t => t.DataType == OnnxType.Float16)
            || g.Input.Any(i => i.Type?.TensorType?.ElemType == OnnxType.Float16)
            ? QuantizationForm.Float16
            : QuantizationForm.None;
    }

    /// <summary>Opens the model the way the Inference module does (input checks, the profile's output checks, a warm-up frame).</summary>
    public static ProfileFit Fit(string path, ModelProfile profile)
    {
        try
        {
            using var loaded = LoadedModel.Load(path, "inspect", new ModelSettings { Url = path, Profile = profile }, null, new SessionConfig("cpu", 1));
            return new ProfileFit(profile, true, null);
        }
        catch (ModelValidationException ex)
        {
            return new ProfileFit(profile, false, ex.Message);
        }
    }

    private static TensorInfo Describe(ValueInfoProto v)
    {
        var t = v.Type?.TensorType;
        if (t is null)
        {
            return new TensorInfo(v.Name, "non-tensor", []);
        }

        var shape = t.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : d.DimParam is { Length: > 0 } p ? p : "?").ToList() ?? [];
        return new TensorInfo(v.Name, OnnxType.Name(t.ElemType), shape);
    }
}
