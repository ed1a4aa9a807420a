namespace Edge.Routing.Tests;

/// <summary>Conditions edgeHub rejects: each names the problem and the 1-based column where it is.</summary>
public sealed class ConditionCompileErrorTests
{
    [Theory]
    // ---- typing: property values are strings (use as_number), operators need their operand types
    [InlineData("severity > 3", "invalid operands to '>'", 10)]
    [InlineData("level = 5", "as_number", 7)]
    [InlineData("3 < level", "invalid operands to '<'", 3)]
    [InlineData("severity + 1 = 2", "invalid operands to '+'", 10)]
    [InlineData("1 - 'a' = 1", "invalid operands to '-'", 3)]
    [InlineData("2 * true = 2", "invalid operands to '*'", 3)]
    [InlineData("4 / severity = 1", "invalid operands to '/'", 3)]
    [InlineData("4 % 'x' = 1", "invalid operands to '%'", 3)]
    [InlineData("- severity = 'x'", "invalid operand to '-'", 1)]
    [InlineData("- true", "invalid operand to '-'", 1)]
    [InlineData("NOT severity", "invalid operand to NOT", 1)]
    [InlineData("NOT 1", "invalid operand to NOT", 1)]
    [InlineData("NOT undefined", "invalid operand to NOT", 1)] // Routing.Core: undefined matches only itself
    [InlineData("severity AND true", "invalid operands to 'AND'", 10)]
    [InlineData("true OR 1", "invalid operands to 'OR'", 6)]
    [InlineData("true AND $body.ok", "$body value only on the left", 6)] // Routing.Core CheckBooleanOperands
    [InlineData("1 || 'a' = 'a'", "invalid operands to '||'", 3)]
    [InlineData("severity || 1 = 'a'", "invalid operands to '||'", 10)]
    [InlineData("true = 'true'", "invalid operands to '='", 6)]
    [InlineData("severity = null", "invalid operands to '='", 10)]
    [InlineData("null = 1", "invalid operands to '='", 6)]
    [InlineData("severity = undefined", "invalid operands to '='", 10)]
    [InlineData("undefined + 1 = 1", "invalid operands to '+'", 11)]
    [InlineData("null + 1 = 1", "invalid operands to '+'", 6)]
    [InlineData("'a' < 1", "invalid operands to '<'", 5)]
    [InlineData("(severity ?? 1) = 'x'", "invalid operands to '??'", 11)]
    [InlineData("$body.faces = undefined", "invalid operands to '='", 13)]
    [InlineData("$body['x'] = 1", "invalid operands to '='", 12)] // whole-body indexing is not supported
    [InlineData("$foo[0] = 'x'", "invalid operands to '='", 9)]
    // ---- functions: unknown names, arity and argument types
    [InlineData("nosuch(1)", "unknown function 'nosuch'", 1)]
    [InlineData("is_defined(a) AND foo()", "unknown function 'foo'", 19)]
    [InlineData("abs('x') = 1", "invalid arguments to abs(string)", 1)]
    [InlineData("abs(severity) = 1", "invalid arguments to abs(string)", 1)]
    [InlineData("abs() = 1", "invalid arguments to abs()", 1)]
    [InlineData("abs(1, 2) = 1", "invalid arguments to abs(number, number)", 1)]
    [InlineData("power(2) = 1", "invalid arguments to power(number)", 1)]
    [InlineData("sqrt(true) = 1", "invalid arguments to sqrt(bool)", 1)]
    [InlineData("exp(null) = 1", "invalid arguments to exp(null)", 1)]
    [InlineData("as_number(true) = 1", "invalid arguments to as_number(bool)", 1)]
    [InlineData("as_number(1, 2) = 1", "invalid arguments to as_number", 1)]
    [InlineData("is_defined()", "invalid arguments to is_defined()", 1)]
    [InlineData("is_null(1, 2)", "invalid arguments to is_null", 1)]
    [InlineData("length(1) = 1", "invalid arguments to length(number)", 1)]
    [InlineData("lower(1) = 'a'", "invalid arguments to lower(number)", 1)]
    [InlineData("upper(true) = 'a'", "invalid arguments to upper(bool)", 1)]
    [InlineData("substring('a') = 'a'", "invalid arguments to substring(string)", 1)]
    [InlineData("substring('a', 'b') = 'a'", "invalid arguments to substring(string, string)", 1)]
    [InlineData("substring(1, 2) = 'a'", "invalid arguments to substring(number, number)", 1)]
    [InlineData("index_of('a', 1) = 0", "invalid arguments to index_of(string, number)", 1)]
    [InlineData("starts_with(severity) ", "invalid arguments to starts_with(string)", 1)]
    [InlineData("ends_with(1, 'a')", "invalid arguments to ends_with(number, string)", 1)]
    [InlineData("contains('a', null)", "invalid arguments to contains(string, null)", 1)]
    [InlineData("concat('a', 1) = 'a1'", "invalid arguments to concat(string, number)", 1)]
    [InlineData("twin_change_includes(properties.reported.x)", "only valid in routes FROM /twinChangeNotifications", 1)]
    // ---- $body query paths
    [InlineData("$body. = 1", "error in $body query", 1)]
    [InlineData("$body.a..b = 1", "error in $body query", 1)]
    [InlineData("$body.a[x] = 1", "error in $body query", 1)]
    [InlineData("$body.a[1 = 1", "error in $body query", 1)]
    [InlineData("$body.a] = 1", "error in $body query", 1)]
    [InlineData("{$body.} = 1", "error in $body query", 2)]
    // ---- syntax
    [InlineData("(", "incomplete condition", 2)]
    [InlineData("(true", "missing closing ')'", 1)]
    [InlineData("true)", "unmatched closing ')'", 5)]
    [InlineData("()", "empty parentheses", 2)]
    [InlineData("severity =", "missing right operand of '='", 10)]
    [InlineData("= 'a'", "unexpected '='", 1)]
    [InlineData("severity = = 'a'", "unexpected '='", 12)]
    [InlineData("NOT", "missing operand of 'NOT'", 1)]
    [InlineData("severity 'high'", "unexpected ''high''", 10)]
    [InlineData("a = 'x' b = 'y'", "unexpected 'b'", 9)]
    [InlineData("'unterminated", "unterminated string", 1)]
    [InlineData("severity = \"open", "unterminated string", 12)]
    [InlineData("'bad \\n escape' = 'a'", "invalid escape", 1)]
    [InlineData("severity @ 'x'", "unrecognized symbol '@'", 10)]
    [InlineData("severity = 'a';", "unrecognized symbol ';'", 15)]
    [InlineData("a=1", "invalid operands to '='", 2)]
    [InlineData("as_number(level)*2 = 10", "unexpected '*2'", 17)] // '*2' is one identifier: operators need spaces
    [InlineData("1+2 = 3", "invalid operands to '='", 5)] // '1+2' is one identifier, the property "1+2", a string
    [InlineData("abs(1 2)", "unexpected '2'", 7)]
    [InlineData("abs(1,", "incomplete condition", 7)]
    [InlineData("abs(1", "missing closing ')' of abs(", 1)]
    [InlineData("{severity} = 'x'", "expected a system property", 2)]
    [InlineData("{$a = 'x'", "unexpected '='", 5)]
    [InlineData("severity in ('a')", "unexpected 'in'", 10)]
    [InlineData("severity = 'a' INTO", "unexpected 'INTO'", 16)]
    [InlineData("WHERE true", "unexpected 'WHERE'", 1)]
    public void Evaluate_InvalidCondition_ThrowsWithProblemAndColumn(string condition, string problem, int column)
    {
        var ex = Should.Throw<RouteCompileException>(() => RouteCondition.Evaluate(condition, ConditionConformanceTests.Message));

        ex.Message.ShouldContain(problem, Case.Sensitive, $"condition: {condition}");
        ex.Column.ShouldBe(column, $"condition: {condition} → {ex.Message}");
        ex.Message.ShouldContain($"(column {column})");
    }

    [Fact]
    public void Evaluate_ErrorInsideAnExpression_IsReportedOnceNotCascaded()
    {
        var ex = Should.Throw<RouteCompileException>(() => RouteCondition.Evaluate("NOT (nosuch(1) + 1 = 2) AND true", ConditionConformanceTests.Message));

        ex.Message.ShouldBe("unknown function 'nosuch' (column 6)");
    }

    [Fact]
    public void Evaluate_SeveralTypeErrors_ReportsEveryOne()
    {
        var ex = Should.Throw<RouteCompileException>(() => RouteCondition.Evaluate("severity > 3 AND nosuch(1)", ConditionConformanceTests.Message));

        ex.Message.ShouldContain("invalid operands to '>'");
        ex.Message.ShouldContain("(column 10)");
        ex.Message.ShouldContain("unknown function 'nosuch'");
        ex.Message.ShouldContain("(column 18)");
        ex.Column.ShouldBe(10);
    }
}
