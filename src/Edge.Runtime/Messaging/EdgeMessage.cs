using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Edge.Runtime;

/// <summary>An immutable message sent to or received from edgeHub.</summary>
public sealed record EdgeMessage
{
    private static readonly IReadOnlyDictionary<string, string> NoProperties = new Dictionary<string, string>();

    /// <summary>The payload.</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>System property <c>$.ct</c>. Use <c>application/json</c> (no parameters) so routes can query <c>$body</c>.</summary>
    public string? ContentType { get; init; }

    /// <summary>System property <c>$.ce</c>, e.g. <c>utf-8</c>.</summary>
    public string? ContentEncoding { get; init; }

    /// <summary>System property <c>$.mid</c>. The outbox assigns a GUID when it is null.</summary>
    public string? MessageId { get; init; }

    /// <summary>System property <c>$.cid</c>.</summary>
    public string? CorrelationId { get; init; }

    /// <summary>System property <c>$.ctime</c>.</summary>
    public DateTimeOffset? CreationTime { get; init; }

    /// <summary>Application properties.</summary>
    public IReadOnlyDictionary<string, string> Properties { get; init; } = NoProperties;

    /// <summary>Every system property received with an inbound message, by wire name (<c>$.cdid</c>, <c>$.cmid</c>, ...). Empty on outbound messages.</summary>
    public IReadOnlyDictionary<string, string> SystemProperties { get; init; } = NoProperties;

    /// <summary>A JSON message (<c>application/json</c>, <c>utf-8</c>) serialised with source-generated metadata.</summary>
    public static EdgeMessage FromJson<T>(T value, JsonTypeInfo<T> typeInfo) => new()
    {
        Body = JsonSerializer.SerializeToUtf8Bytes(value, typeInfo),
        ContentType = "application/json",
        ContentEncoding = "utf-8",
    };

    /// <summary>The body as UTF-8 text.</summary>
    public string BodyAsString() => Encoding.UTF8.GetString(Body.Span);
}
