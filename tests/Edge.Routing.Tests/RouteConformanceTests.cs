using System.Text;

namespace Edge.Routing.Tests;

/// <summary>Route syntax, sources, sinks and invalid routes (docs/protocol.md, "Routes"; Routing.Core Route.g4, RouteFactory, EndpointFactory).</summary>
public sealed class RouteConformanceTests
{
    [Theory]
    [InlineData("FROM /messages/* INTO $upstream", "/messages/*", null, "$upstream")]
    [InlineData("SELECT * FROM /messages/* INTO $upstream", "/messages/*", null, "$upstream")]
    [InlineData("select * from /messages/* into $upstream", "/messages/*", null, "$upstream")]
    [InlineData("Select * From /messages/* Into $UPSTREAM", "/messages/*", null, "$upstream")]
    [InlineData("FROM /* INTO $upstream", "/*", null, "$upstream")]
    [InlineData("FROM /messages INTO $upstream", "/messages", null, "$upstream")]
    [InlineData("FROM /messages/modules/camera/outputs/frames INTO BrokeredEndpoint(\"/modules/inference/inputs/frames\")", "/messages/modules/camera/outputs/frames", null, "BrokeredEndpoint(\"/modules/inference/inputs/frames\")")]
    [InlineData("FROM /messages/modules/camera/outputs/frames INTO brokeredendpoint('/modules/inference/inputs/frames')", "/messages/modules/camera/outputs/frames", null, "BrokeredEndpoint(\"/modules/inference/inputs/frames\")")]
    [InlineData("FROM /messages/modules/camera/outputs/frames INTO BROKEREDENDPOINT(\"modules/inference/inputs/frames\")", "/messages/modules/camera/outputs/frames", null, "BrokeredEndpoint(\"/modules/inference/inputs/frames\")")]
    [InlineData("FROM /messages/modules/camera/outputs/frames INTO BrokeredEndpoint(\"/modules/inference/inputs/frames/\")", "/messages/modules/camera/outputs/frames", null, "BrokeredEndpoint(\"/modules/inference/inputs/frames\")")]
    [InlineData("FROM /messages/modules/camera/outputs/frames INTO BrokeredEndpoint(\" /modules/inference/inputs/frames \")", "/messages/modules/camera/outputs/frames", null, "BrokeredEndpoint(\"/modules/inference/inputs/frames\")")]
    [InlineData("FROM /messages/modules/camera/outputs/frames INTO BrokeredEndpoint ( \"/modules/inference/inputs/frames\" )", "/messages/modules/camera/outputs/frames", null, "BrokeredEndpoint(\"/modules/inference/inputs/frames\")")]
    [InlineData("FROM /messages/modules/inference/outputs/* WHERE $body.faces > 0 INTO $upstream", "/messages/modules/inference/outputs/*", "$body.faces > 0", "$upstream")]
    [InlineData("FROM /messages/* WHERE NOT is_defined($connectionModuleId) INTO $upstream", "/messages/*", "NOT is_defined($connectionModuleId)", "$upstream")]
    [InlineData("FROM /messages/* where severity = 'high' and $body.x = 1 into $upstream", "/messages/*", "severity = 'high' and $body.x = 1", "$upstream")]
    [InlineData("FROM /messages/*  WHERE  (a = 'b')  INTO $upstream", "/messages/*", "(a = 'b')", "$upstream")]
    [InlineData("\n  FROM /messages/modules/camera/*\n  WHERE $outputName = 'health'\n  INTO $upstream\n", "/messages/modules/camera/*", "$outputName = 'health'", "$upstream")]
    [InlineData("FROM /messages /modules/ camera INTO $upstream", "/messages/modules/camera", null, "$upstream")] // the source is its tokens without whitespace
    [InlineData("/* capture to cloud */ FROM /messages/modules/camera/* INTO $upstream", "/messages/modules/camera/*", null, "$upstream")]
    [InlineData("FROM /messages/modules/camera-01/outputs/out_1 INTO BrokeredEndpoint(\"/modules/my-filter/inputs/in.1\")", "/messages/modules/camera-01/outputs/out_1", null, "BrokeredEndpoint(\"/modules/my-filter/inputs/in.1\")")]
    [InlineData("FROM /twinChangeNotifications WHERE twin_change_includes(properties.reported.fps) INTO $upstream", "/twinChangeNotifications", "twin_change_includes(properties.reported.fps)", "$upstream")]
    public void Parse_ValidRoute_GivesSourceConditionAndSink(string text, string source, string? condition, string sink)
    {
        var route = Route.Parse("r", text);

        route.Name.ShouldBe("r");
        route.Text.ShouldBe(text);
        route.Source.ShouldBe(source);
        route.Condition.ShouldBe(condition);
        route.Sink.ToString().ShouldBe(sink);
    }

