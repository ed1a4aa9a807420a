namespace Edge.Routing.Tests;

public sealed class RouteSmokeTests
{
    [Fact]
    public void Parse_CaptureToInference_MatchesFramesOnly()
    {
        var route = Route.Parse("captureToInference", "FROM /messages/modules/camera/outputs/frames INTO BrokeredEndpoint(\"/modules/inference/inputs/frames\")");

        route.Sink.ShouldBe(new ModuleInputSink("inference", "frames"));
        route.Sink.ToString().ShouldBe("BrokeredEndpoint(\"/modules/inference/inputs/frames\")");
        route.Priority.ShouldBe(Route.DefaultPriority);
        route.IsMatch(Msg.Create()).ShouldBeTrue();
        route.IsMatch(Msg.Create(source: "/messages/modules/camera/outputs/health")).ShouldBeFalse();
    }

    [Fact]
    public void Parse_WhereOnBodyAndProperty_EvaluatesThreeValued()
    {
        var route = Route.Parse("alerts", "SELECT * FROM /messages/modules/inference/outputs/* WHERE $body.faces > 0 AND severity = 'high' INTO $upstream", 0, 60);

        route.Sink.ShouldBeOfType<UpstreamSink>();
        route.Priority.ShouldBe(0);
        route.TimeToLiveSecs.ShouldBe(60u);
        route.Condition.ShouldBe("$body.faces > 0 AND severity = 'high'");
        var hit = Msg.Json("{\"faces\":2}", "severity=high") with { Source = "/messages/modules/inference/outputs/detections" };
        route.IsMatch(hit).ShouldBeTrue();
        route.Evaluate(Msg.Json("{\"faces\":2}")).ShouldBe(ConditionResult.Undefined);
        route.Evaluate(Msg.Json("{\"faces\":0}")).ShouldBe(ConditionResult.False);
    }

    [Fact]
    public void Parse_PropertyComparedWithNumber_ThrowsWithColumn()
    {
        var ex = Should.Throw<RouteCompileException>(() => Route.Parse("r", "FROM /messages/* WHERE severity > 3 INTO $upstream"));

        ex.Column.ShouldBe(33);
        ex.Message.ShouldContain("as_number");
    }

    [Fact]
    public void Evaluate_AsNumber_ComparesNumerically()
    {
        RouteCondition.Evaluate("as_number(severity) > 3", Msg.Create(props: "severity=10")).ShouldBe(ConditionResult.True);
    }
}
