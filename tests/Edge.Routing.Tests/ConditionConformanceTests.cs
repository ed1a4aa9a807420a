using System.Text;

namespace Edge.Routing.Tests;

/// <summary>
/// The condition language, one row per rule: literals, references, every operator and function, typing and the three-valued
/// logic of Routing.Core (query/ConditionVisitor.cs, Bool.cs, Null.cs, builtins/*). Expected values are edgeHub's.
/// </summary>
public sealed class ConditionConformanceTests
{
    private const string Body = """
        {"faces":2,"score":0.87,"label":"person","ok":true,"bad":false,"none":null,
         "nested":{"a":{"b":[10,20,{"c":"deep"}]}},"arr":[1,2,3],"obj":{"x":1},"dup":"frombody",
         "unicode":"\u00e9t\u00e9","neg":-3.5,"zero":0,"text5":"5","big":1e3,"key with space":"spaced"}
        """;

    internal static RoutingMessage Message { get; } = new(
        "/messages/modules/camera/outputs/frames",
        Encoding.UTF8.GetBytes(Body),
        new Dictionary<string, string>
        {
            ["severity"] = "high",
            ["level"] = "5",
            ["name"] = "Camera-01",
            ["empty"] = string.Empty,
            ["temp"] = "21.5",
            ["notanumber"] = "abc",
            ["$custom"] = "appval",
            ["$body.dup"] = "fromprop",
            ["$connectionModuleId"] = "spoofed",
            ["TRUE"] = "upper-true",
            ["a-1"] = "dash",
            ["quote"] = "it's",
        },
        new Dictionary<string, string>
        {
            ["contentType"] = "application/json",
            ["contentEncoding"] = "utf-8",
            ["connectionDeviceId"] = "edge-1",
            ["connectionModuleId"] = "camera",
            ["outputName"] = "frames",
            ["messageId"] = "m-1",
            ["cid"] = "c-1",
            ["userId"] = "u-1",
            ["messageSchema"] = "frame-v1",
            ["creationTime"] = "2026-11-25T12:00:00.0000000Z",
            ["edgeHubOriginInterface"] = "internal",
            ["custom"] = "sysval",
        });

