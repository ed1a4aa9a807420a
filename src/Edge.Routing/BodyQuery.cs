using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Edge.Routing;

/// <summary>
/// The JSON body of one message as validated UTF-8, computed on first use and shared by every route that queries it.
/// Queries then walk the bytes with <see cref="Utf8JsonReader"/>, skipping what they do not need: for telemetry-sized
/// bodies this is several times cheaper than building a DOM (see docs/benchmarks.md#routes).
/// </summary>
internal sealed class BodyCache
{
    private static readonly object Invalid = new();
    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];
    private object? _state; // null: not looked at yet; Invalid: not JSON; ReadOnlyMemory<byte> (boxed): the validated UTF-8 JSON

    /// <summary>The body as UTF-8 JSON, or false when it is not JSON (or, with <paramref name="requireJsonContentType"/>, not declared as JSON).</summary>
    public bool TryGetJson(RoutingMessage m, bool requireJsonContentType, out ReadOnlySpan<byte> json)
    {
        json = default;
        if (requireJsonContentType && !IsJsonMessage(m))
        {
            return false;
        }

        var s = Volatile.Read(ref _state);
        if (s is null)
        {
            s = Validate(m);
            Volatile.Write(ref _state, s);
        }

        if (s is ReadOnlyMemory<byte> utf8)
        {
            json = utf8.Span;
            return true;
        }

        return false;
    }

    // JsonMessageQueryValueProvider: content type application/json, encoding utf-8/utf-16/utf-32 (case-insensitive).
    private static bool IsJsonMessage(RoutingMessage m) =>
        m.SystemProperties.TryGetValue("contentType", out var ct)
        && string.Equals(ct, "application/json", StringComparison.OrdinalIgnoreCase)
        && m.SystemProperties.TryGetValue("contentEncoding", out var ce)
        && EncodingOf(ce) is not null;

    internal static Encoding? EncodingOf(string? contentEncoding) =>
        contentEncoding is null ? null
        : contentEncoding.Equals("utf-8", StringComparison.OrdinalIgnoreCase) ? Encoding.UTF8
        : contentEncoding.Equals("utf-16", StringComparison.OrdinalIgnoreCase) ? Encoding.Unicode
        : contentEncoding.Equals("utf-32", StringComparison.OrdinalIgnoreCase) ? Encoding.UTF32
        : null;

    private static object Validate(RoutingMessage m)
    {
        m.SystemProperties.TryGetValue("contentEncoding", out var ce);
        var encoding = EncodingOf(ce) ?? Encoding.UTF8;
        var utf8 = encoding == Encoding.UTF8
            ? m.Body
            : Encoding.UTF8.GetBytes(encoding.GetString(m.Body.Span).TrimStart('\uFEFF'));
        if (utf8.Span.StartsWith(Utf8Bom))
        {
            utf8 = utf8[Utf8Bom.Length..];
        }

        // The whole body must be one well-formed JSON value, as for edgeHub's parser: a query never answers from a
        // document that turns out to be broken further on.
        try
        {
            var reader = new Utf8JsonReader(utf8.Span);
            while (reader.Read())
            {
            }

            return utf8;
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

    private BodyQuery(object[] segments) => _segments = segments;

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
        if (!m.BodyState.TryGetJson(m, requireJsonContentType: true, out var json) || !TryNavigate(json, _segments, out var reader))
        {
            return Value.Undefined;
        }

        return reader.TokenType switch
        {
            JsonTokenType.String => Value.Of(reader.GetString()),
            JsonTokenType.Number => Value.Of(reader.GetDouble()),
            JsonTokenType.True => Value.True,
            JsonTokenType.False => Value.False,
            JsonTokenType.Null => Value.Null,
            _ => Value.Undefined,
        };
    }

    /// <summary>
    /// Walks validated JSON to the value at <paramref name="segments"/> (byte[] UTF-8 names or int indexes) and leaves the
    /// reader on its first token. A name defined twice resolves to the last one, as JsonElement and Json.NET do.
    /// </summary>
    internal static bool TryNavigate(ReadOnlySpan<byte> json, object[] segments, out Utf8JsonReader reader)
    {
        reader = new Utf8JsonReader(json);
        if (!reader.Read())
        {
            return false;
        }

        foreach (var segment in segments)
        {
            if (segment is int index)
            {
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return false;
                }

                var i = 0;
                while (true)
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.EndArray)
                    {
                        return false;
                    }

                    if (i++ == index)
                    {
                        break;
                    }

                    reader.Skip();
                }

                continue;
            }

            var name = (byte[])segment;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var found = false;
            var match = reader;
            while (true)
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }

                var isMatch = reader.ValueTextEquals(name);
                reader.Read();
                if (isMatch)
                {
                    found = true;
                    match = reader; // a copy of the reader's state, positioned on the value
                }

                reader.Skip();
            }

            if (!found)
            {
                return false;
            }

            reader = match;
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
                    list.Add(Encoding.UTF8.GetBytes(inner[1..^1]));
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

            list.Add(Encoding.UTF8.GetBytes(path[i..end]));
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
