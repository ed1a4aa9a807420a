using Inference.Processing;

namespace Inference.Models;

/// <summary>One model output, as float values in a reused buffer (non-float outputs are converted).</summary>
internal sealed class ModelOutput(string name, long[] shape)
{
    public string Name { get; } = name;

    /// <summary>The shape of the last run (fixed outputs never change).</summary>
    public long[] Shape { get; set; } = shape;

    /// <summary>The reused buffer; only the first <see cref="Length"/> values are valid.</summary>
    public float[] Data { get; set; } = [];

    public int Length { get; set; }

    public ReadOnlySpan<float> Span => Data.AsSpan(0, Length);

    /// <summary>The size of dimension <paramref name="i"/> counted from the end when negative.</summary>
    public long Dim(int i) => i < 0 ? Shape[Shape.Length + i] : Shape[i];

    public override string ToString() => $"{Name}[{string.Join(",", Shape)}]";
}

/// <summary>What a post-processor needs besides the outputs.</summary>
/// <param name="MinScore">Candidates below this score are not decoded (the lowest threshold in force).</param>
/// <param name="NmsIou">The IoU for NMS (the threshold setting or the profile default).</param>
/// <param name="Labels">Class labels by id.</param>
internal readonly record struct DecodeContext(float MinScore, float NmsIou, IReadOnlyList<string> Labels);

/// <summary>A model family's output validation and decoding.</summary>
internal interface IPostProcessor
{
    /// <summary>Default NMS IoU for this family.</summary>
    float DefaultNmsIou { get; }

    /// <summary>Labels used when neither a labels file nor model metadata gives any.</summary>
    IReadOnlyList<string> DefaultLabels { get; }

    /// <summary>Throws <see cref="ModelValidationException"/> when the outputs (shapes from metadata, -1 = dynamic) do not fit.</summary>
    void Validate(IReadOnlyList<ModelOutput> outputs, int inputWidth, int inputHeight);

    /// <summary>Decodes one run's outputs into <paramref name="results"/> (boxes normalised to the frame).</summary>
    void Decode(IReadOnlyList<ModelOutput> outputs, in InputTransform transform, in DecodeContext context, List<Detection> results);
}

/// <summary>A model that cannot be served with the configured profile/settings; the message says why.</summary>
internal sealed class ModelValidationException(string message) : Exception(message);
