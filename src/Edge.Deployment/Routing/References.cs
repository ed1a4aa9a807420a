namespace Edge.Deployment.Routing;

/// <summary>Property references: <c>name</c>, <c>$name</c>, <c>{$name}</c> and <c>$body.path</c> (ConditionVisitor.VisitProperty/VisitSysProperty*).</summary>
internal static class References
{
    private const string BodyPrefix = "$body.";

    /// <summary><c>name</c>: the application property, a string; undefined when absent.</summary>
    public static Expr AppProperty(Token t)
    {
        var name = t.Text;
        return new Expr(QueryType.String, m => m.Properties.TryGetValue(name, out var v) ? Value.Of(v) : Value.Undefined, t.Start, t.End);
    }

    /// <summary>
    /// <c>$name</c>: an application property literally named <c>$name</c> wins; otherwise a <c>$body.</c> query or the
    /// system property <c>name</c>.
    /// </summary>
    public static Expr SysProperty(Token t, ConditionCompiler c)
    {
        var text = t.Text;
        if (IsTwinQuery(text))
        {
            return TwinNotSupported(t, c);
        }

        if (text.StartsWith(BodyPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var query = BodyQuery.Compile(text[BodyPrefix.Length..], t, c);
            if (query is null)
            {
                return Expr.Error(t.Start, t.End);
            }

            // An application property named "$body.x" takes precedence over the body query.
            return new Expr(
                QueryType.Dynamic,
                m => m.Properties.TryGetValue(text, out var v) ? Value.Of(v) : query.Evaluate(m),
                t.Start,
                t.End);
        }

        // Property names cannot contain '[' or ']': such a reference is undefined (ConditionVisitor.VisitSysProperty).
        if (text.AsSpan(1).IndexOfAny('[', ']') >= 0)
        {
            return Expr.Const(Value.Undefined, QueryType.Undefined, t.Start, t.End);
        }

        var sys = text[1..];
        return new Expr(
            QueryType.String,
            m => m.Properties.TryGetValue(text, out var v) || m.SystemProperties.TryGetValue(sys, out v) ? Value.Of(v) : Value.Undefined,
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

        if (text.StartsWith(BodyPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var query = BodyQuery.Compile(text[BodyPrefix.Length..], t, c);
            return query is null
                ? Expr.Error(t.Start, t.End)
                : new Expr(QueryType.Dynamic, query.Evaluate, t.Start, t.End);
        }

        if (text.AsSpan(1).IndexOfAny('[', ']') >= 0)
        {
            return Expr.Const(Value.Undefined, QueryType.Undefined, t.Start, t.End);
        }

        var sys = text[1..];
        return new Expr(QueryType.String, m => m.SystemProperties.TryGetValue(sys, out var v) ? Value.Of(v) : Value.Undefined, t.Start, t.End);
    }

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
