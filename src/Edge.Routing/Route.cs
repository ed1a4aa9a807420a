namespace Edge.Routing;

/// <summary>
/// One compiled edgeHub route: <c>[SELECT *] FROM {source} [WHERE {condition}] INTO {sink}</c> (docs/protocol.md, "Routes").
/// Compile once with <see cref="Parse(string, string, int?, uint)"/>; <see cref="IsMatch"/> is cheap and thread-safe.
/// </summary>
public sealed class Route
{
    /// <summary>The priority of a route that gives none: below every explicit priority (Routing.Core RouteFactory.DefaultPriority).</summary>
    public const int DefaultPriority = 2_000_000_000;

    private static readonly Func<RoutingMessage, ConditionResult> AlwaysTrue = _ => ConditionResult.True;
    private readonly Func<RoutingMessage, ConditionResult> _condition;
    private readonly string _sourcePrefix;

    private Route(string name, string text, string source, string? condition, RouteSink sink, int priority, uint ttl, Func<RoutingMessage, ConditionResult> eval)
    {
        Name = name;
        Text = text;
        Source = source;
        Condition = condition;
        Sink = sink;
        Priority = priority;
        TimeToLiveSecs = ttl;
        _condition = eval;
        _sourcePrefix = NormalizeSource(source);
    }

    /// <summary>The route's name (its key in <c>$edgeHub.routes</c>).</summary>
    public string Name { get; }

    /// <summary>The route text as given.</summary>
    public string Text { get; }

    /// <summary>The source path as written, e.g. <c>/messages/modules/camera/outputs/*</c>.</summary>
    public string Source { get; }

    /// <summary>The WHERE condition's text, or null when the route has none.</summary>
    public string? Condition { get; }

    /// <summary>Where matched messages go.</summary>
    public RouteSink Sink { get; }

    /// <summary>0 (highest) to 9, or <see cref="DefaultPriority"/> when not given.</summary>
    public int Priority { get; }

    /// <summary>Seconds a message on this route is kept when the sink is unreachable; 0 = inherit the global TTL.</summary>
    public uint TimeToLiveSecs { get; }

    /// <summary>Parses and compiles a route.</summary>
    /// <exception cref="RouteCompileException">The route is invalid; the message says what and at which column of <paramref name="text"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="priority"/> is outside 0..9.</exception>
    public static Route Parse(string name, string text, int? priority = null, uint timeToLiveSecs = 0) =>
        Parse(name, text, priority, timeToLiveSecs, typeCheck: true);

    /// <summary>
    /// Parses like edgeHub's RouteFactory, which reads the source, the condition's text and the sink without compiling the
    /// condition (its Evaluator compiles it when it installs the route). With <paramref name="typeCheck"/> false a condition that
    /// parses but does not type-check is kept as text; it never matches. For tests that compare with RouteFactory alone.
    /// </summary>
    internal static Route Parse(string name, string text, int? priority, uint timeToLiveSecs, bool typeCheck)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(text);
        if (priority is < 0 or > 9)
        {
            throw new ArgumentOutOfRangeException(nameof(priority), priority, "route priority must be 0 (highest) to 9");
        }

        var tokens = Lexer.Tokenize(text);
        var i = 0;
        Token Next() => tokens[i];
        static RouteCompileException Error(string problem, Token at) => new(problem, at.Column);

        if (Next().Kind == TokenKind.Eof)
        {
            throw new RouteCompileException("empty route: expected FROM {source} [WHERE {condition}] INTO {sink}", 1);
        }

        if (Next().Kind == TokenKind.Select)
        {
            i++;
            if (Next().Kind != TokenKind.Mul)
            {
                throw Error($"expected '*' after SELECT, got {Describe(Next())}", Next());
            }

            i++;
        }

        if (Next().Kind != TokenKind.From)
        {
            throw Error($"expected FROM, got {Describe(Next())}", Next());
        }

        i++;

