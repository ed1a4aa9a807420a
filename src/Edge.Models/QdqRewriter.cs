using Onnx;

namespace Edge.Models;

/// <summary>
/// Writes the QDQ graph for a <see cref="QdqPlan"/>: one QuantizeLinear→DequantizeLinear pair after each quantized activation
/// (every consumer reads the DequantizeLinear output; a graph output keeps its name on the DequantizeLinear), int8 weight
/// and int32 bias initializers each behind a DequantizeLinear, float initializers dropped when nothing else reads them.
/// The layout follows ONNX Runtime's QDQ quantizer (<c>_quantize_normal_tensors</c>, <c>_add_qdq_pair_for_activation</c>,
/// <c>_quantize_bias_tensors</c>), so ONNX Runtime's QDQ selectors fuse it the same way.
/// </summary>
internal static class QdqRewriter
{
    public static ModelProto Apply(ModelProto source, QdqPlan plan, IReadOnlyDictionary<string, (float Min, float Max)> ranges, bool perChannel, bool unsignedActivations)
    {
        var model = source.Clone();
        var g = model.Graph;
        var initializers = g.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var graphOutputs = g.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var graphInputs = g.Input.Select(i => i.Name).Where(n => !initializers.ContainsKey(n)).ToHashSet(StringComparer.Ordinal);
        var added = new List<TensorProto>();
        var head = new List<NodeProto>();
        var body = new List<NodeProto>();
        var rename = new Dictionary<string, string>(StringComparer.Ordinal);

        // What the quantizer adds is named from a short id per original tensor ("q12/scale"), not from the original name
        // ("q12/s" scale, "/z" zero point, "/i" integers, "/q" and "/d" the Q and DQ outputs; ORT appends "_QuantizeLinear_Output" etc.): exporters' tensor names run to 60-100 characters, and with three Q/DQ
        // names per tensor they would weigh as much as the int8 weights. The added Q/DQ nodes are unnamed (names are optional). `edge model inspect` lists the graph either way.
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        string N(string tensor, string suffix)
        {
            if (!ids.TryGetValue(tensor, out var id))
            {
                ids[tensor] = id = "q" + ids.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return id + "/" + suffix;
        }

        var (qmin, qmax) = unsignedActivations ? (0, 255) : (QuantMath.ActivationMin, QuantMath.ActivationMax);
        TensorProto ZeroPoint(string name, int zp) => unsignedActivations ? OnnxFile.UInt8s(name, [(byte)zp]) : OnnxFile.Int8s(name, [(sbyte)zp]);

        // Activation parameters: own range, or the pass-through source's (resolved transitively).
        var activation = new Dictionary<string, QuantParams>(StringComparer.Ordinal);
        foreach (var name in plan.Activations)
        {
            var (min, max) = ranges.TryGetValue(name, out var r) ? r : throw new InvalidDataException($"no calibration range for tensor {name}");
            activation[name] = QuantMath.Compute(min, max, qmin, qmax, symmetric: false);
        }

        string ParamsName(string tensor)
        {
            while (plan.SameAs.TryGetValue(tensor, out var src))
            {
                tensor = src;
            }

            return tensor;
        }

        var paramsWritten = new HashSet<string>(StringComparer.Ordinal);
        (string Scale, string ZeroPoint) ActivationParams(string tensor)
        {
            var owner = ParamsName(tensor);
            var p = activation[owner];
            if (paramsWritten.Add(owner))
            {
                added.Add(OnnxFile.Floats(N(owner, "s"), [p.Scale]));
                added.Add(ZeroPoint(N(owner, "z"), p.ZeroPoint));
            }

            return (N(owner, "s"), N(owner, "z"));
        }

        var replaced = new HashSet<string>(StringComparer.Ordinal);

        // Symmetric weights have zero point 0 everywhere: one shared zero tensor per channel count (0 = a scalar).
        var zeros = new HashSet<int>();
        string WeightZeros(int channels)
        {
            var zeroName = "weight_zero_point_" + channels.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (zeros.Add(channels))
            {
                added.Add(channels == 0 ? OnnxFile.Int8s(zeroName, [0]) : OnnxFile.Int8s(zeroName, new sbyte[channels], channels));
            }

            return zeroName;
        }

        // Weights: int8 symmetric, per channel (axis 0) for Conv when asked.
        var weightScales = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var (name, isConv) in plan.Weights)
        {
            var w = initializers[name];
            var values = OnnxFile.ReadFloats(w);
            var dims = w.Dims.ToArray();
            var dq = N(name, "d");
            if (perChannel && isConv && dims.Length > 1)
            {
                var channels = (int)dims[0];
                var (q, scales) = QuantMath.QuantizeWeightsPerChannel(values, channels);
                weightScales[name] = scales;
                added.Add(OnnxFile.Int8s(N(name, "i"), q, dims));
                added.Add(OnnxFile.Floats(N(name, "s"), scales, channels));
                head.Add(OnnxFile.Node("DequantizeLinear", string.Empty, [N(name, "i"), N(name, "s"), WeightZeros(channels)], [dq], OnnxFile.IntAttribute("axis", 0)));
            }
            else
            {
                var (q, p) = QuantMath.QuantizeWeights(values);
                weightScales[name] = [p.Scale];
                added.Add(OnnxFile.Int8s(N(name, "i"), q, dims));
                added.Add(OnnxFile.Floats(N(name, "s"), [p.Scale]));
                head.Add(OnnxFile.Node("DequantizeLinear", string.Empty, [N(name, "i"), N(name, "s"), WeightZeros(0)], [dq]));
            }

            rename[name] = dq;
            replaced.Add(name);
        }

        // Biases: int32, scale = input scale x weight scale (per channel with the weights), zero point 0 (the optional input left out).
        foreach (var (name, (input, weight)) in plan.Biases)
        {
            var b = initializers[name];
            var values = OnnxFile.ReadFloats(b);
            var inputScale = activation[ParamsName(input)].Scale;
            var (q, scales) = QuantMath.QuantizeBias(values, inputScale, weightScales[weight]);
            var dq = N(name, "d");
            added.Add(OnnxFile.Int32s(N(name, "i"), q, [.. b.Dims]));
            if (scales.Length > 1)
            {
                added.Add(OnnxFile.Floats(N(name, "s"), scales, scales.Length));
                head.Add(OnnxFile.Node("DequantizeLinear", string.Empty, [N(name, "i"), N(name, "s")], [dq], OnnxFile.IntAttribute("axis", 0)));
            }
            else
            {
                added.Add(OnnxFile.Floats(N(name, "s"), scales));
                head.Add(OnnxFile.Node("DequantizeLinear", string.Empty, [N(name, "i"), N(name, "s")], [dq]));
            }

            rename[name] = dq;
            replaced.Add(name);
        }

        // Constant inputs of Add/Mul/Concat: int8 asymmetric over their own range.
        foreach (var name in plan.Constants)
        {
            var c = initializers[name];
            var values = OnnxFile.ReadFloats(c);
            var (min, max) = QuantMath.MinMax(values);
            var p = QuantMath.Compute(min, max, qmin, qmax, symmetric: false);
            var q = new int[values.Length];
            for (var i = 0; i < q.Length; i++)
            {
                q[i] = QuantMath.Quantize(values[i], p, qmin, qmax);
            }

            var dq = N(name, "d");
            added.Add(unsignedActivations
                ? OnnxFile.UInt8s(N(name, "i"), [.. q.Select(v => (byte)v)], [.. c.Dims])
                : OnnxFile.Int8s(N(name, "i"), [.. q.Select(v => (sbyte)v)], [.. c.Dims]));
            added.Add(OnnxFile.Floats(N(name, "s"), [p.Scale]));
            added.Add(ZeroPoint(N(name, "z"), p.ZeroPoint));
            head.Add(OnnxFile.Node("DequantizeLinear", string.Empty, [N(name, "i"), N(name, "s"), N(name, "z")], [dq]));
            rename[name] = dq;
            replaced.Add(name);
        }

        var quantizedTensors = new HashSet<string>(plan.Activations.Concat(plan.SameAs.Keys), StringComparer.Ordinal);

        // A Q/DQ pair after a tensor; a graph output keeps its name on the DequantizeLinear, its producer writing a new one.
        void AddPair(string tensor, List<NodeProto> to, NodeProto? producer)
        {
            var (scale, zp) = ActivationParams(tensor);
            if (graphOutputs.Contains(tensor) && producer is not null)
            {
                var pre = N(tensor, "f");
                for (var i = 0; i < producer.Output.Count; i++)
                {
                    if (producer.Output[i] == tensor)
                    {
                        producer.Output[i] = pre;
                    }
                }

                to.Add(OnnxFile.Node("QuantizeLinear", string.Empty, [pre, scale, zp], [N(tensor, "q")]));
                to.Add(OnnxFile.Node("DequantizeLinear", string.Empty, [N(tensor, "q"), scale, zp], [tensor]));
                return;
            }

            to.Add(OnnxFile.Node("QuantizeLinear", string.Empty, [tensor, scale, zp], [N(tensor, "q")]));
            to.Add(OnnxFile.Node("DequantizeLinear", string.Empty, [N(tensor, "q"), scale, zp], [N(tensor, "d")]));
            rename[tensor] = N(tensor, "d");
        }

        foreach (var input in graphInputs.Where(quantizedTensors.Contains))
        {
            AddPair(input, head, null);
        }

        // Removed Relu/Clip: the producer writes the activation's output name.
        var removedOutput = plan.Removed.ToDictionary(n => n.Input[0], n => n.Output[0], StringComparer.Ordinal);
        foreach (var node in g.Node)
        {
            if (plan.Removed.Contains(node))
            {
                continue;
            }

            var n = node.Clone();
            for (var i = 0; i < n.Input.Count; i++)
            {
                if (rename.TryGetValue(n.Input[i], out var to))
                {
                    n.Input[i] = to;
                }
            }

            for (var i = 0; i < n.Output.Count; i++)
            {
                if (removedOutput.TryGetValue(n.Output[i], out var to))
                {
                    n.Output[i] = to;
                }
            }

            body.Add(n);
            foreach (var o in n.Output.ToList().Where(quantizedTensors.Contains))
            {
                AddPair(o, body, n);
            }
        }

        // Float initializers replaced by quantized ones go, unless something still reads them.
        var stillRead = body.Concat(head).SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        var keep = g.Initializer.Where(i => !replaced.Contains(i.Name) || stillRead.Contains(i.Name)).ToList();
        g.Initializer.Clear();
        g.Initializer.AddRange(keep);
        g.Initializer.AddRange(added);
        foreach (var input in g.Input.Where(i => replaced.Contains(i.Name) && !stillRead.Contains(i.Name)).ToList())
        {
            g.Input.Remove(input);
        }

        g.Node.Clear();
        g.Node.AddRange(head);
        g.Node.AddRange(body);

        // Shapes and types of the renamed tensors are inferred again by the runtime.
        g.ValueInfo.Clear();
        model.ProducerName = "edge model quantize";
        model.ProducerVersion = "qdq-int8";
        return model;
    }
}
