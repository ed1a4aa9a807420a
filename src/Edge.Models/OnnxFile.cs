using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Edge.Models;

/// <summary>ONNX <c>TensorProto.DataType</c> values the tooling reads and writes.</summary>
internal static class OnnxType
{
    public const int Float = 1;
    public const int UInt8 = 2;
    public const int Int8 = 3;
    public const int Int32 = 6;
    public const int Int64 = 7;
    public const int Float16 = 10;
    public const int Double = 11;

    public static string Name(int type) => type switch
    {
        Float => "float",
        UInt8 => "uint8",
        Int8 => "int8",
        4 => "uint16",
        5 => "int16",
        Int32 => "int32",
        Int64 => "int64",
        8 => "string",
        9 => "bool",
        Float16 => "float16",
        Double => "double",
        12 => "uint32",
        13 => "uint64",
        16 => "bfloat16",
        _ => $"type{type}",
    };
}

/// <summary>Reads and writes ONNX models (the protobuf schema from OnnxSharp) and their tensors.</summary>
internal static class OnnxFile
{
    /// <summary>Reads a model; throws <see cref="InvalidDataException"/> with what to do when the file is not ONNX.</summary>
    public static ModelProto Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file; give the path of an .onnx file", path);
        }

        try
        {
            var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            return model.Graph is null || model.Graph.Node.Count == 0
                ? throw new InvalidDataException($"{path}: not an ONNX model (no graph); give the path of an .onnx file")
                : model;
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new InvalidDataException($"{path}: not an ONNX model ({ex.Message}); give the path of an .onnx file", ex);
        }
    }

    /// <summary>Writes the model (through a temporary file, so a failed write never leaves half a model).</summary>
    public static void Save(ModelProto model, string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        var tmp = path + ".tmp";
        File.WriteAllBytes(tmp, model.ToByteArray());
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>The default-domain (<c>ai.onnx</c>) opset the model imports.</summary>
    public static long Opset(ModelProto model) =>
        model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();

    /// <summary>Element count of a tensor from its dims.</summary>
    public static long Count(TensorProto t) => t.Dims.Aggregate(1L, (a, b) => a * b);

    /// <summary>The values of a float tensor (raw_data or float_data).</summary>
    public static float[] ReadFloats(TensorProto t)
    {
        if (t.DataType != OnnxType.Float)
        {
            throw new InvalidDataException($"tensor {t.Name} is {OnnxType.Name(t.DataType)}, not float");
        }

        return !t.RawData.IsEmpty ? MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray() : [.. t.FloatData];
    }

    public static TensorProto Floats(string name, ReadOnlySpan<float> values, params long[] dims) =>
        Raw(name, OnnxType.Float, MemoryMarshal.AsBytes(values), dims);

    public static TensorProto Int8s(string name, ReadOnlySpan<sbyte> values, params long[] dims) =>
        Raw(name, OnnxType.Int8, MemoryMarshal.AsBytes(values), dims);

    public static TensorProto UInt8s(string name, ReadOnlySpan<byte> values, params long[] dims) =>
        Raw(name, OnnxType.UInt8, values, dims);

    public static TensorProto Int32s(string name, ReadOnlySpan<int> values, params long[] dims) =>
        Raw(name, OnnxType.Int32, MemoryMarshal.AsBytes(values), dims);

    public static TensorProto Halves(string name, ReadOnlySpan<Half> values, params long[] dims) =>
        Raw(name, OnnxType.Float16, MemoryMarshal.AsBytes(values), dims);

    public static NodeProto Node(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    public static AttributeProto IntAttribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static TensorProto Raw(string name, int type, ReadOnlySpan<byte> bytes, long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = type, RawData = ByteString.CopyFrom(bytes) };
        t.Dims.AddRange(dims);
        return t;
    }
}
