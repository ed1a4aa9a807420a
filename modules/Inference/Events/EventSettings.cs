using System.ComponentModel.DataAnnotations;

namespace Inference.Events;

/// <summary>
/// Tracking, events and zones: twin desired <c>events</c>, env <c>Events__*</c> (appsettings section <c>Events</c>). Applied
/// live; an invalid patch is rejected as a whole (the last good settings stay) and reported. See docs/events.md.
/// </summary>
public sealed class EventSettings : IValidatableObject
{
    /// <summary>Track objects and send <c>events</c>. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Minimum detection score to start a track (Frigate's <c>min_score</c>). Default 0.5.</summary>
    [Range(0.0, 1.0)]
    public double MinScore { get; set; } = 0.5;

    /// <summary>Median score of a track's recent detections needed to confirm it (Frigate's <c>threshold</c>). Default 0.7.</summary>
    [Range(0.0, 1.0)]
    public double ConfirmScore { get; set; } = 0.7;

    /// <summary>Detections (hits) a track needs before it can be confirmed. Default 3.</summary>
    [Range(1, 100)]
    public int MinHits { get; set; } = 3;

    /// <summary>A confirmed track with no detection for this long ends (seconds). Default 2.</summary>
    [Range(0.05, 3600)]
    public double MaxAgeSeconds { get; set; } = 2;

    /// <summary>Minimum IoU between a track's predicted box and a detection to associate them. Default 0.2.</summary>
    [Range(0.01, 1.0)]
    public double MatchIou { get; set; } = 0.2;

    /// <summary>How detections are assigned to tracks: <c>hungarian</c> (minimum total cost) or <c>greedy</c> (best IoU pair first). Default hungarian.</summary>
    public TrackMatching Matching { get; set; } = TrackMatching.Hungarian;

    /// <summary>
    /// When IoU is below <see cref="MatchIou"/>, a detection whose centre is within this many box sizes of the prediction still
    /// matches (after every IoU match: fast or small objects). 0 = IoU only. Default 1.
    /// </summary>
    [Range(0.0, 10.0)]
    public double CentroidGate { get; set; } = 1;

    /// <summary>An object whose centre stays within this fraction of its size for <see cref="StationarySeconds"/> is stationary. Default 0.25.</summary>
    [Range(0.0, 10.0)]
    public double StationaryMove { get; set; } = 0.25;

    /// <summary>Seconds without moving before an object counts as stationary. Default 10.</summary>
    [Range(0.1, 86400)]
    public double StationarySeconds { get; set; } = 10;

    /// <summary>A rise of the top score by at least this much sends an <c>update</c> (with the better snapshot). Default 0.05.</summary>
    [Range(0.0, 1.0)]
    public double ScoreImprovement { get; set; } = 0.05;

    /// <summary>Largest inline JPEG snapshot of the object (bytes); 0 = snapshots by reference only (camera, seq, capturedAt, frameRef, box). Default 0.</summary>
    [Range(0, 65536)]
    public int SnapshotMaxBytes { get; set; }

    /// <summary>Minutes between <c>summary</c> messages (counts per label and zone per camera); 0 = off. Default 60.</summary>
    [Range(0.0, 10080)]
    public double SummaryMinutes { get; set; } = 60;

    /// <summary>
    /// The IoT Hub tier this device's messages count against (F1, B1, B2, B3, S1, S2, S3): the module reports its projected daily
    /// upstream messages against it, and <c>edge up</c>'s run summary does the same. Default S1.
    /// </summary>
    [RegularExpression("^(?i)(F1|B1|B2|B3|S1|S2|S3)$")]
    public string IotHubTier { get; set; } = "S1";

    /// <summary>IoT Hub units of <see cref="IotHubTier"/> (the daily quota is per unit). Default 1.</summary>
    [Range(1, 200)]
    public int IotHubUnits { get; set; } = 1;

    /// <summary>Zones per camera id: <c>{"cam1": {"door": {"points": [[0.1,0.2], …]}}}</c>. Default none.</summary>
    public Dictionary<string, Dictionary<string, ZoneSettings>> Zones { get; set; } = [];

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (ConfirmScore < MinScore)
        {
            yield return new ValidationResult("confirmScore must not be below minScore", [nameof(ConfirmScore)]);
        }

        foreach (var (camera, zones) in Zones)
        {
            if (string.IsNullOrWhiteSpace(camera))
            {
                yield return new ValidationResult("zones: a camera id must not be empty", [nameof(Zones)]);
            }

            if (zones?.Count > 64)
            {
                yield return new ValidationResult($"zones.{camera}: at most 64 zones per camera", [nameof(Zones)]);
            }

            foreach (var (name, zone) in zones ?? [])
            {
                if (zone is null)
                {
                    continue;
                }

                foreach (var problem in zone.Problems())
                {
                    yield return new ValidationResult($"{camera}.{name}: {problem}", [nameof(Zones)]);
                }
            }
        }
    }
}

/// <summary>A zone: a polygon in normalised frame coordinates (0–1, top-left origin), tested against the object's box centre.</summary>
public sealed class ZoneSettings
{
    /// <summary>The polygon's corners, <c>[[x, y], …]</c>, at least 3, each coordinate 0–1.</summary>
    public List<float[]> Points { get; set; } = [];

    /// <summary>Consecutive frames inside (or outside) before entering (or leaving) counts. Default 3.</summary>
    [Range(1, 1000)]
    public int Inertia { get; set; } = 3;

    /// <summary>Seconds an object must stay inside before it counts as in the zone (loitering); 0 = at once. Default 0.</summary>
    [Range(0.0, 86400)]
    public double LoiterSeconds { get; set; }

    /// <summary>Only these labels count in the zone; empty = all. Default empty.</summary>
    public List<string> Labels { get; set; } = [];

    internal IEnumerable<string> Problems()
    {
        if (Inertia is < 1 or > 1000)
        {
            yield return "inertia must be between 1 and 1000";
        }

        if (LoiterSeconds is < 0 or > 86400 || double.IsNaN(LoiterSeconds))
        {
            yield return "loiterSeconds must be between 0 and 86400";
        }

        if (Points is null || Points.Count < 3)
        {
            yield return "points: a polygon needs at least 3 [x, y] points";
            yield break;
        }

        for (var i = 0; i < Points.Count; i++)
        {
            var p = Points[i];
            if (p is null || p.Length != 2 || !float.IsFinite(p[0]) || !float.IsFinite(p[1]) || p[0] is < 0 or > 1 || p[1] is < 0 or > 1)
            {
                yield return $"points[{i}]: expected [x, y] with 0 <= x, y <= 1 (normalised to the frame)";
                yield break;
            }
        }

        if (MathF.Abs(Polygon.SignedArea(Points)) < 1e-6f)
        {
            yield return "points: the polygon has no area (collinear or repeated points)";
        }

        if (Labels?.Any(string.IsNullOrWhiteSpace) == true)
        {
            yield return "labels: entries must not be empty";
        }
    }
}

/// <summary>Detection-to-track assignment.</summary>
public enum TrackMatching
{
    /// <summary>Cheapest pair first, then the cheapest of what is left.</summary>
    Greedy,

    /// <summary>Minimum total cost (Hungarian method).</summary>
    Hungarian,
}
