namespace Edge.Routing;

/// <summary>Token kinds, in the rule order of Routing.Core's <c>grammar/GrammarLexer.g4</c> (ties in length go to the earlier kind).</summary>
internal enum TokenKind
{
    OpenBrace,
    CloseBrace,
    Select,
    From,
    Where,
    Into,
    String,
    UnterminatedString,
    Integer,
    Hex,
    Real,
    True,
    False,
    Null,
    Undefined,
    OpenParen,
    CloseParen,
    Comma,
    Plus,
    Minus,
    Mul,
    Div,
    Mod,
    And,
    Or,
    Not,
    Eq,
    Ne1,
    Ne2,
    Le,
    Ge,
    Gt,
    Lt,
    Concat,
    Coalesce,
    SysProp,
    Id,
    QueryPath,
    Whitespace,
    Comment,
    Unknown,
    Eof,
}

/// <param name="Kind">The token kind.</param>
/// <param name="Start">0-based offset in the text.</param>
/// <param name="Length">Length in characters.</param>
/// <param name="Text">The token text.</param>
internal readonly record struct Token(TokenKind Kind, int Start, int Length, string Text)
{
    public int Column => Start + 1;

    public int End => Start + Length;
}

/// <summary>
/// The route-language lexer. It reproduces ANTLR's longest-match rule over the token rules of Routing.Core's
/// <c>GrammarLexer.g4</c>, so a text splits into the same tokens edgeHub sees. One consequence users notice:
/// identifiers may contain characters such as <c>- + * ! . '</c>, so <c>a-1</c> is one property name and operators
/// need spaces around them (<c>a - 1</c>), exactly as in edgeHub.
/// </summary>
internal static class Lexer
{
    private const int KindCount = (int)TokenKind.Unknown + 1;

    public static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var pos = 0;
        while (pos < text.Length)
        {
            var bestKind = TokenKind.Unknown;
            var bestLength = 0;
            for (var k = 0; k < KindCount; k++)
            {
                var length = Match((TokenKind)k, text, pos);
                if (length > bestLength)
                {
                    bestLength = length;
                    bestKind = (TokenKind)k;
                }
            }

            if (bestLength == 0)
            {
                bestKind = TokenKind.Unknown;
                bestLength = char.IsSurrogatePair(text, pos) ? 2 : 1;
            }

            if (bestKind is not TokenKind.Whitespace and not TokenKind.Comment)
            {
                tokens.Add(new Token(bestKind, pos, bestLength, text.Substring(pos, bestLength)));
            }

            pos += bestLength;
        }

