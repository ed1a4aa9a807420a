namespace Edge.Routing.Tests;

/// <summary>The lexer reproduces ANTLR's longest match over GrammarLexer.g4, so texts split into the tokens edgeHub sees.</summary>
public sealed class LexerTests
{
    [Theory]
    [InlineData("a = 'b'", "Id:a Eq:= String:'b'")]
    [InlineData("a='b'", "Id:a Eq:= String:'b'")]
    [InlineData("a-1", "Id:a-1")] // '-' is an identifier character
    [InlineData("a - 1", "Id:a Minus:- Integer:1")]
    [InlineData("a -1", "Id:a Integer:-1")] // INTEGER_LITERAL carries its sign
    [InlineData("1+2", "Id:1+2")]
    [InlineData("-5", "Integer:-5")]
    [InlineData("-x", "Id:-x")]
    [InlineData("1.5", "Real:1.5")]
    [InlineData("1.5.2", "Id:1.5.2")]
    [InlineData(".5", "Real:.5")]
    [InlineData("2e3", "Real:2e3")]
    [InlineData("-2.5E-3", "Real:-2.5E-3")]
    [InlineData("0x1F", "Hex:0x1F")]
    [InlineData("0x", "Id:0x")]
    [InlineData("true TRUE True", "True:true Id:TRUE Id:True")] // literals are lowercase only
    [InlineData("null undefined", "Null:null Undefined:undefined")]
    [InlineData("AND and aNd ANDx", "And:AND And:and And:aNd Id:ANDx")] // keywords are case-insensitive
    [InlineData("select FROM Where into", "Select:select From:FROM Where:Where Into:into")]
    [InlineData("a!=b", "Id:a! Eq:= Id:b")] // '!' is an identifier character too
    [InlineData("a != b", "Id:a Ne1:!= Id:b")]
    [InlineData("a<>b", "Id:a Ne2:<> Id:b")]
    [InlineData("a<=b a>=b a<b a>b", "Id:a Le:<= Id:b Id:a Ge:>= Id:b Id:a Lt:< Id:b Id:a Gt:> Id:b")]
    [InlineData("a || b", "Id:a Concat:|| Id:b")]
    [InlineData("a||b", "Id:a||b")]
    [InlineData("a ?? b", "Id:a Coalesce:?? Id:b")]
    [InlineData("$body.a[0].b", "SysProp:$body.a[0].b")]
    [InlineData("$body.a>1", "SysProp:$body.a Gt:> Integer:1")]
    [InlineData("{$x}", "OpenBrace:{ SysProp:$x CloseBrace:}")]
    [InlineData("a[0]", "QueryPath:a[0]")]
    [InlineData("'it\\'s'", "String:'it\\'s'")]
    [InlineData("\"a\\u0041\"", "String:\"a\\u0041\"")]
    [InlineData("'open", "UnterminatedString:'open")]
    [InlineData("'a'b", "Id:'a'b")]
    [InlineData("a /* c */ b", "Id:a Id:b")]
    [InlineData("/messages/*", "Div:/ Id:messages Div:/ Mul:*")]
    [InlineData("a @ b", "Id:a Unknown:@ Id:b")]
    [InlineData("f(x, 'y')", "Id:f OpenParen:( Id:x Comma:, String:'y' CloseParen:)")]
    public void Tokenize_Text_GivesEdgeHubTokens(string text, string expected)
    {
        var tokens = Lexer.Tokenize(text);

        tokens[^1].Kind.ShouldBe(TokenKind.Eof);
        string.Join(" ", tokens.SkipLast(1).Select(t => $"{t.Kind}:{t.Text}")).ShouldBe(expected);
    }

    [Fact]
    public void Tokenize_Positions_AreOffsetsIntoTheText()
    {
        var tokens = Lexer.Tokenize("  ab = 'c'");

        tokens.Select(t => t.Column).ShouldBe([3, 6, 8, 11]);
    }

    [Theory]
    [InlineData("a\\'b", "a'b")]
    [InlineData("a\\\"b", "a\"b")]
    [InlineData("a\\\\b", "a\\b")]
    [InlineData("\\u00e9", "é")]
    [InlineData("\\U00E9", "é")]
    [InlineData("plain", "plain")]
    public void Unescape_Escapes_AreDecoded(string raw, string expected)
    {
        Lexer.Unescape(raw).ShouldBe(expected);
    }
}
