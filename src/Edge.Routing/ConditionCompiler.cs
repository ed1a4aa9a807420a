using System.Globalization;

namespace Edge.Routing;

/// <summary>A compiled condition expression: its static type and a closure that evaluates it against one message.</summary>
internal sealed record Expr(QueryType Type, Func<RoutingMessage, Value> Eval, int Start, int End)
{
    public Value? Constant { get; init; }

    /// <summary>True for the placeholder of an expression that already failed to compile: operators over it report nothing more.</summary>
    public bool IsError { get; init; }

    public static Expr Const(Value v, QueryType type, int start, int end) => new(type, _ => v, start, end) { Constant = v };

    public static Expr Error(int start, int end) => Const(Value.Undefined, QueryType.Undefined, start, end) with { IsError = true };
}

/// <summary>
/// Parses and type-checks a condition in one pass (precedence climbing over the Routing.Core grammar) and compiles it into
/// a tree of closures. Typing follows Routing.Core's <c>query/ConditionVisitor.cs</c>: operands must have the operator's type
/// (<c>Args.Match</c>), where a <c>$body</c> value matches any type and the literal <c>undefined</c>/<c>null</c> match only
/// themselves, so <c>severity &gt; 3</c> and <c>undefined + 1</c> are compile errors while a missing property is a run-time
/// <c>undefined</c>.
/// </summary>
internal sealed class ConditionCompiler
{
    private readonly List<Token> _tokens;
    private readonly string _text;
    private readonly string? _routeSource;
    private readonly RouteCompilerFlags _flags;
    private readonly List<(string Problem, int Column)> _errors = [];
    private int _pos;
    private bool _typeCheck = true;

    private ConditionCompiler(string text, List<Token> tokens, int start, string? routeSource, RouteCompilerFlags flags)
    {
        _text = text;
        _tokens = tokens;
        _pos = start;
        _routeSource = routeSource;
        _flags = flags;
    }

    /// <summary>Whether <c>$body.</c> references are body queries (<see cref="RouteCompilerFlags.BodyQuery"/>).</summary>
    public bool BodyQueries => (_flags & RouteCompilerFlags.BodyQuery) != 0;

    /// <summary>Whether <c>twin_change_includes</c> is a function (<see cref="RouteCompilerFlags.TwinChangeIncludes"/>).</summary>
    public bool TwinChangeIncludes => (_flags & RouteCompilerFlags.TwinChangeIncludes) != 0;

    /// <summary>Compiles a whole condition text. An empty (or all-blank) condition is undefined, as in Routing.Core.</summary>
    public static Func<RoutingMessage, ConditionResult> Compile(string condition, string? routeSource, RouteCompilerFlags flags)
    {
        if (string.IsNullOrWhiteSpace(condition))
        {
            return static _ => ConditionResult.Undefined;
        }

        var expr = CompileExpression(condition, routeSource, flags);
        return ToResult(expr);
    }

    /// <summary>Compiles an expression without converting its value to a condition result (for tests of literal and arithmetic values).</summary>
    internal static Expr CompileExpression(string text, string? routeSource, RouteCompilerFlags flags)
    {
        var tokens = Lexer.Tokenize(text);
        var c = new ConditionCompiler(text, tokens, 0, routeSource, flags);
        return c.ParseCondition(TokenKind.Eof);
    }

    /// <summary>Compiles the condition that starts at token <paramref name="start"/> and ends before <paramref name="terminator"/>.</summary>
    public static (Func<RoutingMessage, ConditionResult> Eval, int Next, string Text) CompileEmbedded(
        string text, List<Token> tokens, int start, TokenKind terminator, string? routeSource, bool typeCheck = true)
    {
        var c = new ConditionCompiler(text, tokens, start, routeSource, RouteCompilerFlags.All) { _typeCheck = typeCheck };
        var expr = c.ParseCondition(terminator);
        return (ToResult(expr), c._pos, text[expr.Start..expr.End]);
    }

    // RouteCompiler converts the expression to Bool: a bool is itself, null is false (Null's explicit conversion),
    // anything else (numbers, strings, undefined) is undefined.
    // A $body value (QueryValue) converts to Bool only when it is a bool: a $body null is undefined.
    private static Func<RoutingMessage, ConditionResult> ToResult(Expr expr)
    {
        if (expr.Constant is { } k)
        {
            var r = ToResult(k);
            return _ => r;
        }

        var eval = expr.Eval;
        return expr.Type == QueryType.Dynamic
            ? m => eval(m) is { Kind: ValueKind.Bool } v ? ToResult(v) : ConditionResult.Undefined
            : m => ToResult(eval(m));
    }

