using System.Text;

namespace Edge.Routing.Tests;

/// <summary>$body evaluation against message bodies: content type and encoding, JSON edge cases, caching, and message equality.</summary>
public sealed class BodyEvaluationTests
{
    [Theory]
    [InlineData("$body.faces = 2", "application/json", "utf-8", "true")]
    [InlineData("$body.faces = 2", "APPLICATION/JSON", "UTF-8", "true")]
    [InlineData("$body.faces = 2", "application/json", "utf-16", "true")]
    [InlineData("$body.faces = 2", "application/json", "utf-32", "true")]
    [InlineData("$body.faces = 2", "application/json; charset=utf-8", "utf-8", "undefined")]
    [InlineData("$body.faces = 2", "text/plain", "utf-8", "undefined")]
    [InlineData("$body.faces = 2", "application/json", "ascii", "undefined")]
    [InlineData("$body.faces = 2", "application/json", "gzip", "undefined")]
    [InlineData("$body.faces = 2", "application/json", null, "undefined")]
    [InlineData("$body.faces = 2", null, "utf-8", "undefined")]
    [InlineData("is_defined($body.faces)", "text/plain", "utf-8", "false")]
    public void Evaluate_BodyQuery_RequiresJsonContentTypeAndUnicodeEncoding(string condition, string? contentType, string? contentEncoding, string expected)
    {
        var sys = new Dictionary<string, string>();
        if (contentType is not null)
        {
            sys["contentType"] = contentType;
        }

        if (contentEncoding is not null)
        {
            sys["contentEncoding"] = contentEncoding;
        }

        var encoding = contentEncoding?.ToUpperInvariant() switch
        {
            "UTF-16" => Encoding.Unicode,
            "UTF-32" => Encoding.UTF32,
            _ => Encoding.UTF8,
        };
        var message = new RoutingMessage("/messages", encoding.GetBytes("{\"faces\":2}"), new Dictionary<string, string>(), sys);

        ConditionConformanceTests.ToText(RouteCondition.Evaluate(condition, message)).ShouldBe(expected);
    }

    [Theory]
    [InlineData("{\"a\":1,\"a\":2}", "$body.a = 2", "true")] // a duplicated name resolves to the last one
    [InlineData("{\"f\\u0061ces\":3}", "$body.faces = 3", "true")] // escaped names are compared unescaped
    [InlineData("{\"s\":\"tab\\there\"}", "$body.s = concat('tab', '\\u0009', 'here')", "true")] // escaped values too
    [InlineData("{\"a\":[{\"b\":1},{\"b\":2}]}", "$body.a[1].b = 2", "true")]
    [InlineData("{\"a\":[]}", "is_defined($body.a[0])", "true")] // out of range: null, which is defined
    [InlineData("{\"a\":1} trailing", "is_defined($body.a)", "false")] // not one JSON value: the whole body is invalid
    [InlineData("{\"a\":1} {\"a\":2}", "is_defined($body.a)", "false")]
    [InlineData("{\"a\":1, \"b\":", "is_defined($body.a)", "false")] // broken after the queried value
    [InlineData("[1,2]", "is_defined($body.a)", "false")]
    [InlineData("\"text\"", "is_defined($body.a)", "false")]
    [InlineData("  {\"a\" : -1.5e2 }  ", "$body.a = -150", "true")]
    [InlineData("{\"big\":123456789012345678901234567890}", "$body.big > 1e29", "true")]
    [InlineData("{\"t\":true,\"n\":null}", "$body.t AND is_null($body.n)", "true")]
    public void Evaluate_BodyJson_EdgeCases(string body, string condition, string expected)
    {
        ConditionConformanceTests.ToText(RouteCondition.Evaluate(condition, Msg.Json(body))).ShouldBe(expected);
    }

