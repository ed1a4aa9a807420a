namespace Edge.Routing;

/// <summary>Type checks and run-time semantics of the operators (Routing.Core <c>ConditionVisitor</c>, <c>Bool</c>, <c>Null</c>).</summary>
internal static class Operators
{
    public static Expr Unary(Token op, Expr operand, ConditionCompiler c)
    {
        var e = operand.Eval;
        if (operand.IsError)
        {
            return Expr.Error(op.Start, operand.End);
        }

        if (op.Kind == TokenKind.Minus)
        {
            if (!Matches(QueryType.Number, operand.Type))
            {
                c.Error($"invalid operand to '-': expected number, got {operand.Type.Describe()}", op);
                return Expr.Error(op.Start, operand.End);
            }

            return Fold(new Expr(QueryType.Number, m => Negate(e(m)), op.Start, operand.End), operand);
        }

        // NOT: a bool (or null: "not null" is valid and true); ConditionVisitor.VisitNot.
        if (operand.Type is not (QueryType.Bool or QueryType.Null or QueryType.Dynamic))
        {
            c.Error($"invalid operand to NOT: expected bool, got {operand.Type.Describe()}", op);
            return Expr.Error(op.Start, operand.End);
        }

        // A $body value negates as a QueryValue: only a bool has a negation; anything else (null included) is undefined.
        return operand.Type == QueryType.Dynamic
            ? new Expr(QueryType.Bool, m => e(m) is { Kind: ValueKind.Bool } v ? Not(v) : Value.Undefined, op.Start, operand.End)
            : Fold(new Expr(QueryType.Bool, m => Not(e(m)), op.Start, operand.End), operand);
    }

    public static Expr Binary(Token op, Expr left, Expr right, ConditionCompiler c)
    {
        var l = left.Eval;
        var r = right.Eval;
        int start = left.Start, end = right.End;
        if (left.IsError || right.IsError)
        {
            return Expr.Error(start, end);
        }

        Expr result;
        switch (op.Kind)
        {
            case TokenKind.Plus or TokenKind.Minus or TokenKind.Mul or TokenKind.Div or TokenKind.Mod:
            {
                if (!CheckOperands(op, QueryType.Number, left, right, c))
                {
                    return Invalid(start, end);
                }

                Func<double, double, double> f = op.Kind switch
                {
                    TokenKind.Plus => static (a, b) => a + b,
                    TokenKind.Minus => static (a, b) => a - b,
                    TokenKind.Mul => static (a, b) => a * b,
                    TokenKind.Div => static (a, b) => a / b,
                    _ => static (a, b) => a % b,
                };
                result = new Expr(QueryType.Number, m => Arithmetic(l(m), r(m), f), start, end);
                break;
            }

            case TokenKind.Concat:
                if (!CheckOperands(op, QueryType.String, left, right, c))
                {
                    return Invalid(start, end);
                }

                result = new Expr(QueryType.String, m => Builtins.ConcatValues(l(m), r(m)), start, end);
                break;
            case TokenKind.Lt or TokenKind.Le or TokenKind.Gt or TokenKind.Ge or TokenKind.Eq or TokenKind.Ne1 or TokenKind.Ne2:
            {
                if (!CheckOperands(op, left.Type, left, right, c))
                {
                    return Invalid(start, end);
                }

                var kind = op.Kind;
                result = left.Type == QueryType.Dynamic || right.Type == QueryType.Dynamic
                    ? new Expr(QueryType.Bool, m => CompareDynamic(kind, l(m), r(m)), start, end)
                    : new Expr(QueryType.Bool, m => Compare(kind, l(m), r(m)), start, end);
                break;
            }

            case TokenKind.And or TokenKind.Or:
            {
                if (!CheckBooleanOperands(op, left, right, c))
                {
                    return Invalid(start, end);
                }

                // ConditionVisitor.VisitAnd/VisitOr with Bool's and Null's three-valued operators. Both sides are evaluated
                // (the operators are not short-circuiting), which keeps evaluation free of side effects and order-independent.
                var type = op.Kind == TokenKind.And
                    ? (left.Type == QueryType.Null || right.Type == QueryType.Null ? QueryType.Null : QueryType.Bool)
                    : (left.Type == QueryType.Null && right.Type == QueryType.Null ? QueryType.Null : QueryType.Bool);
                // With a $body value on either side both operands are QueryValues, whose & and | need two bools: anything else
                // (null, a missing value) is undefined.
                if (left.Type == QueryType.Dynamic || right.Type == QueryType.Dynamic)
                {
                    var and = op.Kind == TokenKind.And;
                    result = new Expr(
                        QueryType.Bool,
                        m => (l(m), r(m)) is ({ Kind: ValueKind.Bool } x, { Kind: ValueKind.Bool } y) ? (and ? And(x, y) : Or(x, y)) : Value.Undefined,
                        start,
                        end);
                    break;
                }

                result = op.Kind == TokenKind.And
                    ? new Expr(type, m => And(l(m), r(m)), start, end)
                    : new Expr(type, m => Or(l(m), r(m)), start, end);
                break;
            }

            case TokenKind.Coalesce:
            {
                if (!CheckOperands(op, left.Type, left, right, c))
                {
                    return Invalid(start, end);
                }

                if (left.Type == QueryType.Undefined)
                {
                    return right with { Start = start, End = end };
                }

                var type = left.Type == QueryType.Dynamic || right.Type == QueryType.Dynamic ? QueryType.Dynamic : left.Type;
                result = new Expr(type, m => l(m) is { IsDefined: true } v ? v : r(m), start, end);
                break;
            }

            default:
                throw new InvalidOperationException($"not a binary operator: {op.Kind}");
        }

        return Fold(result, left, right);
    }

