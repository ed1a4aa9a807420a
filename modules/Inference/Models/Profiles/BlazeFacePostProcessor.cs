using Inference.Processing;

namespace Inference.Models.Profiles;

/// <summary>
/// MediaPipe BlazeFace (the Barracuda ONNX exports, front 128 and back 256): two score outputs <c>[1,512,1]</c>/<c>[1,384,1]</c>
/// and two regressor outputs <c>[1,512,16]</c>/<c>[1,384,16]</c>. Anchors sit at cell centres of a 16x16 grid (2 per cell) and an
/// 8x8 grid (6 per cell); score = sigmoid(logit); centre = anchor + (dx, dy) / input size; size = (w, h) / input size;
/// six keypoints likewise. Overlapping boxes are merged by weighted NMS.
/// </summary>
internal sealed class BlazeFacePostProcessor : IPostProcessor
{
    private const int Values = 16;
    private static readonly (int Count, int Grid, int PerCell)[] Layers = [(512, 16, 2), (384, 8, 6)];

    public float DefaultNmsIou => 0.3f;

    public IReadOnlyList<string> DefaultLabels { get; } = ["face"];

    public void Validate(IReadOnlyList<ModelOutput> outputs, int inputWidth, int inputHeight)
    {
        foreach (var (count, _, _) in Layers)
        {
            if (Find(outputs, count, 1) is null || Find(outputs, count, Values) is null)
            {
                throw new ModelValidationException(
                    $"the blazeface profile needs score outputs [1,512,1] and [1,384,1] and box outputs [1,512,16] and [1,384,16]; the model has {string.Join(", ", outputs)}");
            }
        }
    }

    public void Decode(IReadOnlyList<ModelOutput> outputs, in InputTransform transform, in DecodeContext context, List<Detection> results)
    {
        // Score threshold in logit space: sigmoid(x) >= s  <=>  x >= ln(s / (1 - s)).
        var minScore = Math.Clamp(context.MinScore, 1e-6f, 1 - 1e-6f);
        var minLogit = MathF.Log(minScore / (1 - minScore));
        float inW = transform.InputWidth, inH = transform.InputHeight;
        var candidates = new List<Detection>();
        foreach (var (count, grid, perCell) in Layers)
        {
            var scores = Find(outputs, count, 1)!.Span;
            var boxes = Find(outputs, count, Values)!.Span;
            for (var i = 0; i < count; i++)
            {
                var logit = scores[i];
                if (logit < minLogit)
                {
                    continue;
                }

                var cell = i / perCell;
                var ax = ((cell % grid) + 0.5f) / grid * inW;
                var ay = ((cell / grid) + 0.5f) / grid * inH;
                var r = boxes.Slice(i * Values, Values);
                var cx = ax + r[0];
                var cy = ay + r[1];
                float w = r[2], h = r[3];
                var keypoints = new NormalizedPoint[6];
                for (var k = 0; k < 6; k++)
                {
                    keypoints[k] = new NormalizedPoint(transform.X(ax + r[4 + (2 * k)]), transform.Y(ay + r[5 + (2 * k)]));
                }

                var box = new NormalizedBox(transform.X(cx - (w / 2)), transform.Y(cy - (h / 2)), transform.W(w), transform.H(h));
                candidates.Add(new Detection(0, Label(context.Labels, 0), 1f / (1f + MathF.Exp(-logit)), box, keypoints));
            }
        }

        Nms.Weighted(candidates, context.NmsIou);
        results.AddRange(candidates);
    }

    internal static string Label(IReadOnlyList<string> labels, int id) =>
        id >= 0 && id < labels.Count ? labels[id] : id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static ModelOutput? Find(IReadOnlyList<ModelOutput> outputs, int count, int last)
    {
        foreach (var o in outputs)
        {
            if (o.Shape.Length == 3 && o.Shape[1] == count && o.Shape[2] == last)
            {
                return o;
            }
        }

        return null;
    }
}