    private static ConditionResult ToResult(Value v) => v.Kind switch
    {
        ValueKind.Bool => v.IsTrue ? ConditionResult.True : ConditionResult.False,
        ValueKind.Null => ConditionResult.False,
        _ => ConditionResult.Undefined,
    };

    private Token Peek => _tokens[_pos];

    private Expr ParseCondition(TokenKind terminator)
    {
        if (Peek.Kind == terminator)
        {
            throw Syntax("empty condition", Peek);
        }

        var expr = ParseBinary(0);
        if (Peek.Kind != terminator)
        {
            var t = Peek;
            if (t.Kind == TokenKind.CloseParen)
            {
                throw Syntax("unmatched closing ')'", t);
            }

            throw Unexpected(t, terminator == TokenKind.Eof ? "an operator or the end of the condition" : "an operator or INTO");
        }

        if (_errors.Count > 0 && _typeCheck)
        {
            var (problem, column) = _errors[0];
            var all = string.Join("; ", _errors.Select(e => $"{e.Problem} (column {e.Column})"));
            throw new RouteCompileException(all, problem, column);
        }

        return expr;
    }

    private static int Precedence(TokenKind k) => k switch
    {
        TokenKind.Coalesce => 1,
        TokenKind.Or => 2,
        TokenKind.And => 3,
        TokenKind.Eq or TokenKind.Ne1 or TokenKind.Ne2 => 4,
        TokenKind.Lt or TokenKind.Le or TokenKind.Gt or TokenKind.Ge => 5,
        TokenKind.Plus or TokenKind.Minus or TokenKind.Concat => 6,
        TokenKind.Mul or TokenKind.Div or TokenKind.Mod => 7,
        _ => -1,
    };

    private Expr ParseBinary(int minPrecedence)
    {
        var left = ParseUnary();
        while (true)
        {
            var op = Peek;
            var prec = Precedence(op.Kind);
            if (prec < 0 || prec < minPrecedence)
            {
                return left;
            }

            _pos++;
            if (Peek.Kind is TokenKind.Eof)
            {
                throw Syntax($"missing right operand of '{op.Text}'", op);
            }

            var right = ParseBinary(prec + 1);
            left = Operators.Binary(op, left, right, this);
        }
    }

    private Expr ParseUnary()
    {
        var t = Peek;
        if (t.Kind is TokenKind.Minus or TokenKind.Not)
        {
            _pos++;
            if (Peek.Kind is TokenKind.Eof)
            {
                throw Syntax($"missing operand of '{t.Text}'", t);
            }

            var operand = ParseUnary();
            return Operators.Unary(t, operand, this);
        }

        return ParsePrimary();
    }

    private Expr ParsePrimary()
    {
        var t = Peek;
        switch (t.Kind)
        {
            case TokenKind.OpenParen:
            {
                _pos++;
                if (Peek.Kind == TokenKind.CloseParen)
                {
                    throw Syntax("empty parentheses", Peek);
                }

                var inner = ParseBinary(0);
                if (Peek.Kind != TokenKind.CloseParen)
                {
                    if (Peek.Kind is TokenKind.Eof or TokenKind.Into)
                    {
                        throw Syntax("missing closing ')'", t);
                    }

                    throw Unexpected(Peek, "an operator or ')'");
                }

                var close = Peek;
                _pos++;
                return inner with { Start = t.Start, End = close.End };
            }

            case TokenKind.String:
                _pos++;
                return Expr.Const(Value.Of(Lexer.Unescape(t.Text[1..^1])), QueryType.String, t.Start, t.End);
            case TokenKind.UnterminatedString:
                throw Syntax(
                    t.End < _text.Length && _text[t.End] == '\\'
                        ? "invalid escape in string (allowed: \\\" \\' \\\\ \\uXXXX)"
                        : "unterminated string",
                    t);
            case TokenKind.Integer:
            case TokenKind.Real:
                _pos++;
                return double.TryParse(t.Text, NumberStyles.Any, CultureInfo.InvariantCulture, out var d)
                    ? Expr.Const(Value.Of(d), QueryType.Number, t.Start, t.End)
                    : Expr.Const(Value.Undefined, QueryType.Undefined, t.Start, t.End);
            case TokenKind.Hex:
                _pos++;
                return long.TryParse(t.Text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var h)
                    ? Expr.Const(Value.Of(h), QueryType.Number, t.Start, t.End)
                    : Expr.Const(Value.Undefined, QueryType.Undefined, t.Start, t.End);
            case TokenKind.True:
                _pos++;
                return Expr.Const(Value.True, QueryType.Bool, t.Start, t.End);
            case TokenKind.False:
                _pos++;
                return Expr.Const(Value.False, QueryType.Bool, t.Start, t.End);
            case TokenKind.Null:
                _pos++;
                return Expr.Const(Value.Null, QueryType.Null, t.Start, t.End);
            case TokenKind.Undefined:
                _pos++;
                return Expr.Const(Value.Undefined, QueryType.Undefined, t.Start, t.End);
            case TokenKind.Id when _tokens[_pos + 1].Kind == TokenKind.OpenParen:
                return ParseCall();
            case TokenKind.Id:
                _pos++;
                return References.AppProperty(t);
            case TokenKind.SysProp:
                _pos++;
                return References.SysProperty(t, this);
            case TokenKind.OpenBrace:
            {
                _pos++;
                var p = Peek;
                if (p.Kind != TokenKind.SysProp)
                {
                    throw Unexpected(p, "a system property such as {$contentType}");
                }

                _pos++;
                if (Peek.Kind != TokenKind.CloseBrace)
                {
                    throw Unexpected(Peek, "'}'");
                }

                var close = Peek;
                _pos++;
                return References.EscapedSysProperty(p, this) with { Start = t.Start, End = close.End };
            }

            case TokenKind.Unknown:
                throw Syntax($"unrecognized symbol '{t.Text}'", t);
            case TokenKind.Eof:
            case TokenKind.Into:
                throw Syntax("incomplete condition: an operand is missing", t);
            case TokenKind.CloseParen:
                throw Syntax("unmatched closing ')'", t);
            default:
                throw Unexpected(t, "an operand (a literal, a property, a function call or '(')");
        }
    }

