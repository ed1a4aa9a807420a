using System.Globalization;
using System.Text.Json;

namespace Edge.Routing.Tests.Conformance;

/// <summary>
/// Test cases transcribed from edgeHub's own routing tests (Azure/iotedge, edge-hub/core/test), one JSON array per line in
/// <c>Conformance/Data/{UpstreamTestClass}.jsonl</c>: the upstream test method first, then that test's inputs and expected
/// result. Lines starting with <c>//</c> are comments (the upstream file each row comes from).
/// </summary>
internal static class UpstreamCases
{
    /// <summary>The rows of <paramref name="file"/>, each as strings (a JSON number becomes <c>n:{value}</c>, null stays null).</summary>
    public static IEnumerable<string?[]> Rows(string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Conformance", "Data", file);
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal))
            {
                continue;
            }

            using var doc = JsonDocument.Parse(line);
            yield return [.. doc.RootElement.EnumerateArray().Select(AsString)];
        }
    }

    /// <summary>Rows of three (upstream method, input, expected).</summary>
    public static TheoryData<string, string, string> Three(string file)
    {
        var data = new TheoryData<string, string, string>();
        foreach (var r in Rows(file))
        {
            data.Add(r[0]!, r[1]!, r[2]!);
        }

        return data;
    }

    /// <summary>The condition result <paramref name="expected"/> names (True, False, Undefined).</summary>
    public static ConditionResult Result(string expected) => Enum.Parse<ConditionResult>(expected);

    private static string? AsString(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null => null,
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => "n:" + e.GetDouble().ToString("R", CultureInfo.InvariantCulture),
        JsonValueKind.True => "True",
        JsonValueKind.False => "False",
        JsonValueKind.Array => string.Join("\u001f", e.EnumerateArray().Select(AsString)),
        _ => throw new InvalidDataException($"unexpected JSON {e.ValueKind} in a conformance row"),
    };
}
