namespace Edge.Routing.Tests.Conformance;

/// <summary>
/// upstream: Routing.Core.Test query/ConditionCompilerTest (TestSuccess, TestCompilationFailure, TestTest, TestSubstringLimits),
/// every row, against that test's message: application properties key1..key3, <c>null_value</c> (null) and <c>$sys4</c>;
/// system properties sys1..sys4 and <c>sysnull</c> (null); compiled as RouteCompiler.Compile(route) does, with no flags.
/// </summary>
public sealed class ConditionCompilerConformanceTests
{
    internal static readonly RoutingMessage Message1 = RoutingMessage.Create(
        "/messages",
        Array.Empty<byte>(),
        new Dictionary<string, string?> { ["key1"] = "value1", ["key2"] = "3", ["key3"] = "VALUE3", ["null_value"] = null, ["$sys4"] = "value4" },
        new Dictionary<string, string?> { ["sys1"] = "sysvalue1", ["sys2"] = "4", ["sys3"] = "SYSVALUE3", ["sysnull"] = null, ["sys4"] = "sysvalue4" });

    public static TheoryData<string, string, string> Cases => UpstreamCases.Three("ConditionCompilerTest.jsonl");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Condition_UpstreamCase_AgreesWithEdgeHub(string upstreamMethod, string condition, string expected)
    {
        if (expected == "Error")
        {
            Should.Throw<RouteCompileException>(() => RouteCondition.Compile(condition, "/messages", RouteCompilerFlags.None), upstreamMethod);
            return;
        }

        var rule = RouteCondition.Compile(condition, "/messages", RouteCompilerFlags.None);

        rule(Message1).ShouldBe(UpstreamCases.Result(expected), $"{upstreamMethod}: {condition}");
    }

    /// <summary>upstream: ConditionCompilerTest.TestSubstringLimits: substring with any start and length compiles and evaluates.</summary>
    [Fact]
    public void Substring_AnyLimits_CompilesAndEvaluatesWithoutThrowing()
    {
        var evaluated = 0;
        for (var i = -10; i <= 10; i++)
        {
            RouteCondition.Compile(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"substring('hello', {i}) = 'he'"), "/messages", RouteCompilerFlags.None)(Message1);
            evaluated++;
            for (var j = -10; j <= 10; j++)
            {
                var result = RouteCondition.Compile(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"substring('hello', {i}, {j}) = 'he'"), "/messages", RouteCompilerFlags.None)(Message1);
                result.ShouldBe(i == 0 && j == 2 ? ConditionResult.True : result);
                evaluated++;
            }
        }

        evaluated.ShouldBe(21 + (21 * 21));
        RouteCondition.Evaluate("substring('hello', 0, 2) = 'he'", Message1).ShouldBe(ConditionResult.True);
        RouteCondition.Evaluate("substring('hello', 4, 2) = 'he'", Message1).ShouldBe(ConditionResult.Undefined);
    }

    [Fact]
    public void Cases_EveryUpstreamRow_IsLoaded()
    {
        // 615 rows in the two data sources (two rows upstream are commented out) and TestTest.
        UpstreamCases.Rows("ConditionCompilerTest.jsonl").Count().ShouldBe(616);
    }
}
