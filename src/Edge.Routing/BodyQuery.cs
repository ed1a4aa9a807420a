using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

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
        RoutingMessage.TryGet(m.SystemProperties, m.NullSystemProperties, "contentType", out var ct)
        && string.Equals(ct, "application/json", StringComparison.OrdinalIgnoreCase)
        && RoutingMessage.TryGet(m.SystemProperties, m.NullSystemProperties, "contentEncoding", out var ce)
        && EncodingOf(ce) is not null;

    internal static Encoding? EncodingOf(string? contentEncoding) =>
        contentEncoding is null ? null
        : contentEncoding.Equals("utf-8", StringComparison.OrdinalIgnoreCase) ? Encoding.UTF8
        : contentEncoding.Equals("utf-16", StringComparison.OrdinalIgnoreCase) ? Encoding.Unicode
        : contentEncoding.Equals("utf-32", StringComparison.OrdinalIgnoreCase) ? Encoding.UTF32
        : null;

    private static object Validate(RoutingMessage m)
    {
        RoutingMessage.TryGet(m.SystemProperties, m.NullSystemProperties, "contentEncoding", out var ce);
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
internal sealed partial class BodyQuery
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

    /// <summary>
    /// The value at the path; objects and arrays are undefined (BodyQuery.Runtime), as is anything in a message that is not
    /// declared as JSON or is not valid JSON; a path that selects nothing is null.
    /// </summary>
    public Value Evaluate(RoutingMessage m)
    {
        // JObject.Parse: the body must be a JSON object.
        if (!m.BodyState.TryGetJson(m, requireJsonContentType: true, out var json) || !RootIsObject(json))
        {
            return Value.Undefined;
        }

        // JsonMessageQueryValueProvider: a path that selects nothing is null (its shared QueryValue.Null), not undefined.
        if (!TryNavigate(json, _segments, out var reader))
        {
            return Value.MissingNull;
        }

        return reader.TokenType switch
        {
            JsonTokenType.String => StringValue(reader.GetString()),
            JsonTokenType.Number => Value.Of(reader.GetDouble()),
            JsonTokenType.True => Value.True,
            JsonTokenType.False => Value.False,
            JsonTokenType.Null => Value.Null,
            _ => Value.Undefined,
        };
    }

    private static Value StringValue(string? text) => text is null || IsJsonNetDate(text) ? Value.Undefined : Value.Of(text);

    /// <summary>
    /// True for a string that Json.NET, which edgeHub parses bodies with, reads as a date (its default DateParseHandling):
    /// ISO 8601 date-times such as <c>2017-03-09T00:00:00.000Z</c> and <c>/Date(ticks)/</c>. edgeHub's body query gives such a
    /// value the JSON type Date, which the route language does not know: the value is undefined.
    /// </summary>
    internal static bool IsJsonNetDate(string s)
    {
        if (s.StartsWith("/Date(", StringComparison.Ordinal))
        {
            return MsDate().IsMatch(s);
        }

        if (s.Length is < 19 or > 40 || !char.IsAsciiDigit(s[0]) || s[10] != 'T')
        {
            return false;
        }

        var m = IsoDate().Match(s);
        return m.Success
            && int.Parse(m.Groups[2].ValueSpan, CultureInfo.InvariantCulture) is >= 1 and <= 12 and var month
            && int.Parse(m.Groups[3].ValueSpan, CultureInfo.InvariantCulture) is var day && day >= 1
            && day <= DateTime.DaysInMonth(Math.Max(1, int.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture)), month)
            && int.Parse(m.Groups[4].ValueSpan, CultureInfo.InvariantCulture) <= 23
            && int.Parse(m.Groups[5].ValueSpan, CultureInfo.InvariantCulture) <= 59
            && int.Parse(m.Groups[6].ValueSpan, CultureInfo.InvariantCulture) <= 59;
    }

    [GeneratedRegex(@"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,7})?(Z|[+-]\d{2}(:?\d{2})?)?\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex IsoDate();

    [GeneratedRegex(@"^/Date\(-?\d+([+-]\d{4})?\)/$", RegexOptions.CultureInvariant)]
    private static partial Regex MsDate();

    /// <summary>True when the JSON body is an object (JObject.Parse accepts nothing else).</summary>
    internal static bool RootIsObject(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        return reader.Read() && reader.TokenType == JsonTokenType.StartObject;
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

    /// <summary>
    /// Parses a path in Routing.Core's JSON path subset (<c>query/jsonpath/JsonPath.g4</c>): names separated by dots, each
    /// optionally followed by one <c>[index]</c>. A name is any run of characters but <c>()&lt;&gt;@,;:\"/[]?={}.</c>, tabs and
    /// line breaks (spaces included), and not digits alone.
    /// </summary>
    internal static bool TryParsePath(string path, out object[] segments, out string error)
    {
        var list = new List<object>();
        segments = [];
        error = string.Empty;
        var i = 0;
        while (true)
        {
            var end = i;
            while (end < path.Length && IsNameChar(path[end]))
            {
                end++;
            }

            var name = path[i..end].Trim(' ');
            if (name.Length == 0)
            {
                error = i >= path.Length
                    ? (list.Count == 0 ? "the query is empty" : "empty property name at the end")
                    : $"expected a property name at offset {i}, got '{path[i]}'";
                return false;
            }

            if (name.AsSpan().IndexOfAnyExceptInRange('0', '9') < 0)
            {
                error = $"'{name}' is not a property name (an array index goes in brackets: name[0])";
                return false;
            }

            list.Add(Encoding.UTF8.GetBytes(path[i..end]));
            i = end;
            if (i < path.Length && path[i] == '[')
            {
                var close = path.IndexOf(']', i + 1);
                var inner = close < 0 ? string.Empty : path[(i + 1)..close];
                if (close < 0 || inner.Length == 0 || !int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    error = close < 0 ? "missing ']'" : $"'[{inner}]' is not an array index (only name[0]-style indexes are supported)";
                    return false;
                }

                list.Add(index);
                i = close + 1;
            }

            if (i == path.Length)
            {
                segments = [.. list];
                return true;
            }

            if (path[i] != '.')
            {
                error = $"unexpected '{path[i]}' at offset {i}";
                return false;
            }

            i++;
        }
    }

    private static bool IsNameChar(char c) => c is not ('(' or ')' or '<' or '>' or '@' or ',' or ';' or ':' or '\\' or '"' or '/' or '[' or ']' or '?' or '=' or '{' or '}' or '.' or '\t' or '\n' or '\r');
}