    [Fact]
    public void Parse_ModuleInputSink_ExposesModuleAndInput()
    {
        var route = Route.Parse("r", "FROM /messages/* INTO BrokeredEndpoint(\"/modules/Inference/inputs/Frames\")");

        route.Sink.ShouldBe(new ModuleInputSink("Inference", "Frames"));
        Route.Parse("u", "FROM /messages/* INTO $upstream").Sink.ShouldBeSameAs(UpstreamSink.Instance);
        new UpstreamSink().ShouldBe(UpstreamSink.Instance);
    }

    [Theory]
    [InlineData(null, Route.DefaultPriority)]
    [InlineData(0, 0)]
    [InlineData(9, 9)]
    public void Parse_Priority_DefaultsTo2Billion(int? priority, int expected)
    {
        Route.Parse("r", "FROM /messages/* INTO $upstream", priority).Priority.ShouldBe(expected);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(10)]
    public void Parse_PriorityOutOfRange_Throws(int priority)
    {
        Should.Throw<ArgumentOutOfRangeException>(() => Route.Parse("r", "FROM /messages/* INTO $upstream", priority));
    }

    [Fact]
    public void Parse_TimeToLive_IsKept()
    {
        Route.Parse("r", "FROM /messages/* INTO $upstream", 1, 86400).TimeToLiveSecs.ShouldBe(86400u);
        Route.Parse("r", "FROM /messages/* INTO $upstream").TimeToLiveSecs.ShouldBe(0u);
    }

    [Theory]
    // ---- structure
    [InlineData("", "empty route", 1)]
    [InlineData("   ", "empty route", 1)]
    [InlineData("/* only a comment */", "empty route", 1)]
    [InlineData("INTO $upstream", "expected FROM", 1)]
    [InlineData("SELECT FROM /messages INTO $upstream", "expected '*' after SELECT", 8)]
    [InlineData("SELECT a FROM /messages INTO $upstream", "expected '*' after SELECT", 8)]
    [InlineData("FROM INTO $upstream", "expected a source path", 6)]
    [InlineData("FROM messages INTO $upstream", "expected a source path", 6)]
    [InlineData("FROM /messages/ INTO $upstream", "invalid source path segment 'INTO'", 17)]
    [InlineData("FROM /messages//modules INTO $upstream", "invalid source path segment '/'", 16)]
    [InlineData("FROM /messages", "expected WHERE or INTO", 15)]
    [InlineData("FROM /messages $upstream", "expected WHERE or INTO", 16)]
    [InlineData("FROM /messages INTO", "missing sink", 20)]
    [InlineData("FROM /messages WHERE INTO $upstream", "empty condition", 22)]
    [InlineData("FROM /messages WHERE true", "expected an operator or INTO", 26)]
    [InlineData("FROM /messages WHERE true $upstream", "expected an operator or INTO", 27)]
    [InlineData("FROM /messages INTO $upstream extra", "unexpected 'extra' after the sink", 31)]
    [InlineData("FROM /messages INTO $upstream INTO $upstream", "after the sink", 31)]
    [InlineData("FROM /messages/modules/from INTO $upstream", "invalid source path segment 'from'", 24)] // keywords cannot be path segments
    // ---- sinks
    [InlineData("FROM /messages INTO $downstream", "system endpoint '$downstream' not supported", 21)]
    [InlineData("FROM /messages INTO $local", "not supported", 21)]
    [InlineData("FROM /messages INTO upstream", "invalid sink 'upstream'", 21)]
    [InlineData("FROM /messages INTO 'x'", "invalid sink", 21)]
    [InlineData("FROM /messages INTO Endpoint(\"/modules/a/inputs/b\")", "function endpoint 'Endpoint' not supported", 21)]
    [InlineData("FROM /messages INTO BrokeredEndpoint(/modules/a/inputs/b)", "expects a quoted address", 38)]
    [InlineData("FROM /messages INTO BrokeredEndpoint(\"/modules/a/inputs/b\"", "expected ')'", 59)]
    [InlineData("FROM /messages INTO BrokeredEndpoint(\"/modules/a/inputs\")", "invalid BrokeredEndpoint address", 38)]
    [InlineData("FROM /messages INTO BrokeredEndpoint(\"/modules/a/inputs/b/c\")", "invalid BrokeredEndpoint address", 38)]
    [InlineData("FROM /messages INTO BrokeredEndpoint(\"//modules/a/inputs/b\")", "invalid BrokeredEndpoint address", 38)]
    [InlineData("FROM /messages INTO BrokeredEndpoint(\"/modules//inputs/b\")", "invalid BrokeredEndpoint address", 38)]
    [InlineData("FROM /messages INTO BrokeredEndpoint(\"\")", "invalid BrokeredEndpoint address", 38)]
    [InlineData("FROM /messages INTO BrokeredEndpoint(\"/modules/a/inputs/b)", "expects a quoted address", 38)]
    // ---- conditions inside routes: columns are in the route text
    [InlineData("FROM /messages WHERE severity > 3 INTO $upstream", "as_number", 31)]
    [InlineData("FROM /messages WHERE $twin.tags.x = 'a' INTO $upstream", "$twin", 22)]
    [InlineData("FROM /messages WHERE {$twin.properties.desired.x} = 'a' INTO $upstream", "$twin", 23)]
    [InlineData("FROM /messages WHERE twin_change_includes(properties.reported.x) INTO $upstream", "only valid in routes FROM /twinChangeNotifications", 22)]
    [InlineData("FROM /twinChangeNotifications WHERE twin_change_includes(x) INTO $upstream", "invalid argument to twin_change_includes", 37)]
    [InlineData("FROM /messages WHERE (a = 'b' INTO $upstream", "missing closing ')'", 22)]
    public void Parse_InvalidRoute_ThrowsWithProblemAndColumn(string text, string problem, int column)
    {
        var ex = Should.Throw<RouteCompileException>(() => Route.Parse("r", text));

        ex.Message.ShouldContain(problem, Case.Sensitive, $"route: {text}");
        ex.Column.ShouldBe(column, $"route: {text} → {ex.Message}");
    }