    private Expr ParseCall()
    {
        var name = Peek;
        _pos += 2;
        var args = new List<Expr>();
        if (Builtins.IsTwinChangeIncludes(name.Text) && TwinChangeIncludes)
        {
            // Routing.Core passes the argument list's text, unparsed, to twin_change_includes.
            var startTok = Peek;
            var depth = 0;
            while (!(Peek.Kind == TokenKind.CloseParen && depth == 0))
            {
                if (Peek.Kind is TokenKind.Eof)
                {
                    throw Syntax($"missing closing ')' of {name.Text}(", name);
                }

                depth += Peek.Kind == TokenKind.OpenParen ? 1 : Peek.Kind == TokenKind.CloseParen ? -1 : 0;
                _pos++;
            }

            var close = Peek;
            _pos++;
            var argTokens = _tokens.Skip(_tokens.IndexOf(startTok)).TakeWhile(x => x.Start < close.Start).ToList();
            var raw = string.Concat(argTokens.Select(x => x.Text));

            // The argument must also parse as one condition expression: a path is a single identifier ('[' is not part of one).
            if (argTokens is not [{ Kind: TokenKind.Id }])
            {
                Error($"invalid argument to {name.Text}({raw}): expected a twin path such as properties.reported.temperature (no array indexes)", name);
                return Expr.Error(name.Start, close.End);
            }

            return Builtins.TwinChangeIncludes(name, raw, _routeSource, this) with { End = close.End };
        }

        if (Peek.Kind != TokenKind.CloseParen)
        {
            while (true)
            {
                args.Add(ParseBinary(0));
                if (Peek.Kind == TokenKind.Comma)
                {
                    _pos++;
                    continue;
                }

                if (Peek.Kind == TokenKind.CloseParen)
                {
                    break;
                }

                if (Peek.Kind is TokenKind.Eof or TokenKind.Into)
                {
                    throw Syntax($"missing closing ')' of {name.Text}(", name);
                }

                throw Unexpected(Peek, "',' or ')'");
            }
        }

        var end = Peek;
        _pos++;
        return Builtins.Call(name, args, this) with { Start = name.Start, End = end.End };
    }

    internal void Error(string problem, Token at) => _errors.Add((problem, at.Column));

    private static RouteCompileException Syntax(string problem, Token at) => new(problem, at.Column);

    private static RouteCompileException Unexpected(Token t, string expected)
    {
        if (t.Kind == TokenKind.Eof)
        {
            return new RouteCompileException($"unexpected end of text, expected {expected}", t.Column);
        }

        if (t.Kind == TokenKind.Unknown)
        {
            return new RouteCompileException($"unrecognized symbol '{t.Text}'", t.Column);
        }

        if (t.Kind == TokenKind.UnterminatedString)
        {
            return new RouteCompileException("unterminated string", t.Column);
        }

        var hint = t.Kind is TokenKind.Id or TokenKind.QueryPath && t.Text.IndexOfAny(['-', '+', '*', '%', '!', '|', '&', '\'']) >= 0
            ? " (operators must be separated from names by spaces, as in edgeHub: 'a - 1', not 'a-1')"
            : string.Empty;
        return new RouteCompileException($"unexpected '{t.Text}', expected {expected}{hint}", t.Column);
    }
}
