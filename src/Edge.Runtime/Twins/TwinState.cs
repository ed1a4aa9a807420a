using System.Text.Json;
using System.Text.Json.Nodes;

namespace Edge.Runtime.Twins;

/// <summary>The last-known-good desired document on disk (<c>{StateDirectory}/desired.json</c>), written atomically.</summary>
internal sealed class DesiredStore(string stateDirectory)
{
    public const string FileName = "desired.json";

    public string Path { get; } = System.IO.Path.Combine(stateDirectory, FileName);

    public async Task<(JsonObject Desired, long Version)?> LoadAsync(CancellationToken ct)
    {
        if (!File.Exists(Path))
        {
            return null;
        }

        var stream = File.OpenRead(Path);
        await using var _ = stream.ConfigureAwait(false);
        var node = await JsonNode.ParseAsync(stream, cancellationToken: ct).ConfigureAwait(false);
        if (node is JsonObject o && o["desired"] is JsonObject d && o["version"] is JsonValue v && v.TryGetValue<long>(out var version))
        {
            return ((JsonObject)d.DeepClone(), version);
        }

        throw new JsonException("expected {\"version\": n, \"desired\": {...}}");
    }

    public async Task SaveAsync(JsonObject desired, long version, CancellationToken ct)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var tmp = Path + ".tmp";
        var doc = new JsonObject { ["version"] = version, ["desired"] = desired.DeepClone() };
        var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough);
        await using (stream.ConfigureAwait(false))
        {
            await JsonSerializer.SerializeAsync(stream, doc, TwinJson.Default.JsonObject, ct).ConfigureAwait(false);
            await stream.FlushAsync(ct).ConfigureAwait(false);
            stream.Flush(flushToDisk: true);
        }

        File.Move(tmp, Path, overwrite: true);
    }
}

/// <summary>JSON helpers for twin documents.</summary>
internal static class TwinDocuments
{
    /// <summary>Removes <c>$version</c>, <c>$metadata</c> and any other <c>$</c> key (twin keys cannot start with <c>$</c>).</summary>
    public static JsonObject StripMetadata(JsonObject o)
    {
        foreach (var key in o.Select(p => p.Key).Where(k => k.StartsWith('$')).ToList())
        {
            o.Remove(key);
        }

        foreach (var (_, v) in o)
        {
            if (v is JsonObject child)
            {
                StripMetadata(child);
            }
        }

        return o;
    }

    /// <summary>Merges a reported patch onto pending ones, keeping nulls (they delete properties in the cloud).</summary>
    public static void MergeKeepingNulls(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch)
        {
            if (value is JsonObject po && target[key] is JsonObject to)
            {
                MergeKeepingNulls(to, po);
            }
            else
            {
                target[key] = value?.DeepClone();
            }
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(JsonObject))]
internal sealed partial class TwinJson : System.Text.Json.Serialization.JsonSerializerContext;