        // path: ('/' ('*' | ID))+ ; the source is the tokens' text without whitespace (RouteParserListener.ExitSource).
        var sourceStart = Next();
        var source = new System.Text.StringBuilder();
        if (Next().Kind != TokenKind.Div)
        {
            throw Error($"expected a source path starting with '/', such as /messages/*, got {Describe(Next())}", Next());
        }

        while (Next().Kind == TokenKind.Div)
        {
            source.Append('/');
            i++;
            var item = Next();
            if (item.Kind is not (TokenKind.Mul or TokenKind.Id))
            {
                throw Error($"invalid source path segment {Describe(item)}", item);
            }

            source.Append(item.Text);
            i++;
        }

        string? condition = null;
        var eval = AlwaysTrue;
        if (Next().Kind == TokenKind.Where)
        {
            i++;
            (eval, i, condition) = ConditionCompiler.CompileEmbedded(text, tokens, i, TokenKind.Into, source.ToString(), typeCheck);
        }

        if (Next().Kind != TokenKind.Into)
        {
            throw Error($"expected WHERE or INTO, got {Describe(Next())}", Next());
        }

        i++;
        var sink = ParseSink(tokens, ref i);
        if (Next().Kind != TokenKind.Eof)
        {
            throw Error($"unexpected {Describe(Next())} after the sink", Next());
        }

