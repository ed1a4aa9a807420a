using Onnx;

namespace Edge.Models;

/// <summary>
/// <c>edge model fp16</c>: every float initializer stored as float16 and cast back to float by a <c>Cast</c> node that keeps
/// the original name, so inputs, outputs and every operator stay float. A full float16 graph is not written: ONNX Runtime's
/// CPU provider has float16 kernels for few operators and would run it through inserted casts, slower than float. With graph
/// optimisation on (the Inference module's setting), ONNX Runtime folds the casts into float initializers at load: the file
/// is half the size and the run is the float model's.
/// </summary>
internal static class Float16Converter
{
    /// <summary>Writes the float16-weight model; returns how many initializers were converted.</summary>
    public static int Convert(string inputPath, string outputPath)
    {
        var model = OnnxFile.Load(inputPath);
        if (ModelInspector.FormOf(model) is var form and not QuantizationForm.None)
        {
            throw new InvalidDataException($"{inputPath} is already {(form == QuantizationForm.Float16 ? "float16" : $"quantized ({form})")}; convert the float32 model");
        }

        var g = model.Graph;
        var casts = new List<NodeProto>();
        var converted = new HashSet<string>(StringComparer.Ordinal);
        var initializers = g.Initializer.ToList();
        g.Initializer.Clear();
        foreach (var t in initializers)
        {
            if (t.DataType != OnnxType.Float || OnnxFile.Count(t) < 2)
            {
                g.Initializer.Add(t);
                continue;
            }

            var values = OnnxFile.ReadFloats(t);
            var halves = new Half[values.Length];
            for (var i = 0; i < values.Length; i++)
            {
                // Clamped to float16's finite range (as onnxconverter-common's convert_np_to_float16 does).
                halves[i] = (Half)Math.Clamp(values[i], -65504f, 65504f);
            }

            g.Initializer.Add(OnnxFile.Halves(t.Name + "_fp16", halves, [.. t.Dims]));
            casts.Add(OnnxFile.Node("Cast", t.Name + "_Cast", [t.Name + "_fp16"], [t.Name], OnnxFile.IntAttribute("to", OnnxType.Float)));
            converted.Add(t.Name);
        }

        foreach (var input in g.Input.Where(i => converted.Contains(i.Name)).ToList())
        {
            g.Input.Remove(input);
        }

        var nodes = g.Node.ToList();
        g.Node.Clear();
        g.Node.AddRange(casts);
        g.Node.AddRange(nodes);
        model.ProducerName = "edge model fp16";
        model.ProducerVersion = "float16-weights";
        OnnxFile.Save(model, outputPath);
        return converted.Count;
    }
}
