using Google.Protobuf;
using Onnx;

namespace Inference.Tests;

/// <summary>Builds tiny ONNX models with the ONNX protobuf schema, so post-processing is checked against hand-computed outputs.</summary>
internal static class TinyModels
{
    public const int Float = 1;
    public const int UInt8 = 2;

    /// <summary>
    /// A yolo-v5 <c>output0</c> of 8 rows (x, y, w, h, objectness, 2 class scores): one box at (32, 32) 32x16, objectness 0.9,
    /// class 0 0.8; the other rows are empty.
    /// </summary>
    public static float[] YoloV5OneBoxRows()
    {
        var v = new float[8 * 7];
        new float[] { 32, 32, 32, 16, 0.9f, 0.8f, 0.2f }.CopyTo(v, 0);
        return v;
    }

    /// <summary>A model whose outputs are constants (the image input is declared and fed but unused).</summary>
    public static byte[] Constant(long[] inputShape, int inputType, params (string Name, long[] Shape, float[] Values)[] outputs)
    {
        var graph = new GraphProto { Name = "constant" };
        graph.Input.Add(Value("images", inputType, inputShape));
        foreach (var (name, shape, values) in outputs)
        {
            var tensor = new TensorProto { DataType = Float };
            tensor.Dims.AddRange(shape);
            tensor.FloatData.AddRange(values);
            var node = new NodeProto { OpType = "Constant", Name = "const_" + name };
            node.Output.Add(name);
            node.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = tensor });
            graph.Node.Add(node);
            graph.Output.Add(Value(name, Float, shape));
        }

        return Model(graph);
    }

    /// <summary>
    /// A one-layer classifier: logits = Flatten(Cast(image)) x W, with W[12, 3] making class c the sum of channel c
    /// (R, G, B in NCHW [1,3,2,2]) times <paramref name="gain"/>.
    /// </summary>
    public static byte[] Classifier(int inputType, float gain)
    {
        var graph = new GraphProto { Name = "classifier" };
        graph.Input.Add(Value("images", inputType, [1, 3, 2, 2]));
        var source = "images";
        if (inputType != Float)
        {
            var cast = new NodeProto { OpType = "Cast", Name = "cast" };
            cast.Input.Add("images");
            cast.Output.Add("images_f");
            cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = Float });
            graph.Node.Add(cast);
            source = "images_f";
        }

        var flatten = new NodeProto { OpType = "Flatten", Name = "flatten" };
        flatten.Input.Add(source);
        flatten.Output.Add("flat");
        flatten.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        graph.Node.Add(flatten);
        var w = new TensorProto { DataType = Float, Name = "W" };
        w.Dims.AddRange([12, 3]);
        for (var i = 0; i < 12; i++)
        {
            for (var c = 0; c < 3; c++)
            {
                w.FloatData.Add(i / 4 == c ? gain : 0f);
            }
        }

        graph.Initializer.Add(w);
        var matmul = new NodeProto { OpType = "MatMul", Name = "fc" };
        matmul.Input.Add("flat");
        matmul.Input.Add("W");
        matmul.Output.Add("logits");
        graph.Node.Add(matmul);
        graph.Output.Add(Value("logits", Float, [1, 3]));
        return Model(graph);
    }

    /// <summary>Adds <c>metadata_props</c> entries (e.g. Ultralytics' <c>names</c>) to a serialised model.</summary>
    public static byte[] WithMetadata(byte[] model, string key, string value)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return proto.ToByteArray();
    }

    public static string Write(byte[] model, string directory, string name)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllBytes(path, model);
        return path;
    }

    private static ValueInfoProto Value(string name, int type, long[] shape)
    {
        var tensorShape = new TensorShapeProto();
        foreach (var d in shape)
        {
            tensorShape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = type, Shape = tensorShape } },
        };
    }

    private static byte[] Model(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "Inference.Tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model.ToByteArray();
    }
}
