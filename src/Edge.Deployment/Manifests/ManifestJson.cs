using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Edge.Deployment.Manifests;

/// <summary>How manifests are read and written: comments and trailing commas tolerated on input; two-space indented, LF, readable escaping on output.</summary>
public static class ManifestJson
{
    internal static readonly JsonDocumentOptions ReadOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    internal static readonly JsonSerializerOptions CompactOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = false };

    private static readonly JsonWriterOptions IndentedWriter = new()
    {
        Indented = true,
        IndentSize = 2,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Parses a manifest; throws <see cref="ManifestException"/> with the line and position of a syntax error.</summary>
    public static JsonObject Parse(string json, string what = "manifest")
    {
        try
        {
            return JsonNode.Parse(json, documentOptions: ReadOptions) as JsonObject
                ?? throw new ManifestException($"{what} is not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new ManifestException([ManifestProblem.Error(
                $"line {(ex.LineNumber ?? 0) + 1}, position {(ex.BytePositionInLine ?? 0) + 1}",
                $"{what} is not valid JSON: {ex.Message.Split(" Path:", StringSplitOptions.None)[0]}")]);
        }
    }

    /// <summary>The stable text form: indented by two spaces, LF line ends, a final newline.</summary>
    public static string Serialize(JsonNode node)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, IndentedWriter))
        {
            node.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>The compact UTF-8 size of a node (what a twin size limit measures).</summary>
    public static int CompactSize(JsonNode node) => Encoding.UTF8.GetByteCount(node.ToJsonString(CompactOptions));

    /// <summary>The <c>modulesContent</c> object of a manifest, of an az-style configuration (<c>content.modulesContent</c>), or the misspelt <c>moduleContent</c>.</summary>
    internal static (JsonObject? Content, string Path) FindModulesContent(JsonObject root)
    {
        if (root["modulesContent"] is JsonObject mc)
        {
            return (mc, "$.modulesContent");
        }

        if (root["content"] is JsonObject { } content && content["modulesContent"] is JsonObject cmc)
        {
            return (cmc, "$.content.modulesContent");
        }

        if (root["moduleContent"] is JsonObject legacy)
        {
            return (legacy, "$.moduleContent");
        }

        return (null, "$.modulesContent");
    }
}
