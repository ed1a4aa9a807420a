using Inference.Processing;

namespace Inference.Models.Profiles;

/// <summary>
/// YOLO exports: v5-style <c>[1,N,5+C]</c> (cx, cy, w, h, objectness, C class scores; score = objectness × best class)
/// and v8-style <c>[1,4+C,N]</c> (cx, cy, w, h, C class scores). Coordinates are model-input pixels; class-wise hard NMS.
/// </summary>
internal sealed class YoloPostProcessor(YoloLayout layout) : IPostProcessor
{
    public float DefaultNmsIou => 0.45f;

    public IReadOnlyList<string> DefaultLabels => CocoLabels.Names;

    public void Validate(IReadOnlyList<ModelOutput> outputs, int inputWidth, int inputHeight)
    {
        if (outputs.Count == 0 || outputs[0].Shape.Length != 3)
        {
            throw new ModelValidationException($"the yolo profile needs a first output of rank 3 ([1,N,5+C] or [1,4+C,N]); the model has {string.Join(", ", outputs)}");
        }

        var s = outputs[0].Shape;
        if (s[1] > 0 && s[2] > 0)
        {
            var v8 = IsV8(s);
            var channels = v8 ? s[1] : s[2];
            if (channels < (v8 ? 5 : 6))
            {
                throw new ModelValidationException($"the yolo profile ({(v8 ? "v8" : "v5")} layout) needs at least {(v8 ? 5 : 6)} values per box; output {outputs[0]} has {channels}");
            }
        }
    }

    public void Decode(IReadOnlyList<ModelOutput> outputs, in InputTransform transform, in DecodeContext context, List<Detection> results)
    {
        var output = outputs[0];
        var data = output.Span;
        var v8 = IsV8(output.Shape);
        int n, stride, step, classes, first;
        if (v8)
        {
            // [1, 4+C, N]: value v of box i at v*N + i.
            n = (int)output.Shape[2];
            classes = (int)output.Shape[1] - 4;
            stride = 1;
            step = n;
            first = 4;
        }
        else
        {
            // [1, N, 5+C]: value v of box i at i*(5+C) + v.
            n = (int)output.Shape[1];
            classes = (int)output.Shape[2] - 5;
            stride = (int)output.Shape[2];
            step = 1;
            first = 5;
        }

        var candidates = new List<Detection>();
        for (var i = 0; i < n; i++)
        {
            var b = i * stride;
            var objectness = v8 ? 1f : data[b + (4 * step)];
            if (objectness < context.MinScore)
            {
                continue;
            }

            var best = -1;
            var bestScore = float.MinValue;
            for (var c = 0; c < classes; c++)
            {
                var s = data[b + ((first + c) * step)];
                if (s > bestScore)
                {
                    bestScore = s;
                    best = c;
                }
            }

            var score = objectness * bestScore;
            if (score < context.MinScore)
            {
                continue;
            }

            float cx = data[b], cy = data[b + step], w = data[b + (2 * step)], h = data[b + (3 * step)];
            var box = new NormalizedBox(transform.X(cx - (w / 2)), transform.Y(cy - (h / 2)), transform.W(w), transform.H(h)).Clamp();
            candidates.Add(new Detection(best, BlazeFacePostProcessor.Label(context.Labels, best), score, box));
        }

        Nms.Hard(candidates, context.NmsIou);
        results.AddRange(candidates);
    }

    private bool IsV8(long[] shape) => layout switch
    {
        YoloLayout.V5 => false,
        YoloLayout.V8 => true,
        _ => shape[1] > 0 && shape[2] > 0 ? shape[1] < shape[2] : shape[2] < 0,
    };
}
