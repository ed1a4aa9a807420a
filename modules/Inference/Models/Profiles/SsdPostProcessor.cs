using Inference.Processing;

namespace Inference.Models.Profiles;

/// <summary>
/// SSD-style exports with separate outputs: boxes <c>[1,N,4]</c> (normalised, <c>yxyx</c> or <c>xyxy</c>), classes <c>[1,N]</c>,
/// scores <c>[1,N]</c> and optionally a detection count <c>[1]</c>. Outputs are found by name (box/class/score/num) and
/// otherwise in that order. Boxes are already suppressed by the model; a class-wise NMS still removes duplicates.
/// </summary>
internal sealed class SsdPostProcessor(BoxFormat format, int classIdOffset) : IPostProcessor
{
    public float DefaultNmsIou => 0.45f;

    public IReadOnlyList<string> DefaultLabels => CocoLabels.Names;

    public void Validate(IReadOnlyList<ModelOutput> outputs, int inputWidth, int inputHeight)
    {
        var (boxes, classes, scores, _) = Map(outputs);
        if (boxes is null || classes is null || scores is null)
        {
            throw new ModelValidationException($"the ssd profile needs boxes [1,N,4], classes [1,N] and scores [1,N] outputs; the model has {string.Join(", ", outputs)}");
        }

        if (boxes.Shape.Length != 3 || (boxes.Shape[2] > 0 && boxes.Shape[2] != 4))
        {
            throw new ModelValidationException($"the ssd profile needs boxes shaped [1,N,4]; got {boxes}");
        }
    }

    public void Decode(IReadOnlyList<ModelOutput> outputs, in InputTransform transform, in DecodeContext context, List<Detection> results)
    {
        var (boxOut, classOut, scoreOut, countOut) = Map(outputs);
        var boxes = boxOut!.Span;
        var classes = classOut!.Span;
        var scores = scoreOut!.Span;
        var n = Math.Min(Math.Min(boxes.Length / 4, classes.Length), scores.Length);
        if (countOut is { Length: > 0 })
        {
            n = Math.Min(n, (int)countOut.Span[0]);
        }

        var candidates = new List<Detection>();
        for (var i = 0; i < n; i++)
        {
            var score = scores[i];
            if (score < context.MinScore)
            {
                continue;
            }

            var r = boxes.Slice(i * 4, 4);
            float x0, y0, x1, y1;
            if (format == BoxFormat.Yxyx)
            {
                (y0, x0, y1, x1) = (r[0], r[1], r[2], r[3]);
            }
            else
            {
                (x0, y0, x1, y1) = (r[0], r[1], r[2], r[3]);
            }

            // Normalised to the model input; map through the letterbox to the frame.
            var px0 = x0 * transform.InputWidth;
            var py0 = y0 * transform.InputHeight;
            var pw = (x1 - x0) * transform.InputWidth;
            var ph = (y1 - y0) * transform.InputHeight;
            var box = new NormalizedBox(transform.X(px0), transform.Y(py0), transform.W(pw), transform.H(ph)).Clamp();
            var id = (int)MathF.Round(classes[i]) + classIdOffset;
            candidates.Add(new Detection(id, BlazeFacePostProcessor.Label(context.Labels, id), score, box));
        }

        Nms.Hard(candidates, context.NmsIou);
        results.AddRange(candidates);
    }

    private static (ModelOutput? Boxes, ModelOutput? Classes, ModelOutput? Scores, ModelOutput? Count) Map(IReadOnlyList<ModelOutput> outputs)
    {
        ModelOutput? Named(string part) => outputs.FirstOrDefault(o => o.Name.Contains(part, StringComparison.OrdinalIgnoreCase));
        var boxes = Named("box");
        var classes = Named("class");
        var scores = Named("score");
        var count = Named("num");
        if (boxes is null && classes is null && scores is null && outputs.Count >= 3)
        {
            return (outputs[0], outputs[1], outputs[2], outputs.Count > 3 ? outputs[3] : null);
        }

        return (boxes, classes, scores, count);
    }
}
