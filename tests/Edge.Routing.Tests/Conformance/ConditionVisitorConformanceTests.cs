using System.Globalization;

namespace Edge.Routing.Tests.Conformance;

/// <summary>
/// upstream: Routing.Core.Test query/ConditionVisitorTest (TestLiteral, TestArithmetic, TestLiteralErrors), every row: the value
/// an expression compiles to, with RouteCompilerFlags.All. Routing.Core stores an undefined number as NaN, so its NaN row
/// (3 % 0) is undefined here.
/// </summary>
public sealed class ConditionVisitorConformanceTests
{
    private static readonly RoutingMessage Empty = new("/messages", Array.Empty<byte>(), new Dictionary<string, string>(), new Dictionary<string, string>());

    public static TheoryData<string, string, string> Cases => UpstreamCases.Three("ConditionVisitorTest.jsonl");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Expression_UpstreamCase_HasEdgeHubsValue(string upstreamMethod, string expression, string expected)
    {
        if (upstreamMethod == "TestLiteralErrors")
        {
            Should.Throw<RouteCompileException>(() => ConditionCompiler.CompileExpression(expression, "/messages", RouteCompilerFlags.All), expected);
            return;
        }

        var value = ConditionCompiler.CompileExpression(expression, "/messages", RouteCompilerFlags.All).Eval(Empty);

        if (expected == "NaN")
        {
            value.Kind.ShouldBe(ValueKind.Undefined);
        }
        else if (expected.StartsWith("n:", StringComparison.Ordinal) || expected is "+Infinity" or "-Infinity")
        {
            var number = expected switch
            {
                "+Infinity" => double.PositiveInfinity,
                "-Infinity" => double.NegativeInfinity,
                _ => double.Parse(expected.AsSpan(2), NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            value.Kind.ShouldBe(ValueKind.Number, expression);
            if (double.IsInfinity(number))
            {
                value.Number.ShouldBe(number, expression);
            }
            else
            {
                value.Number.ShouldBe(number, 1e-12, expression);
            }
        }
        else
        {
            value.Kind.ShouldBe(ValueKind.String, expression);
            value.Text.ShouldBe(expected);
        }
    }
}
