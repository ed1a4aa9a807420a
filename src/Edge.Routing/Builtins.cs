using System.Globalization;

namespace Edge.Routing;

/// <summary>The built-in functions of Routing.Core (<c>query/builtins/*.cs</c>); names are case-insensitive.</summary>
internal static class Builtins
{
    private const QueryType N = QueryType.Number;
    private const QueryType S = QueryType.String;
    private const QueryType Any = QueryType.Undefined; // marker: any type (Routing.Core AnyArgs)

    private static readonly Dictionary<string, Builtin> Table = new(StringComparer.OrdinalIgnoreCase)
    {
        // math
        ["abs"] = Math1("abs", Math.Abs),
        ["exp"] = Math1("exp", Math.Exp),
        ["power"] = new("power", N, [[N, N]], false, a => Num2(a, Math.Pow)),
        ["square"] = Math1("square", x => x * x),
        ["ceiling"] = Math1("ceiling", Math.Ceiling),
        ["floor"] = Math1("floor", Math.Floor),
        ["sign"] = Math1("sign", x => double.IsNaN(x) ? double.NaN : Math.Sign(x)),
        ["sqrt"] = Math1("sqrt", Math.Sqrt),

        // type checking
        ["as_number"] = new("as_number", N, [[S], [N]], false, a => AsNumber(a[0])),
        ["is_bool"] = new("is_bool", QueryType.Bool, [[Any]], false, a => Value.Of(a[0].Kind == ValueKind.Bool)),
        ["is_defined"] = new("is_defined", QueryType.Bool, [[Any]], false, a => Value.Of(a[0].IsDefined)),
        ["is_null"] = new("is_null", QueryType.Bool, [[Any]], false, a => IsNull(a[0])),
        ["is_number"] = new("is_number", QueryType.Bool, [[Any]], false, a => Value.Of(a[0].Kind == ValueKind.Number && double.IsFinite(a[0].Number))),
        ["is_string"] = new("is_string", QueryType.Bool, [[Any]], false, a => Value.Of(a[0].Kind == ValueKind.String && a[0].Text is not null)),

        // strings
        ["concat"] = new("concat", S, [[S]], true, ConcatAll),
        ["length"] = new("length", N, [[S]], false, a => a[0].Text is { } x ? Value.Of(x.Length) : Value.Undefined),
        ["lower"] = new("lower", S, [[S]], false, a => a[0].Text is { } x ? Value.Of(x.ToLowerInvariant()) : Value.Undefined),
        ["upper"] = new("upper", S, [[S]], false, a => a[0].Text is { } x ? Value.Of(x.ToUpperInvariant()) : Value.Undefined),
        ["substring"] = new("substring", S, [[S, N], [S, N, N]], false, Substring),
        ["index_of"] = new("index_of", N, [[S, S]], false, a => Str2(a, static (x, y) => Value.Of(x.IndexOf(y, StringComparison.Ordinal)))),
        ["starts_with"] = new("starts_with", QueryType.Bool, [[S, S]], false, a => Str2(a, static (x, y) => Value.Of(x.StartsWith(y, StringComparison.Ordinal)))),
        ["ends_with"] = new("ends_with", QueryType.Bool, [[S, S]], false, a => Str2(a, static (x, y) => Value.Of(x.EndsWith(y, StringComparison.Ordinal)))),
        ["contains"] = new("contains", QueryType.Bool, [[S, S]], false, a => Str2(a, static (x, y) => Value.Of(x.Contains(y, StringComparison.Ordinal)))),
    };

    /// <summary>The names of every built-in function, for documentation and tests.</summary>
    public static IEnumerable<string> Names => Table.Keys.Append("twin_change_includes");

    public static bool IsTwinChangeIncludes(string name) => string.Equals(name, "twin_change_includes", StringComparison.OrdinalIgnoreCase);

