namespace Edge.Routing.Tests.Conformance;

/// <summary>
/// upstream: Edge.Hub.Core.Test routing/EndpointFactoryTest, every case, as route sinks: <c>$upstream</c> is the one system
/// endpoint (case-insensitive), and <c>BrokeredEndpoint</c> takes any address of four segments once one leading and one
/// trailing '/' are removed, delivering to the second (module) and fourth (input).
/// </summary>
public sealed class EndpointFactoryConformanceTests
{
    public static TheoryData<string, string?, string?, string> Cases
    {
        get
        {
            var data = new TheoryData<string, string?, string?, string>();
            foreach (var r in UpstreamCases.Rows("EndpointFactoryTest.jsonl"))
            {
                data.Add(r[0]!, r[1], r[2], r[3]!);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sink_UpstreamCase_AgreesWithEdgeHub(string upstreamMethod, string? endpoint, string? address, string expected)
    {
        var sink = address is null ? endpoint ?? string.Empty : $"{endpoint}(\"{address}\")";
        var route = $"FROM /messages INTO {sink}";

        if (expected == "Error")
        {
            Should.Throw<RouteCompileException>(() => Route.Parse("r", route), $"{upstreamMethod}: {route}");
            return;
        }

        var parsed = Route.Parse("r", route).Sink;
        if (expected == "$upstream")
        {
            parsed.ShouldBe(UpstreamSink.Instance);
        }
        else
        {
            var parts = expected.Split('/');
            parsed.ShouldBe(new ModuleInputSink(parts[0], parts[1]));
        }
    }

    /// <summary>upstream: EndpointFactoryTest.TestCreateSystemEndpoint and TestCreateDuplicateFunctionsEndpoint: one endpoint per address.</summary>
    [Fact]
    public void Sink_SameAddress_IsTheSameEndpoint()
    {
        Route.Parse("a", "FROM /messages INTO $upstream").Sink.ShouldBeSameAs(Route.Parse("b", "FROM /messages INTO $upstream").Sink);
        var in1 = Route.Parse("a", "FROM /messages INTO BrokeredEndpoint(\"/modules/alertLogic/inputs/in1\")").Sink;
        in1.ShouldBe(Route.Parse("b", "FROM /messages INTO BrokeredEndpoint(\"/modules/alertLogic/inputs/in1\")").Sink);
        in1.ShouldNotBe(Route.Parse("c", "FROM /messages INTO BrokeredEndpoint(\"/modules/alertLogic/inputs/in2\")").Sink);
        in1.ShouldNotBe(Route.Parse("d", "FROM /messages INTO BrokeredEndpoint(\"/modules/alertLogic2/inputs/in1\")").Sink);
    }
}
