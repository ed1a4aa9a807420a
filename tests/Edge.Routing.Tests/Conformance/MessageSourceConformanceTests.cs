namespace Edge.Routing.Tests.Conformance;

/// <summary>
/// upstream: Routing.Core.Test MessageSourceTest, every pattern row and the three facts on the built-in sources: which message
/// sources a route source (CustomMessageSource.Create) matches. Telemetry is <c>/messages</c>, a module output
/// <c>/messages/modules/ModId1/outputs/Op1</c>, twin-change notifications <c>/twinChangeNotifications</c>.
/// (MessageSourceRoundtripTest serializes source objects with Json.NET; this project has no serialized sources.)
/// </summary>
public sealed class MessageSourceConformanceTests
{
    private const string Telemetry = "/messages";
    private const string Module1 = "/messages/modules/ModId1/outputs/Op1";
    private const string Twin = "/twinChangeNotifications";

    public static TheoryData<string, string, string, string> Patterns
    {
        get
        {
            var data = new TheoryData<string, string, string, string>();
            foreach (var r in UpstreamCases.Rows("MessageSourceTest.jsonl"))
            {
                data.Add(r[0]!, r[1]!, r[2]!, r[3]!);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Patterns))]
    public void SourceMatches_UpstreamPattern_AgreesWithEdgeHub(string upstreamMethod, string routeSource, string messageSource, string matches)
    {
        Route.SourceMatches(routeSource, messageSource).ShouldBe(bool.Parse(matches), $"{upstreamMethod}: {routeSource} vs {messageSource}");

        // A route written with that source (where the route grammar allows it: a segment after every '/') agrees.
        if (!routeSource.EndsWith('/'))
        {
            Route.Parse("r", $"FROM {routeSource} INTO $upstream").SourceMatches(messageSource).ShouldBe(bool.Parse(matches));
        }
    }

    [Theory]
    [InlineData("TestTelemetryMessageSource", Telemetry, Telemetry, true)]
    [InlineData("TestTelemetryMessageSource", Telemetry, Twin, false)]
    [InlineData("TestTelemetryMessageSource", Telemetry, Module1, true)]
    [InlineData("TestModuleMessageSource", Module1, Telemetry, false)]
    [InlineData("TestModuleMessageSource", Module1, Twin, false)]
    [InlineData("TestModuleMessageSource", Module1, Module1, true)]
    [InlineData("TestModuleMessageSource", Module1, "/messages/modules/ModId2/outputs/Op2", false)]
    [InlineData("TestModuleMessageSource", "/messages/modules/ModId2/outputs/Op2", Module1, false)]
    [InlineData("TestTwinChangeEventMessageSource", Twin, Twin, true)]
    [InlineData("TestTwinChangeEventMessageSource", Twin, Telemetry, false)]
    [InlineData("TestTwinChangeEventMessageSource", Twin, Module1, false)]
    public void SourceMatches_UpstreamFact_AgreesWithEdgeHub(string upstreamMethod, string routeSource, string messageSource, bool matches) =>
        Route.SourceMatches(routeSource, messageSource).ShouldBe(matches, $"MessageSourceTest.{upstreamMethod}: {routeSource} vs {messageSource}");
}
