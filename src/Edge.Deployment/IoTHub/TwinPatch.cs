using System.Text.Json;
using System.Text.Json.Nodes;

namespace Edge.Deployment.IoTHub;

/// <summary>
/// Builds a desired-properties merge patch from <c>key=value</c> arguments: a value that parses as JSON is JSON
/// (<c>fps=10</c> → number, <c>on=true</c>, <c>cams=[...]</c>), anything else is a string; <c>key=null</c> deletes the key;
/// dotted keys nest (<c>thresholds.minScore=0.7</c> → <c>{"thresholds":{"minScore":0.7}}</c>).
/// </summary>
public static class TwinPatch
{
    public static JsonObject Parse(IEnumerable<string> assignments)
    {
        var patch = new JsonObject();
        foreach (var a in assignments)
        {
            var eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"'{a}' is not key=value");
            }

            var key = a[..eq];
            var segments = key.Split('.');
            if (segments.Any(s => s.Length == 0 || s.Any(c => c is '$' or '#' or ' ')))
            {
                throw new FormatException($"'{key}' is not a valid twin key path (segments separated by '.', without '$', '#' or spaces)");
            }

            var target = patch;
            for (var i = 0; i < segments.Length - 1; i++)
            {
                if (target[segments[i]] is JsonObject child)
                {
                    target = child;
                }
                else if (target.ContainsKey(segments[i]))
                {
                    throw new FormatException($"'{key}' conflicts with an earlier assignment to '{string.Join('.', segments[..(i + 1)])}'");
                }
                else
                {
                    child = [];
                    target[segments[i]] = child;
                    target = child;
                }
            }

            var last = segments[^1];
            if (target[last] is JsonObject)
            {
                throw new FormatException($"'{key}' conflicts with an earlier assignment below it");
            }

            target[last] = ParseValue(a[(eq + 1)..]);
        }

        return patch;
    }

    /// <summary>JSON when the text parses as JSON, else the text as a string.</summary>
    public static JsonNode? ParseValue(string text)
    {
        if (text == "null")
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return JsonValue.Create(text);
        }
    }
}
