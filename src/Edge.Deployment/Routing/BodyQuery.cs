using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Edge.Deployment.Routing;

/// <summary>The parsed JSON body of one message, computed on first use and shared by every route that queries it.</summary>
internal sealed class BodyCache
{
    private static readonly object Invalid = new();
    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];
    private object? _state; // null: not parsed yet; Invalid: not JSON; JsonElement (boxed): the root

    /// <summary>The JSON root, or null when the body is not JSON (or, with <paramref name="requireJsonContentType"/>, not declared as JSON).</summary>
    public JsonElement? Root(RoutingMessage m, bool requireJsonContentType)
    {
        if (requireJsonContentType && !IsJsonMessage(m))
        {
            return null;
        }

        var s = Volatile.Read(ref _state);
        if (s is null)
        {
            s = Parse(m);
            Volatile.Write(ref _state, s);
        }

        return s is JsonElement e ? e : null;
    }

    // JsonMessageQueryValueProvider: content type application/json, encoding utf-8/utf-16/utf-32 (case-insensitive).
    private static bool IsJsonMessage(RoutingMessage m) =>
        m.SystemProperties.TryGetValue("contentType", out var ct)
        && string.Equals(ct, "application/json", StringComparison.OrdinalIgnoreCase)
        && m.SystemProperties.TryGetValue("contentEncoding", out var ce)
        && EncodingOf(ce) is not null;

    internal static Encoding? EncodingOf(string? contentEncoding) => contentEncoding?.ToUpperInvariant() switch
    {
        "UTF-8" => Encoding.UTF8,
        "UTF-16" => Encoding.Unicode,
        "UTF-32" => Encoding.UTF32,
        _ => null,
    };

    private static object Parse(RoutingMessage m)
    {
        try
        {
            m.SystemProperties.TryGetValue("contentEncoding", out var ce);
            var encoding = EncodingOf(ce) ?? Encoding.UTF8;
            var utf8 = encoding == Encoding.UTF8
                ? m.Body.Span
                : Encoding.UTF8.GetBytes(encoding.GetString(m.Body.Span).TrimStart('\uFEFF'));
            if (utf8.StartsWith(Utf8Bom))
            {
                utf8 = utf8[Utf8Bom.Length..];
            }

            // ParseValue gives an element over its own exactly-sized buffers: nothing pooled to return, no Clone to pay for.
            var reader = new Utf8JsonReader(utf8);
            var root = JsonElement.ParseValue(ref reader);
            return reader.Read() ? Invalid : root; // trailing content after the value is not JSON
        }
        catch (JsonException)
        {
            return Invalid;
        }
    }
}

/// <summary>A compiled <c>$body.a.b[0].c</c> query: property names, <c>[index]</c> and <c>['name']</c> segments.</summary>
internal sealed class BodyQuery
{
    private readonly object[] _segments; // byte[] (UTF-8 property name) or int (array index)

    private BodyQuery(object[] segments) => _segments = [.. segments.Select(s => s is string name ? Encoding.UTF8.GetBytes(name) : s)];

    public static BodyQuery? Compile(string path, Token at, ConditionCompiler c)
    {
        if (TryParsePath(path, out var segments, out var error))
        {
            return new BodyQuery(segments);
        }

        c.Error($"error in $body query '{path}': {error}", at);
        return null;
    }

    /// <summary>The value at the path; objects and arrays are undefined (BodyQuery.Runtime), as is anything in a non-JSON message.</summary>
    public Value Evaluate(RoutingMessage m)
    {
        var root = m.BodyState.Root(m, requireJsonContentType: true);
        if (root is not { } e || !TryNavigate(e, _segments, out var found))
        {
            return Value.Undefined;
        }

        return found.ValueKind switch
        {
            JsonValueKind.String => Value.Of(found.GetString()),
            JsonValueKind.Number => Value.Of(found.GetDouble()),
            JsonValueKind.True => Value.True,
            JsonValueKind.False => Value.False,
            JsonValueKind.Null => Value.Null,
            _ => Value.Undefined,
        };
    }

    internal static bool TryNavigate(JsonElement e, object[] segments, out JsonElement found)
    {
        found = e;
        foreach (var s in segments)
        {
            if (s is byte[] utf8Name)
            {
                if (found.ValueKind != JsonValueKind.Object || !found.TryGetProperty(utf8Name, out found))
                {
                    return false;
                }
            }
            else if (s is string name)
            {
                if (found.ValueKind != JsonValueKind.Object || !found.TryGetProperty(name, out found))
                {
                    return false;
                }
            }
            else
            {
                var i = (int)s;
                if (found.ValueKind != JsonValueKind.Array || i >= found.GetArrayLength())
                {
                    return false;
                }

                found = found[i];
            }
        }

        return true;
    }

    internal static bool TryParsePath(string path, out object[] segments, out string error)
    {
        var list = new List<object>();
        segments = [];
        error = string.Empty;
        var i = 0;
        var expectName = true;
        while (i < path.Length)
        {
            var ch = path[i];
            if (ch == '[')
            {
                var close = path.IndexOf(']', i + 1);
                if (close < 0)
                {
                    error = "missing ']'";
                    return false;
                }

                var inner = path[(i + 1)..close];
                if (inner.Length >= 2 && inner[0] == '\'' && inner[^1] == '\'')
                {
                    list.Add(inner[1..^1]);
                }
                else if (int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    list.Add(index);
                }
                else
                {
                    error = $"'[{inner}]' is not an array index or a quoted name";
                    return false;
                }

                if (list.Count == 1 && expectName)
                {
                    error = "the query must start with a property name ($body[0] is not supported)";
                    return false;
                }

                i = close + 1;
                expectName = false;
                continue;
            }

            if (ch == '.')
            {
                if (expectName)
                {
                    error = "empty property name";
                    return false;
                }

                expectName = true;
                i++;
                continue;
            }

            if (!expectName)
            {
                error = $"unexpected '{ch}' at offset {i}";
                return false;
            }

            var end = i;
            while (end < path.Length && path[end] is not ('.' or '[' or ']'))
            {
                end++;
            }

            if (end < path.Length && path[end] == ']')
            {
                error = "unmatched ']'";
                return false;
            }

            list.Add(path[i..end]);
            expectName = false;
            i = end;
        }

        if (expectName)
        {
            error = list.Count == 0 ? "the query is empty" : "empty property name at the end";
            return false;
        }

        segments = [.. list];
        return true;
    }
}