    [Theory]
    // route source, message source, matches (BaseMessageSource.Match after stripping '*')
    [InlineData("/*", "/messages", true)]
    [InlineData("/*", "/messages/modules/camera/outputs/frames", true)]
    [InlineData("/*", "/twinChangeNotifications", true)]
    [InlineData("/messages/*", "/messages", true)]
    [InlineData("/messages/*", "/messages/modules/camera", true)]
    [InlineData("/messages/*", "/messages/modules/camera/outputs/frames", true)]
    [InlineData("/messages/*", "/twinChangeNotifications", false)]
    [InlineData("/messages", "/messages/modules/camera/outputs/frames", true)] // prefix match
    [InlineData("/messages", "/messagesX", false)] // whole segments only
    [InlineData("/messages/modules/*", "/messages", false)]
    [InlineData("/messages/modules/*", "/messages/modules/camera/outputs/frames", true)]
    [InlineData("/messages/modules/camera/*", "/messages/modules/camera", true)] // with or without an output
    [InlineData("/messages/modules/camera/*", "/messages/modules/camera/outputs/frames", true)]
    [InlineData("/messages/modules/camera/*", "/messages/modules/camera2/outputs/frames", false)]
    [InlineData("/messages/modules/camera", "/messages/modules/camera2", false)]
    [InlineData("/messages/modules/camera/outputs/*", "/messages/modules/camera", false)]
    [InlineData("/messages/modules/camera/outputs/*", "/messages/modules/camera/outputs/frames", true)]
    [InlineData("/messages/modules/camera/outputs/*", "/messages/modules/camera/outputs/health", true)]
    [InlineData("/messages/modules/camera/outputs/frames", "/messages/modules/camera/outputs/frames", true)]
    [InlineData("/messages/modules/camera/outputs/frames", "/messages/modules/camera/outputs/health", false)]
    [InlineData("/messages/modules/camera/outputs/frames", "/messages/modules/camera/outputs/framesX", false)]
    [InlineData("/messages/modules/camera/outputs/frames", "/messages/modules/camera", false)]
    [InlineData("/messages/modules/Camera/outputs/Frames", "/messages/modules/camera/outputs/frames", true)] // case-insensitive
    [InlineData("/MESSAGES/*", "/messages/modules/camera", true)]
    [InlineData("/messages/modules/camera/outputs/frames", "/messages/modules/camera/outputs/frames/", true)] // one trailing '/' is normalised
    [InlineData("/messages/modules/camera/outputs/frames", " /messages/modules/camera/outputs/frames ", true)] // and whitespace trimmed
    [InlineData("/messages/modules/cam*", "/messages/modules/cam", true)] // '*' is stripped, then whole segments
    [InlineData("/messages/modules/cam*", "/messages/modules/camera", false)]
    [InlineData("/twinChangeNotifications", "/twinChangeNotifications", true)]
    [InlineData("/twinChangeNotifications", "/messages", false)]
    public void SourceMatches_PrefixRule_MatchesEdgeHub(string routeSource, string messageSource, bool expected)
    {
        var route = Route.Parse("r", $"FROM {routeSource} INTO $upstream");

        route.SourceMatches(messageSource).ShouldBe(expected, $"{routeSource} vs {messageSource}");
    }

