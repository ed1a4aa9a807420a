using System.Buffers;
using Inference.Processing;

namespace Inference.Models.Profiles;

/// <summary>
/// Image classification: the first output holds C values (<c>[1,C]</c> or <c>[1,C,1,1]</c>). Logits are turned into
/// probabilities with softmax unless they already are (all in 0–1 and summing to 1); the top-k classes become
/// whole-frame detections.
/// </summary>
internal sealed class ClassificationPostProcessor(int topK) : IPostProcessor
{
    private static readonly NormalizedBox WholeFrame = new(0, 0, 1, 1);

    public float DefaultNmsIou => 1f;

    public IReadOnlyList<string> DefaultLabels { get; } = [];

    public void Validate(IReadOnlyList<ModelOutput> outputs, int inputWidth, int inputHeight)
    {
        if (outputs.Count == 0 || outputs[0].Shape.Length < 2 || outputs[0].Shape.Skip(2).Any(d => d != 1))
        {
            throw new ModelValidationException($"the classification profile needs a first output shaped [1,C] or [1,C,1,1]; the model has {string.Join(", ", outputs)}");
        }
    }

    public void Decode(IReadOnlyList<ModelOutput> outputs, in InputTransform transform, in DecodeContext context, List<Detection> results)
    {
        // Stateless (a pooled buffer per call): workers decode concurrently.
        var values = outputs[0].Span;
        var rented = ArrayPool<float>.Shared.Rent(values.Length);
        try
        {
            Decode(values, rented.AsSpan(0, values.Length), context, results);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }

    private void Decode(ReadOnlySpan<float> values, Span<float> p, in DecodeContext context, List<Detection> results)
    {
        var sum = 0f;
        var isDistribution = true;
        foreach (var v in values)
        {
            isDistribution &= v is >= 0 and <= 1;
            sum += v;
        }

        if (isDistribution && MathF.Abs(sum - 1) < 1e-3f)
        {
            values.CopyTo(p);
        }
        else
        {
            var max = float.MinValue;
            foreach (var v in values)
            {
                max = MathF.Max(max, v);
            }

            var total = 0f;
            for (var i = 0; i < values.Length; i++)
            {
                p[i] = MathF.Exp(values[i] - max);
                total += p[i];
            }

            for (var i = 0; i < p.Length; i++)
            {
                p[i] /= total;
            }
        }

        // Top-k by repeated selection (k is small).
        var taken = new List<int>(topK);
        for (var k = 0; k < Math.Min(topK, p.Length); k++)
        {
            var best = -1;
            for (var i = 0; i < p.Length; i++)
            {
                if (!taken.Contains(i) && (best < 0 || p[i] > p[best]))
                {
                    best = i;
                }
            }

            taken.Add(best);
            if (p[best] >= context.MinScore)
            {
                results.Add(new Detection(best, BlazeFacePostProcessor.Label(context.Labels, best), p[best], WholeFrame));
            }
        }
    }
}