    [Theory]
    [InlineData("{\"faces\":")]
    [InlineData("not json")]
    [InlineData("")]
    public void Evaluate_BodyQueryOnMalformedJson_IsUndefinedNotAnError(string body)
    {
        var message = Msg.Create(body, null, "sys:contentType=application/json", "sys:contentEncoding=utf-8");

        RouteCondition.Evaluate("$body.faces = 2", message).ShouldBe(ConditionResult.Undefined);
        RouteCondition.Evaluate("is_defined($body.faces)", message).ShouldBe(ConditionResult.False);
    }

    [Fact]
    public void Evaluate_Utf8BodyWithByteOrderMark_IsParsed()
    {
        byte[] body = [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes("{\"faces\":3}")];
        var message = new RoutingMessage("/messages", body, new Dictionary<string, string>(), new Dictionary<string, string> { ["contentType"] = "application/json", ["contentEncoding"] = "utf-8" });

        RouteCondition.Evaluate("$body.faces = 3", message).ShouldBe(ConditionResult.True);
    }

    [Fact]
    public void Evaluate_MessageWithChangedBody_DoesNotReuseTheParsedBodyOfTheOriginal()
    {
        var original = Msg.Json("{\"faces\":1}");
        RouteCondition.Evaluate("$body.faces = 1", original).ShouldBe(ConditionResult.True);

        var changed = original with { Body = Encoding.UTF8.GetBytes("{\"faces\":5}") };

        RouteCondition.Evaluate("$body.faces = 5", changed).ShouldBe(ConditionResult.True);
        RouteCondition.Evaluate("$body.faces = 1", original).ShouldBe(ConditionResult.True);
    }

    [Fact]
    public void Compile_OnceEvaluateConcurrently_GivesTheSameResults()
    {
        var condition = RouteCondition.Compile("$body.faces > 1 AND starts_with(name, 'Cam') AND as_number(level) = 5");
        var messages = Enumerable.Range(0, 200).Select(i => Msg.Json($"{{\"faces\":{i % 4}}}", "name=Camera", "level=5")).ToArray();

        var results = new ConditionResult[messages.Length];
        Parallel.For(0, messages.Length, i => results[i] = condition(messages[i]));

        for (var i = 0; i < messages.Length; i++)
        {
            results[i].ShouldBe(i % 4 > 1 ? ConditionResult.True : ConditionResult.False);
        }
    }

    [Fact]
    public void RoutingMessage_Equality_ComparesContentsNotTheBodyCache()
    {
        var a = Msg.Json("{\"x\":1}", "k=v");
        var b = Msg.Json("{\"x\":1}", "k=v");
        RouteCondition.Evaluate("$body.x = 1", a).ShouldBe(ConditionResult.True);

        a.ShouldBe(b);
        a.GetHashCode().ShouldBe(b.GetHashCode());
        a.ShouldNotBe(Msg.Json("{\"x\":2}", "k=v"));
        a.ShouldNotBe(Msg.Json("{\"x\":1}", "k=w"));
    }

    [Fact]
    public void RoutingMessage_Create_KeepsNullValuedPropertiesApart()
    {
        var m = RoutingMessage.Create(
            "/messages",
            Array.Empty<byte>(),
            new Dictionary<string, string?> { ["a"] = "1", ["n"] = null },
            new Dictionary<string, string?> { ["s"] = null });

        m.Properties.ShouldBe(new Dictionary<string, string> { ["a"] = "1" });
        m.NullProperties.ShouldBe(["n"]);
        m.NullSystemProperties.ShouldBe(["s"]);
        m.ShouldBe(RoutingMessage.Create("/messages", Array.Empty<byte>(), new Dictionary<string, string?> { ["n"] = null, ["a"] = "1" }, new Dictionary<string, string?> { ["s"] = null }));
        m.ShouldNotBe(m with { NullProperties = [] });
        RouteCondition.Evaluate("is_null(N) AND is_null($S) AND A = '1'", m).ShouldBe(ConditionResult.True);
    }
}
