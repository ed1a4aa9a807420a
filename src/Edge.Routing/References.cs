namespace Edge.Routing;

/// <summary>Property references: <c>name</c>, <c>$name</c>, <c>{$name}</c> and <c>$body.path</c> (ConditionVisitor.VisitProperty/VisitSysProperty*).</summary>
/// <remarks>
/// Names are case-insensitive (Routing.Core's message keeps its properties in case-insensitive dictionaries). A property present
/// with a null value is a string-typed null (<see cref="Value.NullString"/>): defined, null, and undefined to string functions
/// and comparisons; a missing property is undefined.
/// </remarks>
internal static class References
{
    private const string BodyPrefix = "$body.";

    /// <summary><c>name</c>: the application property, a string; undefined when absent.</summary>
    public static Expr AppProperty(Token t)
    {
        var name = t.Text;
        return new Expr(QueryType.String, m => App(m, name), t.Start, t.End);
    }

    /// <summary>
    /// <c>$name</c>: an application property literally named <c>$name</c> wins; otherwise a <c>$body.</c> query (when the
    /// compiler has body queries) or the system property <c>name</c>.
    /// </summary>
    public static Expr SysProperty(Token t, ConditionCompiler c)
    {
        var text = t.Text;
        if (IsTwinQuery(text))
        {
            return TwinNotSupported(t, c);
        }

        if (c.BodyQueries && text.StartsWith(BodyPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var query = BodyQuery.Compile(text[BodyPrefix.Length..], t, c);
            if (query is null)
            {
                return Expr.Error(t.Start, t.End);
            }

            // Names cannot contain '[' or ']', so with those the body query is all there is.
            if (HasBracket(text))
            {
                return new Expr(QueryType.Dynamic, query.Evaluate, t.Start, t.End);
            }

            // An application property named "$body.x" takes precedence over the body query.
            return new Expr(
                QueryType.Dynamic,
                m => RoutingMessage.TryGet(m.Properties, m.NullProperties, text, out var v) ? Of(v) : query.Evaluate(m),
                t.Start,
                t.End);
        }

        // Property names cannot contain '[' or ']': such a reference is undefined (ConditionVisitor.VisitSysProperty).
        if (HasBracket(text))
        {
            return Expr.Const(Value.Undefined, QueryType.Undefined, t.Start, t.End);
        }

        var sys = text[1..];
        return new Expr(
            QueryType.String,
            m => RoutingMessage.TryGet(m.Properties, m.NullProperties, text, out var v) ? Of(v) : Sys(m, sys),
            t.Start,
            t.End);
    }

    /// <summary><c>{$name}</c>: the system property only (or the body query, which then wins over an application property).</summary>
    public static Expr EscapedSysProperty(Token t, ConditionCompiler c)
    {
        var text = t.Text;
        if (IsTwinQuery(text))
        {
            return TwinNotSupported(t, c);
        }

        if (c.BodyQueries && text.StartsWith(BodyPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var query = BodyQuery.Compile(text[BodyPrefix.Length..], t, c);
            return query is null
                ? Expr.Error(t.Start, t.End)
                : new Expr(QueryType.Dynamic, query.Evaluate, t.Start, t.End);
        }

        if (HasBracket(text))
        {
            return Expr.Const(Value.Undefined, QueryType.Undefined, t.Start, t.End);
        }

        var sys = text[1..];
        return new Expr(QueryType.String, m => Sys(m, sys), t.Start, t.End);
    }

    private static Value App(RoutingMessage m, string name) =>
        RoutingMessage.TryGet(m.Properties, m.NullProperties, name, out var v) ? Of(v) : Value.Undefined;

    private static Value Sys(RoutingMessage m, string name) =>
        RoutingMessage.TryGet(m.SystemProperties, m.NullSystemProperties, name, out var v) ? Of(v) : Value.Undefined;

    private static Value Of(string? v) => v is null ? Value.NullString : Value.Of(v);

    private static bool HasBracket(string text) => text.AsSpan(1).IndexOfAny('[', ']') >= 0;

    // $twin.* queries are an IoT Hub (cloud) routing feature; edgeHub's compiler has no twin source (docs/protocol.md, "Routes").
    private static bool IsTwinQuery(string text) =>
        text.Equals("$twin", StringComparison.OrdinalIgnoreCase)
        || text.StartsWith("$twin.", StringComparison.OrdinalIgnoreCase)
        || text.StartsWith("$twin[", StringComparison.OrdinalIgnoreCase);

    private static Expr TwinNotSupported(Token t, ConditionCompiler c)
    {
        c.Error($"'{t.Text}': $twin queries are not supported by edgeHub routes (they are an IoT Hub cloud-routing feature)", t);
        return Expr.Error(t.Start, t.End);
    }
}