        tokens.Add(new Token(TokenKind.Eof, text.Length, 0, string.Empty));
        return tokens;
    }

    /// <summary>Unescapes a string literal's contents: <c>\" \' \\</c> and <c>\uXXXX</c> (ConditionVisitor.Unescape).</summary>
    public static string Unescape(string s)
    {
        if (!s.Contains('\\', StringComparison.Ordinal))
        {
            return s;
        }

        var sb = new System.Text.StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '\\' && i + 1 < s.Length)
            {
                var n = s[i + 1];
                if (n is 'u' or 'U' && IsHex(s, i + 2, 4))
                {
                    sb.Append((char)Convert.ToUInt16(s.Substring(i + 2, 4), 16));
                    i += 5;
                    continue;
                }

                if (n is '"' or '\'' or '\\')
                {
                    sb.Append(n);
                    i++;
                    continue;
                }
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    private static bool IsHex(string s, int start, int count)
    {
        if (start + count > s.Length)
        {
            return false;
        }

        for (var i = start; i < start + count; i++)
        {
            if (!char.IsAsciiHexDigit(s[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static int Match(TokenKind kind, string t, int p) => kind switch
    {
        TokenKind.OpenBrace => Literal(t, p, "{"),
        TokenKind.CloseBrace => Literal(t, p, "}"),
        TokenKind.Select => Keyword(t, p, "select"),
        TokenKind.From => Keyword(t, p, "from"),
        TokenKind.Where => Keyword(t, p, "where"),
        TokenKind.Into => Keyword(t, p, "into"),
        TokenKind.String => StringLiteral(t, p, terminated: true),
        TokenKind.UnterminatedString => StringLiteral(t, p, terminated: false),
        TokenKind.Integer => IntegerLiteral(t, p),
        TokenKind.Hex => HexLiteral(t, p),
        TokenKind.Real => RealLiteral(t, p),
        TokenKind.True => Literal(t, p, "true"),
        TokenKind.False => Literal(t, p, "false"),
        TokenKind.Null => Literal(t, p, "null"),
        TokenKind.Undefined => Literal(t, p, "undefined"),
        TokenKind.OpenParen => Literal(t, p, "("),
        TokenKind.CloseParen => Literal(t, p, ")"),
        TokenKind.Comma => Literal(t, p, ","),
        TokenKind.Plus => Literal(t, p, "+"),
        TokenKind.Minus => Literal(t, p, "-"),
        TokenKind.Mul => Literal(t, p, "*"),
        TokenKind.Div => Literal(t, p, "/"),
        TokenKind.Mod => Literal(t, p, "%"),
        TokenKind.And => Keyword(t, p, "and"),
        TokenKind.Or => Keyword(t, p, "or"),
        TokenKind.Not => Keyword(t, p, "not"),
        TokenKind.Eq => Literal(t, p, "="),
        TokenKind.Ne1 => Literal(t, p, "!="),
        TokenKind.Ne2 => Literal(t, p, "<>"),
        TokenKind.Le => Literal(t, p, "<="),
        TokenKind.Ge => Literal(t, p, ">="),
        TokenKind.Gt => Literal(t, p, ">"),
        TokenKind.Lt => Literal(t, p, "<"),
        TokenKind.Concat => Literal(t, p, "||"),
        TokenKind.Coalesce => Literal(t, p, "??"),
        TokenKind.SysProp => t[p] == '$' ? Run(t, p + 1, IsQueryPathChar) is var n && n > 0 ? n + 1 : 0 : 0,
        TokenKind.Id => Run(t, p, IsIdChar),
        TokenKind.QueryPath => Run(t, p, IsQueryPathChar),
        TokenKind.Whitespace => Run(t, p, c => c is ' ' or '\t' or '\r' or '\n'),
        TokenKind.Comment => CommentLiteral(t, p),
        _ => 0,
    };

    // QUERY_PATH_CHARS: ~[()<>@,;:\\"/?={} \t\n\r]
    private static bool IsQueryPathChar(char c) =>
        c is not ('(' or ')' or '<' or '>' or '@' or ',' or ';' or ':' or '\\' or '"' or '/' or '?' or '=' or '{' or '}' or ' ' or '\t' or '\n' or '\r');

    // ID_CHARS: ~[()<>@,;:\\"/[\]?={} \t\n\r]
    private static bool IsIdChar(char c) => c is not ('[' or ']') && IsQueryPathChar(c);

    private static int Run(string t, int p, Func<char, bool> accept)
    {
        var i = p;
        while (i < t.Length && accept(t[i]))
        {
            i++;
        }

        return i - p;
    }

    private static int Literal(string t, int p, string lit) =>
        p + lit.Length <= t.Length && string.CompareOrdinal(t, p, lit, 0, lit.Length) == 0 ? lit.Length : 0;

    private static int Keyword(string t, int p, string lit) =>
        p + lit.Length <= t.Length && string.Compare(t, p, lit, 0, lit.Length, StringComparison.OrdinalIgnoreCase) == 0 ? lit.Length : 0;

    private static int StringLiteral(string t, int p, bool terminated)
    {
        var q = t[p];
        if (q is not ('"' or '\''))
        {
            return 0;
        }

        var i = p + 1;
        while (i < t.Length)
        {
            var c = t[i];
            if (c == q)
            {
                return terminated ? i + 1 - p : 0;
            }

            if (c == '\\')
            {
                // ESC: '\\' (["'\\] | 'u' HEX HEX HEX HEX)
                if (i + 1 < t.Length && t[i + 1] is '"' or '\'' or '\\')
                {
                    i += 2;
                    continue;
                }

                if (i + 1 < t.Length && t[i + 1] == 'u' && IsHex(t, i + 2, 4))
                {
                    i += 6;
                    continue;
                }

                // An invalid escape ends both rules here.
                return terminated ? 0 : i - p;
            }

            i++;
        }

        return terminated ? 0 : i - p;
    }

    private static int Digits(string t, int p) => Run(t, p, char.IsAsciiDigit);

    private static int IntegerLiteral(string t, int p)
    {
        var i = p < t.Length && t[p] == '-' ? p + 1 : p;
        var d = Digits(t, i);
        return d > 0 ? i + d - p : 0;
    }

    private static int HexLiteral(string t, int p)
    {
        if (p + 2 < t.Length && t[p] == '0' && t[p + 1] is 'x' or 'X')
        {
            var h = Run(t, p + 2, char.IsAsciiHexDigit);
            return h > 0 ? h + 2 : 0;
        }

        return 0;
    }

    private static int Exponent(string t, int p)
    {
        if (p < t.Length && t[p] is 'e' or 'E')
        {
            var i = p + 1;
            if (i < t.Length && t[i] is '+' or '-')
            {
                i++;
            }

            var d = Digits(t, i);
            return d > 0 ? i + d - p : 0;
        }

        return 0;
    }

    private static int RealLiteral(string t, int p)
    {
        // '-'? [0-9]* '.' [0-9]+ EXP?  |  '-'? [0-9]* EXP
        var i = p < t.Length && t[p] == '-' ? p + 1 : p;
        i += Digits(t, i);
        var best = 0;
        if (i < t.Length && t[i] == '.')
        {
            var f = Digits(t, i + 1);
            if (f > 0)
            {
                var j = i + 1 + f;
                best = j + Exponent(t, j) - p;
            }
        }

        var e = Exponent(t, i);
        if (e > 0)
        {
            best = Math.Max(best, i + e - p);
        }

        return best;
    }

    private static int CommentLiteral(string t, int p)
    {
        if (p + 1 < t.Length && t[p] == '/' && t[p + 1] == '*')
        {
            var end = t.IndexOf("*/", p + 2, StringComparison.Ordinal);
            return end < 0 ? 0 : end + 2 - p;
        }

        return 0;
    }
}
