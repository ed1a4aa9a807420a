using System.ComponentModel.DataAnnotations;

namespace Inference.Processing;

/// <summary>Which detections are sent: twin desired <c>thresholds</c>, env <c>Thresholds__*</c>. Applied from the next frame.</summary>
public sealed class ThresholdSettings : IValidatableObject
{
    /// <summary>Minimum score (0–1) a detection needs. Default 0.5.</summary>
    [Range(0.0, 1.0)]
    public double MinScore { get; set; } = 0.5;

    /// <summary>Per-label minimum scores that override <see cref="MinScore"/>, e.g. <c>{"person": 0.6}</c>. Default none.</summary>
    public Dictionary<string, double> PerClass { get; set; } = [];

    /// <summary>Only these labels are sent; empty = all. Default empty.</summary>
    public List<string> AllowList { get; set; } = [];

    /// <summary>At most this many detections per frame (highest scores first). Default 50.</summary>
    [Range(1, 1000)]
    public int MaxDetections { get; set; } = 50;

    /// <summary>IoU above which overlapping boxes are merged/suppressed; null = the profile's default (BlazeFace 0.3, others 0.45).</summary>
    [Range(0.01, 1.0)]
    public double? NmsIou { get; set; }

    /// <summary>Minimum box area as a fraction of the frame (0–1). Default 0.</summary>
    [Range(0.0, 1.0)]
    public double MinBoxArea { get; set; }

    /// <summary>Maximum box area as a fraction of the frame (0–1). Default 1.</summary>
    [Range(0.0, 1.0)]
    public double MaxBoxArea { get; set; } = 1.0;

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (label, score) in PerClass)
        {
            if (score is < 0 or > 1 || double.IsNaN(score))
            {
                yield return new ValidationResult($"perClass.{label} must be between 0 and 1", [nameof(PerClass)]);
            }
        }

        if (MinBoxArea > MaxBoxArea)
        {
            yield return new ValidationResult("minBoxArea must not exceed maxBoxArea", [nameof(MinBoxArea)]);
        }

        if (AllowList.Any(string.IsNullOrWhiteSpace))
        {
            yield return new ValidationResult("allowList entries must not be empty", [nameof(AllowList)]);
        }
    }
}