    public static Expr Call(Token name, List<Expr> args, ConditionCompiler c)
    {
        if (!Table.TryGetValue(name.Text, out var f))
        {
            c.Error($"unknown function '{name.Text}'", name);
            return Expr.Error(name.Start, name.End);
        }

        if (args.Any(a => a.IsError))
        {
            return Expr.Error(name.Start, name.End);
        }

        if (!f.Accepts(args))
        {
            var given = string.Join(", ", args.Select(a => a.Type.Describe()));
            var expected = string.Join(" or ", f.Signatures.Select(s => "(" + string.Join(", ", s.Select(t => t == Any ? "any" : t.Describe())) + (f.VarArgs ? ", ..." : string.Empty) + ")"));
            c.Error($"invalid arguments to {f.Name}({given}): expected {expected}", name);
            return Expr.Error(name.Start, name.End);
        }

        var impl = f.Impl;
        Expr result;
        if (f.Name == "is_null" && args[0].Type is not (QueryType.Dynamic or QueryType.String))
        {
            // Routing.Core IsNull for other static types: null is null, anything else (undefined included) is not.
            var isNull = Value.Of(args[0].Type == QueryType.Null);
            return Expr.Const(isNull, QueryType.Bool, name.Start, name.End);
        }

        if (f.Name == "is_null" && args[0].Type == QueryType.String)
        {
            // A string is null only when it is a property present with a null value (a missing one is undefined, not null).
            var s0 = args[0].Eval;
            return Operators.Fold(new Expr(QueryType.Bool, m => Value.Of(s0(m) is { Kind: ValueKind.String, Text: null }), name.Start, name.End), args[0]);
        }

        switch (args.Count)
        {
            // One and two arguments (every built-in but concat) pass values in a stack buffer: evaluation allocates nothing.
            case 1:
            {
                var a0 = args[0].Eval;
                result = new Expr(f.Result, m => impl(new ValueArgs(a0(m))), name.Start, name.End);
                break;
            }

            case 2:
            {
                var a0 = args[0].Eval;
                var a1 = args[1].Eval;
                result = new Expr(f.Result, m => impl(new ValueArgs(a0(m), a1(m))), name.Start, name.End);
                break;
            }

            default:
            {
                var evals = args.Select(a => a.Eval).ToArray();
                result = new Expr(
                    f.Result,
                    m =>
                    {
                        var values = new Value[evals.Length];
                        for (var i = 0; i < evals.Length; i++)
                        {
                            values[i] = evals[i](m);
                        }

                        return impl(new ValueArgs(values));
                    },
                    name.Start,
                    name.End);
                break;
            }
        }

        return Operators.Fold(result, [.. args]);
    }

    /// <summary>
    /// <c>twin_change_includes(properties.reported.x)</c>: true when the twin-change notification's JSON body contains the path.
    /// Valid only in routes whose source is <c>/twinChangeNotifications</c> (TwinChangeIncludes.IsValidMessageSource).
    /// </summary>
    public static Expr TwinChangeIncludes(Token name, string path, string? routeSource, ConditionCompiler c)
    {
        var invalid = Expr.Error(name.Start, name.End);
        if (routeSource is null || !Route.NormalizeSource(routeSource).Equals("/twinchangenotifications/", StringComparison.OrdinalIgnoreCase))
        {
            c.Error($"{name.Text} is only valid in routes FROM /twinChangeNotifications", name);
            return invalid;
        }

        // TwinChangeJsonPathValidator: a JSON path that starts with properties.reported., properties.desired. or tags.
        if (!BodyQuery.TryParsePath(path, out var segments, out var error)
            || !(path.StartsWith("properties.reported.", StringComparison.OrdinalIgnoreCase)
                || path.StartsWith("properties.desired.", StringComparison.OrdinalIgnoreCase)
                || path.StartsWith("tags.", StringComparison.OrdinalIgnoreCase)))
        {
            c.Error($"invalid argument to {name.Text}({path}): expected a twin path such as properties.reported.temperature{(error.Length > 0 ? ": " + error : string.Empty)}", name);
            return invalid;
        }

        // TwinChangeIncludes.Runtime: a body that is not JSON (or not declared as JSON) is undefined; a path that selects nothing
        // is false; any value at the path (null, an object) is true.
        return new Expr(
            QueryType.Bool,
            m => !m.BodyState.TryGetJson(m, requireJsonContentType: true, out var json) || !BodyQuery.RootIsObject(json) ? Value.Undefined
                : Value.Of(BodyQuery.TryNavigate(json, segments, out _)),
            name.Start,
            name.End);
    }

