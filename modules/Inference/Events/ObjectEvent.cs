using System.Text.Json.Serialization;

namespace Inference.Events;

/// <summary>
/// The <c>events</c> output body (JSON, camelCase): one tracked object's <c>new</c>, <c>update</c> or <c>end</c>. Boxes and path
/// points are normalised to the frame. Message ids are stable (<c>{eventId}:new</c>, <c>{eventId}:update:{n}</c>,
/// <c>{eventId}:end</c>) so a consumer can drop the rare duplicate a crash at the wrong moment produces.
/// </summary>
internal sealed record ObjectEvent(
    string Type,
    string EventId,
    string CameraId,
    long ObjectId,
    string Label,
    float Score,
    float TopScore,
    DateTimeOffset FirstSeen,
    DateTimeOffset LastSeen,
    IReadOnlyList<string> Zones,
    IReadOnlyList<string> EnteredZones,
    bool Stationary,
    EventBox Box,
    EventPath Path,
    EventSnapshot Snapshot,
    IReadOnlyList<string>? Changes = null,
    string? EndReason = null,
    bool? Replayed = null)
{
    public const string New = "new";
    public const string Update = "update";
    public const string End = "end";
}

/// <summary>A normalised box.</summary>
internal sealed record EventBox(float X, float Y, float W, float H);

/// <summary>Where the object went: thinned centre points, the distance travelled and the frames it was detected in.</summary>
internal sealed record EventPath(IReadOnlyList<float[]> Points, float Distance, int Hits);

/// <summary>The best-scored sighting: by reference (camera frame seq, capture time, frame file) and, when enabled and small enough, inline.</summary>
internal sealed record EventSnapshot(long Seq, string? CapturedAt, string? FrameRef, float Score, EventBox Box, string? JpegBase64 = null);

/// <summary>The <c>summary</c> output body: per camera, objects per label and zone entries per zone and label in the period.</summary>
internal sealed record EventSummary(DateTimeOffset From, DateTimeOffset To, Dictionary<string, CameraSummary> Cameras);

/// <summary>One camera's counts.</summary>
internal sealed record CameraSummary(Dictionary<string, int> Objects, Dictionary<string, Dictionary<string, int>> Zones, int Events);

/// <summary>What survives a restart: events whose <c>end</c> has not been sent, and the summary period's counts.</summary>
internal sealed record EventState(List<OpenEvent> Open, DateTimeOffset PeriodStart, Dictionary<string, CameraSummary> Counts);

/// <summary>The last event sent (or about to be: <see cref="NewSent"/> false) for an object whose <c>end</c> is still due.</summary>
internal sealed record OpenEvent(ObjectEvent Last, bool NewSent);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ObjectEvent))]
[JsonSerializable(typeof(EventSummary))]
[JsonSerializable(typeof(EventState))]
internal sealed partial class EventsJsonContext : JsonSerializerContext;
