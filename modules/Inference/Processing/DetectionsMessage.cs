using System.Text.Json;
using System.Text.Json.Serialization;
using Inference.Models;

namespace Inference.Processing;

/// <summary>The <c>detections</c> output body (JSON, camelCase). Boxes are normalised to the frame (0–1, top-left origin).</summary>
internal sealed record DetectionsMessage(
    string CameraId,
    long Seq,
    string? CapturedAt,
    DateTimeOffset InferredAt,
    string Model,
    string ModelVersion,
    double LatencyMs,
    double QueueMs,
    int FrameWidth,
    int FrameHeight,
    IReadOnlyList<DetectionBody> Detections,
    bool? Truncated = null);

/// <summary>One detection in a message.</summary>
internal sealed record DetectionBody(string Label, float Score, BoxBody Box, IReadOnlyList<PointBody>? Keypoints);

/// <summary>A normalised box.</summary>
internal sealed record BoxBody(float X, float Y, float W, float H);

/// <summary>A normalised keypoint.</summary>
internal sealed record PointBody(float X, float Y);

/// <summary>Source-generated JSON metadata for everything the module serialises.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(DetectionsMessage))]
[JsonSerializable(typeof(ModelSettings))]
internal sealed partial class InferenceJsonContext : JsonSerializerContext;

/// <summary>Source-generated JSON metadata for the twin settings (desired/reported form: camelCase, unknown keys rejected).</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    Converters = [
        typeof(Edge.Runtime.CamelCaseEnumConverter<ModelProfile>),
        typeof(Edge.Runtime.CamelCaseEnumConverter<TensorLayout>),
        typeof(Edge.Runtime.CamelCaseEnumConverter<ColorOrder>),
        typeof(Edge.Runtime.CamelCaseEnumConverter<ResizeMode>),
        typeof(Edge.Runtime.CamelCaseEnumConverter<YoloLayout>),
        typeof(Edge.Runtime.CamelCaseEnumConverter<BoxFormat>)])]
[JsonSerializable(typeof(ThresholdSettings))]
[JsonSerializable(typeof(ModelSettings))]
internal sealed partial class InferenceSettingsJson : JsonSerializerContext;
