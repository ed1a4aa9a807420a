using Onnx;

namespace Edge.Models;

/// <summary>How an operator takes part in QDQ quantization.</summary>
internal enum QdqRole
{
    /// <summary>Left in float: ONNX Runtime's CPU provider has no integer kernel or fusion for it.</summary>
    Float,

    /// <summary>Inputs and output quantized with their own ranges; the CPU provider fuses DQ→op→Q into an integer kernel.</summary>
    Compute,

    /// <summary>Moves or selects data: quantized only when its input is, the output sharing the input's scale and zero point.</summary>
    SameAsInput,

    /// <summary>Relu/Clip after a quantized operator: removed, the producer's output taking the activation's range (the clamp is the quantization's).</summary>
    Removable,
}

/// <summary>
/// Which tensors get a QuantizeLinear/DequantizeLinear pair, which initializers become int8 weights or int32 biases, and
/// which activations disappear into the quantization, following ONNX Runtime's QDQ quantizer
/// (<c>onnxruntime/python/tools/quantization/qdq_quantizer.py</c>, <c>registry.py</c> <c>QDQRegistry</c>,
/// <c>operators/direct_q8.py</c>, <c>operators/activation.py</c> <c>QDQRemovableActivation</c>) restricted to the operators
/// the CPU execution provider runs quantized (<c>onnxruntime/core/optimizer/qdq_transformer/selectors_actions/
/// qdq_selector_action_transformer.cc</c>): Conv, MatMul, Gemm, Add, Mul, Concat, AveragePool, GlobalAveragePool, Sigmoid,
/// LeakyRelu in integer kernels; MaxPool, Reshape, Transpose, Squeeze, Unsqueeze, Flatten, Resize, Pad, Gather passing int8
/// through. Everything else stays float.
/// </summary>
internal sealed class QdqPlan
{
    private static readonly Dictionary<string, QdqRole> Roles = new(StringComparer.Ordinal)
    {
        ["Conv"] = QdqRole.Compute,
        ["MatMul"] = QdqRole.Compute,
        ["Gemm"] = QdqRole.Compute,
        ["Add"] = QdqRole.Compute,
        ["Mul"] = QdqRole.Compute,
        ["Concat"] = QdqRole.Compute,
        ["AveragePool"] = QdqRole.Compute,
        ["GlobalAveragePool"] = QdqRole.Compute,
        ["Sigmoid"] = QdqRole.Compute,
        ["LeakyRelu"] = QdqRole.Compute,
        ["MaxPool"] = QdqRole.SameAsInput,
        ["Reshape"] = QdqRole.SameAsInput,
        ["Transpose"] = QdqRole.SameAsInput,
        ["Squeeze"] = QdqRole.SameAsInput,
        ["Unsqueeze"] = QdqRole.SameAsInput,
        ["Flatten"] = QdqRole.SameAsInput,
        ["Resize"] = QdqRole.SameAsInput,
        ["Pad"] = QdqRole.SameAsInput,
        ["Gather"] = QdqRole.SameAsInput,
        ["Relu"] = QdqRole.Removable,
        ["Clip"] = QdqRole.Removable,
    };

    private QdqPlan()
    {
    }

    /// <summary>Activations that get a Q/DQ pair with their own calibrated range.</summary>
    public HashSet<string> Activations { get; } = new(StringComparer.Ordinal);

    /// <summary>Outputs of pass-through operators: a Q/DQ pair with the scale and zero point of the named input.</summary>
    public Dictionary<string, string> SameAs { get; } = new(StringComparer.Ordinal);

    /// <summary>Initializers quantized as int8 symmetric weights: name → whether a Conv holds them (per-channel along axis 0 when asked).</summary>
    public Dictionary<string, bool> Weights { get; } = new(StringComparer.Ordinal);

    /// <summary>Bias initializers (int32, scale = input scale × weight scale): name → (activation input, weight).</summary>
    public Dictionary<string, (string Input, string Weight)> Biases { get; } = new(StringComparer.Ordinal);

    /// <summary>Constant inputs of Add/Mul/Concat quantized like activations (int8 asymmetric over their own range).</summary>
    public HashSet<string> Constants { get; } = new(StringComparer.Ordinal);

    /// <summary>Relu/Clip nodes removed: their producer writes the activation's output directly.</summary>
    public HashSet<NodeProto> Removed { get; } = [];

    /// <summary>The output head: tensors left float because they reach a graph output through data movement only.</summary>
    public HashSet<string> FloatOutputs { get; } = new(StringComparer.Ordinal);

    public List<NodeProto> QuantizedNodes { get; } = [];

    public List<NodeProto> FloatNodes { get; } = [];

    /// <summary>Every tensor whose range the calibration must collect.</summary>
    public IReadOnlyCollection<string> CalibrationTensors => Activations;

    public static QdqRole RoleOf(NodeProto node) =>
        node.Domain is "" or "ai.onnx" && Roles.TryGetValue(node.OpType, out var r) ? r : QdqRole.Float;

    public static QdqPlan Create(GraphProto g)
    {
        var plan = new QdqPlan();
        var initializers = g.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var graphOutputs = g.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in g.Node)
        {
            foreach (var i in n.Input.Where(i => i.Length > 0))
            {
                (consumers.TryGetValue(i, out var l) ? l : consumers[i] = []).Add(n);
            }

            foreach (var o in n.Output)
            {
                producers[o] = n;
            }
        }

