using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Edge.Deployment.Manifests;

/// <summary>
/// Docker createOptions in a manifest: a stringified <c>ContainerCreate</c> JSON, split into <c>createOptions</c>,
/// <c>createOptions01</c>, <c>createOptions02</c>, ... chunks of at most 512 characters (the IoT Edge tooling's twin value
/// size); edgeAgent joins them in order.
/// </summary>
/// <remarks>
/// The one implementation of the chunk rules: the manifest builder and validator use it, and so does the simulator's module
/// supervisor when it reads <c>$edgeAgent</c> desired properties (Edge.Hub references this project for the route language
/// anyway). It lives here because the chunking is a property of the deployment manifest's format, not of either consumer.
/// </remarks>
public static class CreateOptions
{
    /// <summary>The most characters in one chunk (the IoT Edge tooling's <c>TWIN_VALUE_MAX_SIZE</c>).</summary>
    public const int ChunkSize = 512;

    /// <summary>IoT Hub's limit on one twin string value (4 KB).</summary>
    public const int MaxTwinStringLength = 4096;

    /// <summary>The most chunks the IoT Edge dev tooling writes (<c>TWIN_VALUE_MAX_CHUNKS</c>, 4 KB in all).</summary>
    public const int ToolingMaxChunks = 8;

    /// <summary>The most chunks edgeAgent reads (<c>createOptions</c> plus <c>01</c>..<c>99</c>).</summary>
    public const int AgentMaxChunks = 100;

    /// <summary>The key of chunk <paramref name="index"/>: <c>createOptions</c>, then <c>createOptions01</c>...</summary>
    public static string KeyOf(int index) => index == 0 ? "createOptions" : "createOptions" + index.ToString("00", CultureInfo.InvariantCulture);

    /// <summary>Splits a createOptions string into chunks of <see cref="ChunkSize"/> characters (never inside a surrogate pair).</summary>
    public static IReadOnlyList<string> Split(string value)
    {
        var chunks = new List<string>();
        var i = 0;
        do
        {
            var len = Math.Min(ChunkSize, value.Length - i);
            if (len == ChunkSize && i + len < value.Length && char.IsHighSurrogate(value[i + len - 1]))
            {
                len--;
            }

            chunks.Add(value.Substring(i, len));
            i += len;
        }
        while (i < value.Length);

        return chunks;
    }

    /// <summary>
    /// Turns <c>settings.createOptions</c> into the manifest form: an object is serialised compactly, then any string longer
    /// than <see cref="ChunkSize"/> is split into numbered keys placed right after <c>createOptions</c>.
    /// </summary>
    public static void Normalize(JsonObject settings, string path, List<ManifestProblem> problems)
    {
        if (!settings.TryGetPropertyValue("createOptions", out var node) || node is null)
        {
            return;
        }

        string text;
        if (node.GetValueKind() == JsonValueKind.String)
        {
            text = node.GetValue<string>();
        }
        else
        {
            text = node.ToJsonString(ManifestJson.CompactOptions);
        }

        if (node.GetValueKind() == JsonValueKind.String
            && (text.Length <= ChunkSize || settings.Any(p => p.Key.Length == 15 && p.Key.StartsWith("createOptions", StringComparison.Ordinal))))
        {
            return; // short enough, or already chunked by another tool: the validator checks the chunks
        }

        var chunks = Split(text);
        if (chunks.Count > AgentMaxChunks)
        {
            problems.Add(ManifestProblem.Error(JsonPath.Child(path, "createOptions"),
                $"createOptions is {text.Length} characters: more than the {AgentMaxChunks} chunks of {ChunkSize} edgeAgent reads"));
            return;
        }

        if (chunks.Count > ToolingMaxChunks)
        {
            problems.Add(ManifestProblem.Warning(JsonPath.Child(path, "createOptions"),
                $"createOptions is {text.Length} characters in {chunks.Count} chunks; edgeAgent reads them, but other IoT Edge tools stop at {ToolingMaxChunks} chunks (4 KB)"));
        }

        var at = settings.IndexOf("createOptions");
        settings["createOptions"] = chunks[0];
        for (var i = 1; i < chunks.Count; i++)
        {
            var key = KeyOf(i);
            settings.Remove(key);
            settings.Insert(at + i, key, JsonValue.Create(chunks[i]));
        }
    }

    /// <summary>
    /// Joins <c>createOptions</c> with its numbered chunks as edgeAgent does, reporting gaps, non-string chunks and
    /// over-long chunks; returns null when there is no createOptions at all.
    /// </summary>
    public static string? Join(JsonObject settings, string path, List<ManifestProblem> problems)
    {
        var keys = settings
            .Select(p => p.Key)
            .Where(k => k.StartsWith("createOptions", StringComparison.Ordinal))
            .ToList();
        if (keys.Count == 0)
        {
            return null;
        }

        var indexes = new SortedDictionary<int, string>();
        foreach (var key in keys)
        {
            var suffix = key[13..];
            if (suffix.Length == 0)
            {
                indexes[0] = key;
            }
            else if (suffix.Length == 2 && int.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
            {
                indexes[n] = key;
            }
            else
            {
                problems.Add(ManifestProblem.Error(JsonPath.Child(path, key), "unknown createOptions chunk key: chunks are createOptions01 to createOptions99"));
            }
        }

        if (!indexes.ContainsKey(0))
        {
            problems.Add(ManifestProblem.Error(JsonPath.Child(path, "createOptions"), "createOptions chunks are present but createOptions itself is missing"));
        }

        var sb = new System.Text.StringBuilder();
        var expected = 0;
        foreach (var (index, key) in indexes)
        {
            var keyPath = JsonPath.Child(path, key);
            if (index != expected)
            {
                problems.Add(ManifestProblem.Error(keyPath, $"{key} follows a missing {KeyOf(expected)}: chunks are read in sequence and {KeyOf(expected)} is missing, so edgeAgent would join the wrong text"));
            }

            expected = index + 1;
            var node = settings[key];
            if (node?.GetValueKind() != JsonValueKind.String)
            {
                problems.Add(ManifestProblem.Error(keyPath, $"must be a string (createOptions chunks are stringified JSON), found {Describe(node)}"));
                continue;
            }

            var chunk = node.GetValue<string>();
            if (chunk.Length > MaxTwinStringLength)
            {
                problems.Add(ManifestProblem.Error(keyPath,
                    $"is {chunk.Length} characters; IoT Hub twin string values are at most {MaxTwinStringLength}: split it into {ChunkSize}-character chunks createOptions01, createOptions02, ..."));
            }
            else if (chunk.Length > ChunkSize)
            {
                problems.Add(ManifestProblem.Warning(keyPath,
                    $"is {chunk.Length} characters; the IoT Edge tooling writes chunks of at most {ChunkSize} (IoT Hub accepts up to {MaxTwinStringLength})"));
            }

            sb.Append(chunk);
        }

        return sb.ToString();
    }

    internal static string Describe(JsonNode? node) => node is null ? "null" : node.GetValueKind().ToString().ToLowerInvariant();
}
