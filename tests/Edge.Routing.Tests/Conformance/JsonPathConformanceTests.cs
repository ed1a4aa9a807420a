namespace Edge.Routing.Tests.Conformance;

/// <summary>
/// upstream: Routing.Core.Test jsonpath/JsonPathValidatorTest and jsonpath/TwinChangeJsonPathValidatorTest, every row. A JSON
/// path is what follows <c>$body.</c> in a body query; a twin-change path is the argument of <c>twin_change_includes</c>.
/// </summary>
public sealed class JsonPathConformanceTests
{
    public static TheoryData<string, string, string> Cases => UpstreamCases.Three("JsonPathValidatorTest.jsonl");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Path_UpstreamCase_SupportedAsEdgeHubSays(string upstreamMethod, string path, string supported)
    {
        var expected = bool.Parse(supported);
        bool actual;
        if (upstreamMethod.StartsWith("JsonPathValidatorTest.", StringComparison.Ordinal))
        {
            actual = BodyQuery.TryParsePath(path, out _, out var error);
            (actual || error.Length > 0).ShouldBeTrue("a rejected path says why");
        }
        else
        {
            // In a route: twin_change_includes(path) compiles only for a supported path.
            try
            {
                RouteCondition.Compile($"twin_change_includes({path})", "/twinChangeNotifications", RouteCompilerFlags.TwinChangeIncludes);
                actual = true;
            }
            catch (RouteCompileException)
            {
                actual = false;
            }
        }

        actual.ShouldBe(expected, $"{upstreamMethod}: '{path}'");
    }

    [Fact]
    public void BodyQuery_SupportedPath_CompilesInACondition()
    {
        // The validator's paths are $body queries: a supported one compiles, an unsupported one does not.
        Should.NotThrow(() => RouteCondition.Compile("$body.root.level1[0].level2[1] = 1", "/messages"));
        Should.Throw<RouteCompileException>(() => RouteCondition.Compile("$body.root.level1['test'] = 1", "/messages"));
    }
}
