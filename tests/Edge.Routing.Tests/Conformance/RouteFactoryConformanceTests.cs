namespace Edge.Routing.Tests.Conformance;

/// <summary>
/// upstream: Routing.Core.Test routeFactory/RouteFactoryTest (TestParseRouteWithFunctionEndpoint, TestParseRouteWithSystemEndpoint,
/// TestInvalidRoutes), every row: the source, condition and sink a route parses into, or that it does not parse.
/// </summary>
public sealed class RouteFactoryConformanceTests
{
    public static TheoryData<string, string, string?, string?, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string, string?, string?, string>();
            foreach (var r in UpstreamCases.Rows("RouteFactoryTest.jsonl"))
            {
                data.Add(r[0]!, r[1]!, r[2], r[3], r[4]!);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Parse_UpstreamCase_AgreesWithEdgeHub(string upstreamMethod, string route, string? source, string? condition, string sink)
    {
        if (sink == "Error")
        {
            Should.Throw<RouteCompileException>(() => Route.Parse("r", route), upstreamMethod);
            return;
        }

        // RouteFactory parses without compiling the condition; edgeHub's Evaluator compiles it when it installs the route and
        // refuses the configuration when that fails. Four rows compare property strings with numbers (temp >= 200): they parse,
        // and the compiler rejects them, on the device as here.
        var parsed = Route.Parse("r", route, null, 0, typeCheck: false);
        var typeChecks = condition is null || !condition.Contains("temp ", StringComparison.Ordinal);
        if (typeChecks)
        {
            Route.Parse("r", route).Condition.ShouldBe(parsed.Condition);
        }
        else
        {
            Should.Throw<RouteCompileException>(() => Route.Parse("r", route)).Message.ShouldContain("as_number");
        }

        // CustomMessageSource equality: the same path once '*', surrounding blanks and trailing '/' are normalized.
        Route.NormalizeSource(parsed.Source).ShouldBe(Route.NormalizeSource(source!), StringCompareShould.IgnoreCase);
        (parsed.Condition ?? "true").ShouldBe(condition);
        if (sink == "$upstream")
        {
            parsed.Sink.ShouldBe(UpstreamSink.Instance);
        }
        else
        {
            // [function, address]: EndpointFactory.CreateFunctionEndpoint takes the second and fourth segment.
            var address = sink.Split('\u001f')[1].Trim('/').Split('/');
            parsed.Sink.ShouldBe(new ModuleInputSink(address[1], address[3]));
        }
    }
}
