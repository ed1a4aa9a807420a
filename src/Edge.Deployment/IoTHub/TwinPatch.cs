using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Edge.Deployment.IoTHub;

/// <summary>
/// Builds a desired-properties merge patch from <c>key=value</c> arguments. A value stays a string unless it is plainly JSON:
/// <c>true</c>, <c>false</c>, <c>null</c> (deletes the key), an object or array (<c>{...}</c>, <c>[...]</c>), a quoted string
/// (<c>"42"</c>), or a number in plain form (<c>10</c>, <c>-3</c>, <c>0.75</c>: no exponent, no leading zero, no <c>+</c>, at most
/// 15 digits, so that every SDK reads it exactly), so an id such as <c>52224e611572</c> or <c>007</c> stays a string. With <c>json: true</c> every
/// value must be JSON (<c>--json</c>). Dotted keys nest (<c>thresholds.minScore=0.7</c> → <c>{"thresholds":{"minScore":0.7}}</c>).
/// </summary>
public static partial class TwinPatch
{
    public static JsonObject Parse(IEnumerable<string> assignments, bool json = false)
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

            target[last] = json ? ParseJson(key, a[(eq + 1)..]) : ParseValue(a[(eq + 1)..]);
        }

        return patch;
    }

    /// <summary>The value of <c>key=value</c> without <c>--json</c>: JSON only when plainly JSON (see the class), else the text.</summary>
    public static JsonNode? ParseValue(string text)
    {
        switch (text)
        {
            case "null":
                return null;
            case "true":
                return JsonValue.Create(true);
            case "false":
                return JsonValue.Create(false);
            default:
                break;
        }

        if (text.Length > 0 && text[0] is '{' or '[' or '"')
        {
            try
            {
                return JsonNode.Parse(text);
            }
            catch (JsonException ex)
            {
                throw new FormatException(
                    $"'{text}' starts like JSON but is not valid JSON ({ex.Message}); to store it as text, quote it as a JSON string: '\"...\"'", ex);
            }
        }

        // A plain number is valid JSON as it stands: parsed as such, it keeps its exact text. At most 15 digits: a double holds
        // them exactly, so SDKs that read numbers as doubles see the same value (a longer one is more likely an id).
        if (PlainInteger().IsMatch(text) || (PlainDecimal().IsMatch(text) && text.Count(char.IsAsciiDigit) <= 15))
        {
            return JsonNode.Parse(text);
        }

        return JsonValue.Create(text);
    }

    /// <summary>The value of <c>key=value</c> with <c>--json</c>: any JSON value; anything else is an error.</summary>
    public static JsonNode? ParseJson(string key, string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"--json: the value of '{key}' is not JSON ({ex.Message}); a string needs quotes: {key}='\"text\"'", ex);
        }
    }

    [GeneratedRegex(@"^-?(0|[1-9][0-9]{0,14})$", RegexOptions.CultureInvariant)]
    private static partial Regex PlainInteger();

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)\.[0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex PlainDecimal();
}