        // Relu/Clip right after a compute operator, its only consumer: removed (ORT: QDQRemovableActivation, and the
        // calibration range of the producer's output replaced by the activation's in adjust_tensor_ranges).
        foreach (var n in g.Node.Where(n => RoleOf(n) == QdqRole.Removable))
        {
            var input = n.Input[0];
            if (producers.TryGetValue(input, out var p) && RoleOf(p) == QdqRole.Compute && p.Output.Count == 1
                && consumers[input].Count == 1 && !graphOutputs.Contains(input)
                && (n.OpType == "Relu" || n.Input.Skip(1).All(i => i.Length == 0 || initializers.ContainsKey(i))))
            {
                plan.Removed.Add(n);
            }
        }

        // The output head stays float: tensors that reach a graph output only through data movement (reshapes, transposes,
        // concatenations). Their values are the model's answer (logits, box offsets); an 8-bit grid over a wide logit range
        // moves scores across the threshold (a logit quantized to the zero point is exactly score 0.5). The operators that
        // produce them still take quantized inputs and int8 weights; only their outputs are not requantized.
        var head = OutputHead(g, graphOutputs, consumers);
        plan.FloatOutputs.UnionWith(head);

        var quantized = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in g.Node)
        {
            if (plan.Removed.Contains(n))
            {
                continue;
            }

            switch (RoleOf(n))
            {
                case QdqRole.Compute when n.OpType == "Concat" && head.Contains(n.Output[0]):
                    plan.FloatNodes.Add(n);
                    break;
                case QdqRole.Compute:
                    foreach (var (name, index) in ActivationInputs(n))
                    {
                        if (initializers.TryGetValue(name, out var init))
                        {
                            if (init.DataType != OnnxType.Float)
                            {
                                continue;
                            }

                            switch (n.OpType)
                            {
                                case "Conv" or "MatMul" or "Gemm" when index == 1:
                                    plan.Weights[name] = n.OpType == "Conv";
                                    break;
                                case "Conv" or "Gemm" when index == 2:
                                    plan.Biases[name] = (n.Input[0], n.Input[1]);
                                    break;
                                default:
                                    plan.Constants.Add(name);
                                    break;
                            }
                        }
                        else if (!(n.OpType is "Conv" or "Gemm" && index == 2))
                        {
                            plan.Activations.Add(name);
                            quantized.Add(name);
                        }
                    }

                    // The node's output: its own (where a Relu/Clip was removed, that activation's) range.
                    var output = Output(n, plan, consumers);
                    if (!head.Contains(output))
                    {
                        plan.Activations.Add(output);
                        quantized.Add(output);
                    }

                    plan.QuantizedNodes.Add(n);
                    break;
                case QdqRole.SameAsInput when quantized.Contains(n.Input[0]) && n.Output.Count == 1:
                    plan.SameAs[n.Output[0]] = n.Input[0];
                    quantized.Add(n.Output[0]);
                    plan.QuantizedNodes.Add(n);
                    break;
                default:
                    plan.FloatNodes.Add(n);
                    break;
            }
        }

        // A bias is only int32 when its Conv/Gemm's input and weight are both quantized.
        foreach (var (bias, (input, weight)) in plan.Biases.ToList())
        {
            if (!quantized.Contains(input) || !plan.Weights.ContainsKey(weight))
            {
                plan.Biases.Remove(bias);
            }
        }

        return plan;
    }

    /// <summary>Tensors from which every path reaches a graph output through data movement and Concat only.</summary>
    private static HashSet<string> OutputHead(GraphProto g, HashSet<string> graphOutputs, Dictionary<string, List<NodeProto>> consumers)
    {
        var head = new HashSet<string>(graphOutputs, StringComparer.Ordinal);
        for (var i = g.Node.Count - 1; i >= 0; i--)
        {
            var n = g.Node[i];
            foreach (var o in n.Output)
            {
                if (!head.Contains(o) && consumers.TryGetValue(o, out var cs) && cs.Count > 0
                    && cs.All(c => (RoleOf(c) == QdqRole.SameAsInput || c.OpType == "Concat") && c.Output.All(head.Contains) && c.Input.Count > 0 && (c.OpType == "Concat" || c.Input[0] == o)))
                {
                    head.Add(o);
                }
            }
        }

        return head;
    }

    /// <summary>The float-tensor inputs of a compute operator, by position (weights and biases included).</summary>
    private static IEnumerable<(string Name, int Index)> ActivationInputs(NodeProto n)
    {
        var count = n.OpType switch
        {
            "Conv" or "Gemm" => Math.Min(3, n.Input.Count),
            "MatMul" or "Add" or "Mul" => 2,
            "Concat" => n.Input.Count,
            _ => 1,
        };
        for (var i = 0; i < count && i < n.Input.Count; i++)
        {
            if (n.Input[i].Length > 0)
            {
                yield return (n.Input[i], i);
            }
        }
    }

    private static string Output(NodeProto n, QdqPlan plan, Dictionary<string, List<NodeProto>> consumers)
    {
        var o = n.Output[0];
        return consumers.TryGetValue(o, out var c) && c.Count == 1 && plan.Removed.Contains(c[0]) ? c[0].Output[0] : o;
    }
}