    /// <summary>Routing.Core <c>Args.Match</c> with <c>matchQueryValue</c>: equal types, or a $body value against a supported type.</summary>
    public static bool Matches(QueryType expected, QueryType given) =>
        expected == given
        || (given == QueryType.Dynamic && IsSupported(expected))
        || (expected == QueryType.Dynamic && IsSupported(given));

    private static bool IsSupported(QueryType t) => t is QueryType.Number or QueryType.String or QueryType.Bool or QueryType.Null or QueryType.Dynamic;

    private static bool CheckOperands(Token op, QueryType expected, Expr left, Expr right, ConditionCompiler c)
    {
        if (Matches(expected, left.Type) && Matches(expected, right.Type))
        {
            return true;
        }

        var want = expected == QueryType.Dynamic ? "values of one type" : $"{expected.Describe()} and {expected.Describe()}";
        var hint = (left.Type, right.Type) is (QueryType.String, QueryType.Number) or (QueryType.Number, QueryType.String)
            ? " (property values are strings: compare numbers with as_number(property))"
            : string.Empty;
        c.Error($"invalid operands to '{op.Text}': expected {want}, got {left.Type.Describe()} and {right.Type.Describe()}{hint}", op);
        return false;
    }

    private static bool CheckBooleanOperands(Token op, Expr left, Expr right, ConditionCompiler c)
    {
        // ConditionVisitor.CheckBooleanOperands accepts Null, Bool, Undefined and QueryValue. Its right-hand test reads
        // "right.Type is Null/Bool/Undefined || left.Type == QueryValue", so `true AND $body.flag` is rejected by edgeHub while
        // `$body.flag AND true` compiles. We reproduce that so a route that fails on the device fails here first.
        var leftValid = left.Type is QueryType.Null or QueryType.Bool or QueryType.Undefined or QueryType.Dynamic;
        var rightValid = right.Type is QueryType.Null or QueryType.Bool or QueryType.Undefined || left.Type == QueryType.Dynamic;
        if (leftValid && rightValid)
        {
            return true;
        }

        var hint = right.Type == QueryType.Dynamic && leftValid
            ? " (edgeHub accepts a $body value only on the left of AND/OR: write '$body.x AND ...')"
            : string.Empty;
        c.Error($"invalid operands to '{op.Text}': expected bool and bool, got {left.Type.Describe()} and {right.Type.Describe()}{hint}", op);
        return false;
    }

    private static Expr Invalid(int start, int end) => Expr.Error(start, end);

    // Evaluates constant sub-expressions once, at compile time.
    internal static Expr Fold(Expr e, params Expr[] operands)
    {
        foreach (var o in operands)
        {
            if (o.Constant is null)
            {
                return e;
            }
        }

        var v = e.Eval(null!);
        return Expr.Const(v, e.Type, e.Start, e.End);
    }