    [Theory]
    // ---- literals
    [InlineData("true", "true")]
    [InlineData("false", "false")]
    [InlineData("null", "false")] // RouteCompiler converts the result to Bool: (Bool)Null is false
    [InlineData("undefined", "undefined")]
    [InlineData("'x'", "undefined")] // a string is not a bool
    [InlineData("1", "undefined")]
    [InlineData("(true)", "true")]
    [InlineData("((false))", "false")]
    [InlineData("1 = 1", "true")]
    [InlineData("1 = 1.0", "true")]
    [InlineData("0x1F = 31", "true")]
    [InlineData("0X1f = 31", "true")]
    [InlineData("0xff = 255", "true")]
    [InlineData("2e3 = 2000", "true")]
    [InlineData("2E-1 = 0.2", "true")]
    [InlineData("1.5e1 = 15", "true")]
    [InlineData(".5 = 0.5", "true")]
    [InlineData("-5 = 0 - 5", "true")]
    [InlineData("-1.5 < 0", "true")]
    [InlineData("'a' = \"a\"", "true")]
    [InlineData("'it\\'s' = quote", "true")]
    [InlineData("\"say \\\"hi\\\"\" = concat('say ', '\"hi\"')", "true")]
    [InlineData("'back\\\\slash' = concat('back', '\\\\', 'slash')", "true")]
    [InlineData("'\\u00e9t\\u00e9' = $body.unicode", "true")]
    [InlineData("'\\u0041' = 'A'", "true")]
    [InlineData("'' = empty", "true")]
    [InlineData("'a' /* a comment */ = 'a'", "true")]
    [InlineData("/* leading */ true", "true")]
    // ---- application properties (bare identifiers): strings; missing ones are undefined
    [InlineData("severity = 'high'", "true")]
    [InlineData("severity = 'HIGH'", "false")] // values compare ordinally
    [InlineData("severity <> 'high'", "false")]
    [InlineData("severity != 'low'", "true")]
    [InlineData("missing = 'x'", "undefined")]
    [InlineData("missing <> 'x'", "undefined")]
    [InlineData("Severity = 'high'", "true")] // property names are case-insensitive
    [InlineData("level = '5'", "true")]
    [InlineData("TRUE = 'upper-true'", "true")] // only lowercase 'true' is the literal
    [InlineData("a-1 = 'dash'", "true")] // '-' is an identifier character (GrammarLexer ID_CHARS)
    [InlineData("name = 'Camera-01'", "true")]
    [InlineData("severity = severity", "true")]
    [InlineData("severity = name", "false")]
    // ---- $name: the application property "$name" wins, else the system property "name"
    [InlineData("$custom = 'appval'", "true")]
    [InlineData("$connectionModuleId = 'spoofed'", "true")]
    [InlineData("$connectionDeviceId = 'edge-1'", "true")]
    [InlineData("$outputName = 'frames'", "true")]
    [InlineData("$contentType = 'application/json'", "true")]
    [InlineData("$contentEncoding = 'utf-8'", "true")]
    [InlineData("$messageId = 'm-1'", "true")]
    [InlineData("$cid = 'c-1'", "true")]
    [InlineData("$userId = 'u-1'", "true")]
    [InlineData("$messageSchema = 'frame-v1'", "true")]
    [InlineData("$creationTime = '2026-11-25T12:00:00.0000000Z'", "true")]
    [InlineData("$edgeHubOriginInterface = 'internal'", "true")]
    [InlineData("$correlationId = 'c-1'", "undefined")] // the internal key is cid
    [InlineData("$nosuch = 'x'", "undefined")]
    [InlineData("$ConnectionModuleId = 'camera'", "false")] // names are case-insensitive: the application property "$connectionModuleId" wins
    // ---- {$name}: the system property only
    [InlineData("{$connectionModuleId} = 'camera'", "true")]
    [InlineData("{$custom} = 'sysval'", "true")]
    [InlineData("{$nosuch} = 'x'", "undefined")]
    [InlineData("{ $outputName } = 'frames'", "true")]
    // ---- $body queries: dynamically typed
    [InlineData("$body.faces = 2", "true")]
    [InlineData("$body.faces > 1", "true")]
    [InlineData("$body.faces >= 2", "true")]
    [InlineData("$body.faces < 2", "false")]
    [InlineData("$body.score > 0.5", "true")]
    [InlineData("$body.label = 'person'", "true")]
    [InlineData("$body.ok = true", "true")]
    [InlineData("$body.ok", "true")]
    [InlineData("$body.bad", "false")]
    [InlineData("$body.bad = false", "true")]
    [InlineData("$body.none = null", "true")]
    [InlineData("$body.nested.a.b[0] = 10", "true")]
    [InlineData("$body.nested.a.b[1] = 20", "true")]
    [InlineData("$body.nested.a.b[2].c = 'deep'", "true")]
    [InlineData("$body.nested.a.b[3] = 1", "false")] // out of range: selects nothing, null
    [InlineData("is_defined($body['dup'])", "false")] // '$body[' is not a '$body.' query and names cannot hold '[': undefined
    [InlineData("$body.arr[2] = 3", "true")]
    [InlineData("$body.arr = 1", "undefined")] // arrays are undefined
    [InlineData("$body.obj = 1", "undefined")] // objects are undefined
    [InlineData("is_defined($body.obj)", "false")]
    [InlineData("is_defined($body.obj.x)", "true")]
    [InlineData("$body.missing = 1", "false")] // null and a number are different kinds: unequal
    [InlineData("$body.faces.x = 1", "false")] // navigating into a number selects nothing: null
    [InlineData("$body.Faces = 2", "false")] // JSON names are case-sensitive: the path selects nothing, which is null, and null is not 2
    [InlineData("$BODY.faces = 2", "true")] // the $body prefix is not
    [InlineData("$body.dup = 'fromprop'", "true")] // an application property named "$body.dup" wins
    [InlineData("{$body.dup} = 'frombody'", "true")] // escaped: the body wins
    [InlineData("$body.label = 2", "false")] // run-time kinds differ: unequal
    [InlineData("$body.faces = '2'", "false")] // no conversion between kinds: a number is never equal to a string (BodyQueryTest.BodyQuery_Double_Failure)
    [InlineData("$body.faces = $body.arr[1]", "true")]
    [InlineData("$body.neg < 0", "true")]
    [InlineData("$body.big = 1000", "true")]
    [InlineData("$body.text5 = '5'", "true")]
    [InlineData("$body.faces = as_number($body.text5) - 3", "true")]
    // ---- arithmetic
    [InlineData("1 + 2 = 3", "true")]
    [InlineData("5 - 2 = 3", "true")]
    [InlineData("2 * 3 = 6", "true")]
    [InlineData("7 / 2 = 3.5", "true")]
    [InlineData("7 % 3 = 1", "true")]
    [InlineData("-7 % 3 = -1", "true")]
    [InlineData("1 / 0 > 1000000", "true")] // doubles: +infinity
    [InlineData("0 / 0 = 0 / 0", "undefined")] // NaN is undefined
    [InlineData("0 / 0 <> 0 / 0", "undefined")] // NaN is undefined
    [InlineData("2 + 3 * 4 = 14", "true")] // * before +
    [InlineData("(2 + 3) * 4 = 20", "true")]
    [InlineData("10 - 4 - 3 = 3", "true")] // left-associative
    [InlineData("100 / 10 / 5 = 2", "true")]
    [InlineData("- 3 + 5 = 2", "true")] // unary minus binds tighter than +
    [InlineData("- (3 + 5) = -8", "true")]
    [InlineData("- $body.neg = 3.5", "true")]
    [InlineData("$body.faces + 1 = 3", "true")]
    [InlineData("$body.faces * $body.score > 1.7", "true")]
    [InlineData("$body.label + 1 = 3", "undefined")] // arithmetic on a string value
    [InlineData("$body.missing + 1 = 3", "undefined")] // arithmetic on undefined
    [InlineData("$body.none + 1 = 1", "undefined")]
    [InlineData("as_number(missing) + 1 = 1", "undefined")]
    [InlineData("as_number(level) * 2 = 10", "true")]
    [InlineData("as_number(temp) > 20", "true")]
    [InlineData("as_number(temp) - 21.5 = 0", "true")]
    // ---- string concatenation
    [InlineData("severity || '!' = 'high!'", "true")]
    [InlineData("'a' || 'b' || 'c' = 'abc'", "true")]
    [InlineData("missing || 'x' = 'x'", "undefined")]
    [InlineData("$body.label || 's' = 'persons'", "true")]
    [InlineData("$body.faces || 's' = '2s'", "undefined")]
    // ---- comparison
    [InlineData("1 < 2", "true")]
    [InlineData("2 < 1", "false")]
    [InlineData("2 <= 2", "true")]
    [InlineData("3 > 2", "true")]
    [InlineData("2 >= 3", "false")]
    [InlineData("'abc' < 'abd'", "true")]
    [InlineData("'B' < 'a'", "true")] // ordinal
    [InlineData("'a' > 'B'", "true")]
    [InlineData("'a' >= 'a'", "true")]
    [InlineData("severity > 'a'", "true")]
    [InlineData("missing < 'z'", "undefined")]
    [InlineData("false < true", "true")]
    [InlineData("true <= false", "false")]
    [InlineData("true = true", "true")]
    [InlineData("true = false", "false")]
    [InlineData("true <> false", "true")]
    [InlineData("null = null", "true")]
    [InlineData("null <> null", "false")]
    [InlineData("null < null", "false")]
    [InlineData("null <= null", "true")]
    [InlineData("$body.none = $body.none", "true")]
    [InlineData("$body.none = 1", "false")] // null and a number are different kinds: unequal
    [InlineData("$body.none <> 'x'", "true")] // null and a string are different kinds: unequal
    [InlineData("undefined = undefined", "undefined")]
    [InlineData("1 + 1 = 2 = true", "true")] // = is left-associative: (2 = 2) = true
    [InlineData("1 < 2 = true", "true")] // < binds tighter than =
    // ---- AND / OR / NOT: three-valued (Bool.cs) with null (Null.cs)
    [InlineData("true AND true", "true")]
    [InlineData("true AND false", "false")]
    [InlineData("false AND true", "false")]
    [InlineData("false AND false", "false")]
    [InlineData("true OR false", "true")]
    [InlineData("false OR false", "false")]
    [InlineData("false OR true", "true")]
    [InlineData("true and true", "true")] // keywords are case-insensitive
    [InlineData("true aNd false", "false")]
    [InlineData("false oR true", "true")]
    [InlineData("not false", "true")]
    [InlineData("NoT true", "false")]
    [InlineData("false AND undefined", "false")]
    [InlineData("undefined AND false", "false")]
    [InlineData("true AND undefined", "undefined")]
    [InlineData("undefined AND true", "undefined")]
    [InlineData("undefined AND undefined", "undefined")]
    [InlineData("true OR undefined", "true")]
    [InlineData("undefined OR true", "true")]
    [InlineData("false OR undefined", "undefined")]
    [InlineData("undefined OR false", "undefined")]
    [InlineData("undefined OR undefined", "undefined")]
    [InlineData("NOT (missing = 'x')", "undefined")] // NOT undefined is undefined
    [InlineData("NOT NOT (missing = 'x')", "undefined")]
    [InlineData("missing = 'x' AND false", "false")]
    [InlineData("missing = 'x' OR true", "true")]
    [InlineData("missing = 'x' OR severity = 'high'", "true")]
    [InlineData("missing = 'x' AND severity = 'high'", "undefined")]
    [InlineData("NOT null", "true")] // Null's operator ! is Bool.True
    [InlineData("null AND true", "false")] // null AND x is null, and the result null converts to false
    [InlineData("null AND false", "false")]
    [InlineData("null OR true", "true")] // null OR x is x
    [InlineData("null OR false", "false")]
    [InlineData("false OR null", "false")]
    [InlineData("null OR null", "false")]
    [InlineData("NOT (null AND true)", "true")]
    [InlineData("$body.ok AND true", "true")]
    [InlineData("$body.ok AND $body.bad", "false")]
    [InlineData("$body.label AND true", "undefined")] // a string value is not a bool
    [InlineData("$body.missing OR true", "undefined")] // $body values are QueryValues: their AND/OR need two bools
    [InlineData("$body.missing AND true", "undefined")]
    [InlineData("$body.none AND true", "undefined")] // $body values are QueryValues: their AND/OR need two bools
    [InlineData("NOT $body.ok", "false")]
    [InlineData("NOT $body.missing", "undefined")]
    [InlineData("NOT $body.none", "undefined")] // a $body null has no negation
    [InlineData("NOT $body.faces", "undefined")]
    [InlineData("true OR false AND false", "true")] // AND before OR
    [InlineData("(true OR false) AND false", "false")]
    [InlineData("NOT true OR true", "true")] // NOT binds tightest
    [InlineData("NOT (true OR true)", "false")]
    [InlineData("1 = 1 AND 2 = 2", "true")]
    [InlineData("1 = 2 OR 2 = 2", "true")]
    // ---- ?? (coalesce): the left value when defined, else the right
    [InlineData("(missing ?? 'dflt') = 'dflt'", "true")]
    [InlineData("(severity ?? 'dflt') = 'high'", "true")]
    [InlineData("($body.missing ?? 7) = 7", "false")] // a missing $body value is null, which is defined: ?? keeps it
    [InlineData("($body.faces ?? 7) = 2", "true")]
    [InlineData("($body.none ?? 7) = null", "true")] // null is defined
    [InlineData("$body.missing ?? true", "undefined")] // a missing $body value is null (defined): ?? keeps it, and null is not a bool
    [InlineData("$body.missing ?? false OR true", "undefined")] // ?? binds loosest, and a missing $body value is null (defined): the result is that null, not a bool
    [InlineData("$body.bad ?? true", "false")]
    [InlineData("(missing ?? other) = 'x'", "undefined")]
    // ---- math functions
    [InlineData("abs(-3) = 3", "true")]
    [InlineData("abs($body.neg) = 3.5", "true")]
    [InlineData("abs($body.label) = 1", "undefined")]
    [InlineData("exp(0) = 1", "true")]
    [InlineData("power(2, 10) = 1024", "true")]
    [InlineData("power($body.faces, 3) = 8", "true")]
    [InlineData("square(4) = 16", "true")]
    [InlineData("square($body.neg) = 12.25", "true")]
    [InlineData("ceiling(1.2) = 2", "true")]
    [InlineData("ceiling(-1.2) = -1", "true")]
    [InlineData("floor(1.8) = 1", "true")]
    [InlineData("floor(-1.2) = -2", "true")]
    [InlineData("sign(-4) = -1", "true")]
    [InlineData("sign(0) = 0", "true")]
    [InlineData("sign(9) = 1", "true")]
    [InlineData("sign($body.missing) = 1", "undefined")]
    [InlineData("sqrt(16) = 4", "true")]
    [InlineData("sqrt(-1) = sqrt(-1)", "undefined")] // NaN is undefined
    [InlineData("ABS(-1) = 1", "true")] // function names are case-insensitive
    [InlineData("Power(3, 2) = 9", "true")]
    // ---- type functions
    [InlineData("as_number('12') = 12", "true")]
    [InlineData("as_number('1.5e2') = 150", "true")]
    [InlineData("as_number(' 42 ') = 42", "true")] // NumberStyles.Any trims
    [InlineData("as_number('1,000') = 1000", "true")] // NumberStyles.Any allows thousands separators
    [InlineData("as_number('abc') = 0", "undefined")]
    [InlineData("is_defined(as_number(notanumber))", "false")]
    [InlineData("as_number(3) = 3", "true")]
    [InlineData("as_number($body.text5) = 5", "true")]
    [InlineData("as_number($body.faces) = 2", "true")]
    [InlineData("as_number($body.ok) = 1", "undefined")]
    [InlineData("is_bool(true)", "true")]
    [InlineData("is_bool(1)", "false")]
    [InlineData("is_bool(severity)", "false")]
    [InlineData("is_bool($body.ok)", "true")]
    [InlineData("is_bool($body.label)", "false")]
    [InlineData("is_bool(1 = 1)", "true")]
    [InlineData("is_defined(severity)", "true")]
    [InlineData("is_defined(missing)", "false")]
    [InlineData("is_defined($connectionModuleId)", "true")]
    [InlineData("is_defined({$nosuch})", "false")]
    [InlineData("is_defined($body.none)", "true")]
    [InlineData("is_defined($body.missing)", "true")] // a path that selects nothing is null, which is defined
    [InlineData("is_defined(undefined)", "false")]
    [InlineData("is_defined(null)", "true")]
    [InlineData("NOT is_defined($connectionModuleId)", "false")]
    [InlineData("is_null(null)", "true")]
    [InlineData("is_null(severity)", "false")]
    [InlineData("is_null(missing)", "false")] // a missing property is undefined, not null
    [InlineData("is_null(1)", "false")]
    [InlineData("is_null($body.none)", "true")]
    [InlineData("is_null($body.faces)", "true")] // edgeHub: is_null of a $body value is true unless the path selects nothing (docs/routes.md)
    [InlineData("is_null($body.missing)", "false")] // edgeHub: the one $body value is_null calls not null (docs/routes.md)
    [InlineData("is_number(1)", "true")]
    [InlineData("is_number(level)", "false")] // properties are strings
    [InlineData("is_number(as_number(level))", "true")]
    [InlineData("is_number($body.faces)", "true")]
    [InlineData("is_number($body.text5)", "false")]
    [InlineData("is_string('a')", "true")]
    [InlineData("is_string(severity)", "true")]
    [InlineData("is_string(missing)", "false")]
    [InlineData("is_string($body.label)", "true")]
    [InlineData("is_string($body.faces)", "false")]
    [InlineData("is_string(null)", "false")]
    [InlineData("IS_DEFINED(severity)", "true")]
    // ---- string functions
    [InlineData("concat('a', 'b') = 'ab'", "true")]
    [InlineData("concat('a', 'b', 'c', 'd') = 'abcd'", "true")]
    [InlineData("concat(severity, '-', name) = 'high-Camera-01'", "true")]
    [InlineData("concat('a', missing) = 'a'", "undefined")]
    [InlineData("concat($body.label, 's') = 'persons'", "true")]
    [InlineData("concat('x', $body.faces) = 'x2'", "undefined")]
    [InlineData("length(severity) = 4", "true")]
    [InlineData("length('') = 0", "true")]
    [InlineData("length(missing) = 0", "undefined")]
    [InlineData("length($body.label) = 6", "true")]
    [InlineData("length($body.arr) = 3", "undefined")]
    [InlineData("lower(name) = 'camera-01'", "true")]
    [InlineData("upper(severity) = 'HIGH'", "true")]
    [InlineData("lower(missing) = 'x'", "undefined")]
    [InlineData("upper($body.label) = 'PERSON'", "true")]
    [InlineData("substring('hello', 1) = 'ello'", "true")]
    [InlineData("substring('hello', 1, 3) = 'ell'", "true")]
    [InlineData("substring('hello', 0, 5) = 'hello'", "true")]
    [InlineData("substring('hello', 5) = ''", "true")]
    [InlineData("substring('hello', 6) = ''", "undefined")] // out of range
    [InlineData("substring('hello', 2, 9) = 'llo'", "undefined")]
    [InlineData("substring('hello', -1) = 'o'", "undefined")]
    [InlineData("substring(name, 0, 6) = 'Camera'", "true")]
    [InlineData("index_of('hello', 'l') = 2", "true")]
    [InlineData("index_of('hello', 'z') = -1", "true")]
    [InlineData("index_of(name, '-') = 6", "true")]
    [InlineData("index_of(missing, 'a') = 1", "undefined")]
    [InlineData("starts_with(name, 'Cam')", "true")]
    [InlineData("starts_with(name, 'cam')", "false")] // ordinal, case-sensitive
    [InlineData("starts_with(missing, 'a')", "undefined")]
    [InlineData("ends_with(name, '01')", "true")]
    [InlineData("ends_with(name, 'x')", "false")]
    [InlineData("contains(name, 'era')", "true")]
    [InlineData("contains(name, 'ERA')", "false")]
    [InlineData("contains($body.label, 'erso')", "true")]
    [InlineData("contains($body.faces, '2')", "undefined")]
    [InlineData("contains($connectionModuleId, 'am')", "false")] // the application property "$connectionModuleId" wins
    [InlineData("contains({$connectionModuleId}, 'am')", "true")]
    [InlineData("STARTS_WITH(severity, 'h')", "true")]
    public void Evaluate_Condition_MatchesEdgeHub(string condition, string expected)
    {
        var result = RouteCondition.Evaluate(condition, Message);

        ToText(result).ShouldBe(expected, $"condition: {condition}");
    }

    internal static string ToText(ConditionResult r) => r switch
    {
        ConditionResult.True => "true",
        ConditionResult.False => "false",
        _ => "undefined",
    };
}