    internal static Value ConcatValues(Value a, Value b) =>
        a.Kind == ValueKind.String && b.Kind == ValueKind.String ? Value.Of(a.Text + b.Text) : Value.Undefined;

    private static Value ConcatAll(ValueArgs a)
    {
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < a.Length; i++)
        {
            if (a[i].Kind != ValueKind.String)
            {
                return Value.Undefined;
            }

            sb.Append(a[i].Text);
        }

        return Value.Of(sb.ToString());
    }

    private static Builtin Math1(string name, Func<double, double> f) =>
        new(name, N, [[N]], false, a => a[0].Kind == ValueKind.Number ? Value.Of(f(a[0].Number)) : Value.Undefined);

    private static Value Num2(ValueArgs a, Func<double, double, double> f) =>
        a[0].Kind == ValueKind.Number && a[1].Kind == ValueKind.Number ? Value.Of(f(a[0].Number, a[1].Number)) : Value.Undefined;

    private static Value Str2(ValueArgs a, Func<string, string, Value> f) =>
        a[0].Text is { } x && a[1].Text is { } y ? f(x, y) : Value.Undefined;

    // AsNumber.Runtime: double.TryParse(NumberStyles.Any, invariant) for strings, numbers unchanged, anything else undefined.
    private static Value AsNumber(Value v) => v.Kind switch
    {
        ValueKind.Number => v,
        ValueKind.String => double.TryParse(v.Text, NumberStyles.Any, CultureInfo.InvariantCulture, out var d) ? Value.Of(d) : Value.Undefined,
        _ => Value.Undefined,
    };

    // For $body values, IsNull.RuntimeQueryValue: undefined stays undefined, and the result is "not the provider's shared
    // QueryValue.Null instance" (a reference comparison): false for a path that selects nothing, true for every other value,
    // a JSON null included. edgeHub behaves so; is_defined and "= null" are the reliable tests.
    private static Value IsNull(Value v) => v.Kind switch
    {
        ValueKind.Undefined => Value.Undefined,
        _ => Value.Of(!v.IsMissing),
    };

    private static Value Substring(ValueArgs a)
    {
        if (a[0].Kind != ValueKind.String || a[1].Kind != ValueKind.Number || (a.Length == 3 && a[2].Kind != ValueKind.Number))
        {
            return Value.Undefined;
        }

        if (a[0].Text is not { } s)
        {
            return Value.Undefined;
        }

        // Substring.RuntimeStart: 0 <= start <= length; RuntimeStartLength: 0 <= start < length and the slice within the string.
        var start = a[1].Number;
        var length = a.Length == 3 ? a[2].Number : s.Length - start;
        if (start < 0 || length < 0 || start + length > s.Length || (a.Length == 3 && start >= s.Length))
        {
            return Value.Undefined;
        }

        return Value.Of(s.Substring((int)start, (int)length));
    }

    /// <summary>Up to two argument values inline, more in an array.</summary>
    internal readonly struct ValueArgs
    {
        private readonly Value _a0;
        private readonly Value _a1;
        private readonly Value[]? _many;

        public ValueArgs(Value a0)
        {
            _a0 = a0;
            Length = 1;
        }

        public ValueArgs(Value a0, Value a1)
        {
            _a0 = a0;
            _a1 = a1;
            Length = 2;
        }

        public ValueArgs(Value[] many)
        {
            _many = many;
            Length = many.Length;
        }

        public int Length { get; }

        public Value this[int i] => _many is not null ? _many[i] : i == 0 ? _a0 : _a1;
    }

    private sealed record Builtin(string Name, QueryType Result, QueryType[][] Signatures, bool VarArgs, Func<ValueArgs, Value> Impl)
    {
        public bool Accepts(List<Expr> args) => Signatures.Any(s => Match(s, args));

        private bool Match(QueryType[] s, List<Expr> args)
        {
            if (VarArgs)
            {
                // VarArgs(string, string, string): at least two arguments.
                return args.Count >= 2 && args.All(a => Operators.Matches(s[^1], a.Type));
            }

            if (s.Length != args.Count)
            {
                return false;
            }

            for (var i = 0; i < s.Length; i++)
            {
                if (s[i] != Any && !Operators.Matches(s[i], args[i].Type))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