    private static Value Negate(Value v) => v.Kind == ValueKind.Number ? Value.Of(-v.Number) : Value.Undefined;

    internal static Value Not(Value v) => v.Kind switch
    {
        ValueKind.Bool => Value.Of(!v.IsTrue),
        ValueKind.Null => Value.True, // Null's operator ! is Bool.True
        _ => Value.Undefined,
    };

    private static Value Arithmetic(Value a, Value b, Func<double, double, double> f) =>
        a.Kind == ValueKind.Number && b.Kind == ValueKind.Number ? Value.Of(f(a.Number, b.Number)) : Value.Undefined;

    // Bool: true/false/undefined; anything that is not a bool or null converts to undefined (Bool's implicit conversions).
    private static int Tri(Value v) => v.Kind == ValueKind.Bool ? (v.IsTrue ? 1 : -1) : 0;

    internal static Value And(Value a, Value b)
    {
        if (a.Kind == ValueKind.Null || b.Kind == ValueKind.Null)
        {
            return Value.Null; // Null's operator & yields null
        }

        int x = Tri(a), y = Tri(b);
        if (x == -1 || y == -1)
        {
            return Value.False;
        }

        return x == 0 || y == 0 ? Value.Undefined : Value.True;
    }

    internal static Value Or(Value a, Value b)
    {
        if (a.Kind == ValueKind.Null)
        {
            return b.Kind == ValueKind.Null ? Value.Null : FromTri(Tri(b)); // null OR y = y
        }

        if (b.Kind == ValueKind.Null)
        {
            return FromTri(Tri(a));
        }

        int x = Tri(a), y = Tri(b);
        if (x == 1 || y == 1)
        {
            return Value.True;
        }

        return x == 0 || y == 0 ? Value.Undefined : Value.False;
    }

    private static Value FromTri(int t) => t switch
    {
        1 => Value.True,
        -1 => Value.False,
        _ => Value.Undefined,
    };

    /// <summary>
    /// Operands of one static type (ComparisonOperators.Compare overloads): undefined (or a null-valued property, a null string)
    /// on either side is undefined; <c>null</c> against <c>null</c> is equal.
    /// </summary>
    internal static Value Compare(TokenKind op, Value a, Value b)
    {
        if (!a.IsDefined || !b.IsDefined || (a.Kind == ValueKind.String && a.Text is null) || (b.Kind == ValueKind.String && b.Text is null))
        {
            return Value.Undefined;
        }

        if (a.Kind != b.Kind)
        {
            return Value.Undefined;
        }

        return Result(op, CompareSameKind(a, b));
    }

    /// <summary>
    /// A <c>$body</c> value on either side (QueryValue.CompareTo): undefined on either side is undefined; values of different
    /// kinds are unequal and order by kind (bool &lt; number &lt; string &lt; null), so <c>$body.n = '50'</c> is false and
    /// <c>$body.missing = null</c> is true.
    /// </summary>
    internal static Value CompareDynamic(TokenKind op, Value a, Value b)
    {
        if (!a.IsDefined || !b.IsDefined)
        {
            return Value.Undefined;
        }

        return Result(op, a.Kind != b.Kind ? KindOrder(a.Kind).CompareTo(KindOrder(b.Kind)) : CompareSameKind(a, b));
    }

    private static int KindOrder(ValueKind k) => k switch
    {
        ValueKind.Bool => 1,
        ValueKind.Number => 2,
        ValueKind.String => 3,
        _ => 4,
    };

    private static int CompareSameKind(Value a, Value b) => a.Kind switch
    {
        ValueKind.Null => 0,
        ValueKind.Bool => (a.IsTrue ? 1 : 0) - (b.IsTrue ? 1 : 0),
        ValueKind.Number => a.Number.CompareTo(b.Number),
        _ => string.CompareOrdinal(a.Text, b.Text),
    };

    private static Value Result(TokenKind op, int cmp) => op switch
    {
        TokenKind.Eq => Value.Of(cmp == 0),
        TokenKind.Ne1 or TokenKind.Ne2 => Value.Of(cmp != 0),
        TokenKind.Lt => Value.Of(cmp < 0),
        TokenKind.Le => Value.Of(cmp <= 0),
        TokenKind.Gt => Value.Of(cmp > 0),
        _ => Value.Of(cmp >= 0),
    };
}
