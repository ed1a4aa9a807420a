using System.Text.Json;
using System.Text.Json.Serialization;

namespace Inference.Events;

/// <summary>Source-generated JSON metadata for the <c>events</c> twin section (camelCase, unknown keys rejected).</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    Converters = [typeof(Edge.Runtime.CamelCaseEnumConverter<TrackMatching>)])]
[JsonSerializable(typeof(EventSettings))]
internal sealed partial class EventSettingsJson : JsonSerializerContext;