        return new Route(name, text, source.ToString(), condition, sink, priority ?? DefaultPriority, timeToLiveSecs, eval);
    }

    /// <summary>
    /// True when a message with source <paramref name="messageSource"/> comes from this route's source: the route source with a
    /// trailing <c>*</c> removed and one trailing <c>/</c> is a case-insensitive prefix of the message source plus <c>/</c> (docs/protocol.md, "Routes").
    /// </summary>
    public bool SourceMatches(string messageSource)
    {
        ArgumentNullException.ThrowIfNull(messageSource);
        // BaseMessageSource.Match: (messageSource.Trim().TrimEnd('/') + "/").StartsWith(prefix, OrdinalIgnoreCase), without allocating.
        var trimmed = messageSource.AsSpan().Trim().TrimEnd('/');
        var prefix = _sourcePrefix.AsSpan();
        if (prefix.Length == trimmed.Length + 1)
        {
            return trimmed.Equals(prefix[..^1], StringComparison.OrdinalIgnoreCase);
        }

        return prefix.Length <= trimmed.Length && trimmed.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// True when route source <paramref name="routeSource"/> (a FROM path, or any path as edgeHub's CustomMessageSource takes it:
    /// <c>/</c>, <c>/messages/</c>) matches message source <paramref name="messageSource"/>.
    /// </summary>
    public static bool SourceMatches(string routeSource, string messageSource)
    {
        ArgumentNullException.ThrowIfNull(routeSource);
        ArgumentNullException.ThrowIfNull(messageSource);
        return (messageSource.Trim().TrimEnd('/') + "/").StartsWith(NormalizeSource(routeSource), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Evaluates the WHERE condition (<see cref="ConditionResult.True"/> when there is none); the source is not checked.</summary>
    public ConditionResult Evaluate(RoutingMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return _condition(message);
    }

    /// <summary>True when the source matches and the condition evaluates to true: the message goes to <see cref="Sink"/>.</summary>
    public bool IsMatch(RoutingMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return SourceMatches(message.Source) && _condition(message) == ConditionResult.True;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Text}";

    /// <summary>The route source as a prefix: trailing <c>*</c> stripped, trimmed, exactly one trailing <c>/</c> (BaseMessageSource).</summary>
    internal static string NormalizeSource(string source) => source.Trim().TrimEnd('*').Trim().TrimEnd('/') + "/";

    private static RouteSink ParseSink(List<Token> tokens, ref int i)
    {
        var t = tokens[i];
        if (t.Kind == TokenKind.SysProp)
        {
            i++;
            if (string.Equals(t.Text, "$upstream", StringComparison.OrdinalIgnoreCase))
            {
                return UpstreamSink.Instance;
            }

            throw new RouteCompileException($"system endpoint '{t.Text}' not supported: use $upstream", t.Column);
        }

        if (t.Kind == TokenKind.Id && tokens[i + 1].Kind == TokenKind.OpenParen)
        {
            if (!string.Equals(t.Text, "BrokeredEndpoint", StringComparison.OrdinalIgnoreCase))
            {
                throw new RouteCompileException($"function endpoint '{t.Text}' not supported: use BrokeredEndpoint(\"/modules/{{module}}/inputs/{{input}}\")", t.Column);
            }

            var arg = tokens[i + 2];
            if (arg.Kind != TokenKind.String)
            {
                throw new RouteCompileException($"BrokeredEndpoint expects a quoted address such as \"/modules/filter/inputs/input1\", got {Describe(arg)}", arg.Column);
            }

            if (tokens[i + 3].Kind != TokenKind.CloseParen)
            {
                throw new RouteCompileException($"expected ')' after the BrokeredEndpoint address, got {Describe(tokens[i + 3])}", tokens[i + 3].Column);
            }

            i += 4;
            return ParseModuleInput(arg);
        }

        if (t.Kind == TokenKind.Eof)
        {
            throw new RouteCompileException("missing sink after INTO: expected $upstream or BrokeredEndpoint(\"/modules/{module}/inputs/{input}\")", t.Column);
        }

        throw new RouteCompileException($"invalid sink {Describe(t)}: expected $upstream or BrokeredEndpoint(\"/modules/{{module}}/inputs/{{input}}\")", t.Column);
    }

    // EndpointFactory.CreateFunctionEndpoint: the address, trimmed, loses one leading and one trailing '/', then splits into
    // exactly four segments: the second is the module, the fourth the input; edgeHub ignores the words in the first and third
    // ("/a/b/c/d" delivers to module b, input d). The module and input names must not be empty.
    private static ModuleInputSink ParseModuleInput(Token arg)
    {
        var address = arg.Text[1..^1].Trim();
        var a = address;
        if (a.StartsWith('/'))
        {
            a = a[1..];
        }

        if (a.EndsWith('/'))
        {
            a = a[..^1];
        }

        var parts = a.Split('/');
        if (parts.Length != 4 || parts[1].Length == 0 || parts[3].Length == 0)
        {
            throw new RouteCompileException($"invalid BrokeredEndpoint address \"{address}\": expected \"/modules/{{module}}/inputs/{{input}}\"", arg.Column);
        }

        return new ModuleInputSink(parts[1], parts[3]);
    }

    private static string Describe(Token t) => t.Kind == TokenKind.Eof ? "the end of the route" : $"'{t.Text}'";
}

/// <summary>Compiles and evaluates a condition on its own (for tools such as <c>edge route eval</c>).</summary>
public static class RouteCondition
{
    /// <summary>Compiles <paramref name="condition"/> and evaluates it against <paramref name="message"/>.</summary>
    /// <exception cref="RouteCompileException">The condition is invalid; the message says what and at which column.</exception>
    public static ConditionResult Evaluate(string condition, RoutingMessage message)
    {
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentNullException.ThrowIfNull(message);
        return Compile(condition, message.Source)(message);
    }

    /// <summary>
    /// Compiles a condition once for repeated evaluation. <paramref name="routeSource"/> <c>/twinChangeNotifications</c> enables
    /// twin_change_includes; <paramref name="flags"/> defaults to what edgeHub uses (<see cref="RouteCompilerFlags.All"/>).
    /// </summary>
    public static Func<RoutingMessage, ConditionResult> Compile(string condition, string? routeSource = null, RouteCompilerFlags flags = RouteCompilerFlags.All)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return ConditionCompiler.Compile(condition, routeSource, flags);
    }
}