    [Theory]
    [InlineData("/messages/modules/camera/outputs/frames", "{\"faces\":1}", true)]
    [InlineData("/messages/modules/camera/outputs/frames", "{\"faces\":0}", false)] // condition false
    [InlineData("/messages/modules/camera/outputs/frames", "{}", true)] // edgeHub: a missing $body value is null, and null orders after every number
    [InlineData("/messages/modules/camera/outputs/frames", "{\"faces\":\"1\"}", true)] // and strings order after numbers too
    [InlineData("/messages/modules/other/outputs/frames", "{\"faces\":1}", false)] // source
    public void IsMatch_SourceAndCondition_BothMustHold(string source, string body, bool expected)
    {
        var route = Route.Parse("r", "FROM /messages/modules/camera/* WHERE $body.faces > 0 INTO $upstream");
        var message = Msg.Json(body) with { Source = source };

        route.IsMatch(message).ShouldBe(expected);
    }

    [Fact]
    public void Evaluate_RouteWithoutWhere_IsTrueForAnyMessage()
    {
        var route = Route.Parse("r", "FROM /messages/* INTO $upstream");

        route.Evaluate(Msg.Create()).ShouldBe(ConditionResult.True);
        route.Evaluate(Msg.Create(source: "/twinChangeNotifications")).ShouldBe(ConditionResult.True); // the source is not checked
    }

    [Fact]
    public void Evaluate_TwinChangeIncludes_TrueWhenTheNotificationHasThePath()
    {
        var route = Route.Parse("twin", "FROM /twinChangeNotifications WHERE twin_change_includes(properties.reported.fps) INTO $upstream");
        // edgeHub's twin-change notifications are declared JSON (contentType application/json, contentEncoding utf-8).
        var withFps = new RoutingMessage("/twinChangeNotifications", Encoding.UTF8.GetBytes("{\"properties\":{\"reported\":{\"fps\":15}}}"), new Dictionary<string, string>(),
            new Dictionary<string, string> { ["contentType"] = "application/json", ["contentEncoding"] = "utf-8" });
        var withoutFps = withFps with { Body = Encoding.UTF8.GetBytes("{\"properties\":{\"reported\":{\"status\":\"ok\"}}}") };

        route.IsMatch(withFps).ShouldBeTrue();
        route.IsMatch(withoutFps).ShouldBeFalse();
        route.IsMatch(withFps with { Body = Encoding.UTF8.GetBytes("not json") }).ShouldBeFalse();
        route.Evaluate(withFps with { Body = Encoding.UTF8.GetBytes("not json") }).ShouldBe(ConditionResult.Undefined);
        route.Evaluate(withFps with { SystemProperties = new Dictionary<string, string>() }).ShouldBe(ConditionResult.Undefined); // not declared JSON
    }

    [Fact]
    public void Parse_CommentInsideCondition_IsIgnored()
    {
        var route = Route.Parse("r", "FROM /messages/modules/camera/outputs/frames WHERE severity = 'high' /* alerts only */ AND $body.faces > 0 INTO $upstream");

        route.IsMatch(Msg.Json("{\"faces\":1}", "severity=high")).ShouldBeTrue();
        route.IsMatch(Msg.Json("{\"faces\":1}", "severity=low")).ShouldBeFalse();
    }

    [Fact]
    public void Parse_CommentOpenedRightAfterSourceStar_SwallowsTextLikeEdgeHub()
    {
        // GrammarLexer: '/*' after "/messages" starts a comment that runs to the next '*/', so the WHERE clause disappears.
        var route = Route.Parse("r", "FROM /messages/* WHERE severity = 'x' /* note */ INTO $upstream");

        route.Source.ShouldBe("/messages");
        route.Condition.ShouldBeNull();
    }

    [Fact]
    public void Sink_ToString_ParsesBackToTheSameSink()
    {
        RouteSink[] sinks = [UpstreamSink.Instance, new ModuleInputSink("inference", "frames"), new ModuleInputSink("a-b", "c.d")];

        foreach (var sink in sinks)
        {
            Route.Parse("r", $"FROM /messages/* INTO {sink}").Sink.ShouldBe(sink);
        }
    }

    [Fact]
    public void ToString_GivesNameAndText()
    {
        Route.Parse("toCloud", "FROM /messages/* INTO $upstream").ToString().ShouldBe("toCloud: FROM /messages/* INTO $upstream");
    }
}
