using System.Text;

namespace Edge.Routing.Tests.Conformance;

/// <summary>
/// upstream: Routing.Core.Test query/TwinChangeIncludesTest, every row: routes from /twinChangeNotifications compiled with
/// RouteCompilerFlags.TwinChangeIncludes against a twin-change notification (content type JSON, UTF-8).
/// </summary>
public sealed class TwinChangeIncludesConformanceTests
{
    private const string TwinSource = "/twinChangeNotifications";

    private const string Notification = """{"properties":{"reported":{"WeatherTwin":{"Temperature":50,"Location":{"Street":"One Microsoft Way","City":"Redmond","State":"WA"}},"Metadata":"metadata","$metadata":{"$lastUpdated":"2017-02-15T00:42:19.8563501Z","WeatherTwin":{"$lastUpdated":"2017-02-15T00:42:19.8563501Z","Temperature":{"$lastUpdated":"2017-02-15T00:42:19.8563501Z"},"Location":{"$lastUpdated":"2017-02-15T00:42:19.8563501Z","Street":{"$lastUpdated":"2017-02-15T00:42:19.8563501Z"},"City":{"$lastUpdated":"2017-02-15T00:42:19.8563501Z"},"State":{"$lastUpdated":"2017-02-15T00:42:19.8563501Z"}}},"Metadata":{"$lastUpdated":"2017-02-15T00:42:19.8563501Z"}},"$version":4}}}""";

    private const string WeatherTwin = "twin_change_includes(properties.reported.WeatherTwin)";

    private static readonly RoutingMessage Message1 = RoutingMessage.Create(
        TwinSource,
        Encoding.UTF8.GetBytes(Notification),
        new Dictionary<string, string?> { ["key1"] = "value1", ["key2"] = "3", ["key3"] = "VALUE3", ["null_value"] = null, ["$sys4"] = "value4" },
        new Dictionary<string, string?>
        {
            ["sys1"] = "sysvalue1", ["sys2"] = "4", ["sys3"] = "SYSVALUE3", ["sysnull"] = null, ["sys4"] = "sysvalue4",
            ["contentEncoding"] = "UTF-8", ["contentType"] = "application/json",
        });

    public static TheoryData<string, string, string> Cases => UpstreamCases.Three("TwinChangeIncludesTest.jsonl");

    [Theory]
    [MemberData(nameof(Cases))]
    public void TwinChangeIncludes_UpstreamCase_AgreesWithEdgeHub(string upstreamMethod, string input, string expected)
    {
        switch (expected)
        {
            case "Error":
                Should.Throw<RouteCompileException>(() => RouteCondition.Compile(input, TwinSource, RouteCompilerFlags.TwinChangeIncludes), upstreamMethod);
                break;
            case "ErrorWithoutTwinChangeIncludes":
                Should.NotThrow(() => RouteCondition.Compile(input, TwinSource, RouteCompilerFlags.TwinChangeIncludes));
                Should.Throw<RouteCompileException>(() => RouteCondition.Compile(input, TwinSource, RouteCompilerFlags.None), upstreamMethod);
                break;
            case "ErrorFromTelemetrySource":
                Should.Throw<RouteCompileException>(() => RouteCondition.Compile(input, "/messages", RouteCompilerFlags.TwinChangeIncludes), upstreamMethod);
                break;
            case "UndefinedForBody":
                // TestTwinChangeIncludes_ValidateMessage: a body that is not a JSON object makes the function undefined.
                Evaluate(WeatherTwin, Json(Encoding.UTF8.GetBytes(input))).ShouldBe(ConditionResult.Undefined, input);
                break;
            case "UndefinedForUtf16Body":
                // TestTwinChangeIncludes_InvalidEncoding: UTF-16 bytes declared as UTF-8 are not JSON.
                Evaluate(input, Json(Encoding.Unicode.GetBytes(Notification))).ShouldBe(ConditionResult.Undefined);
                Evaluate(input, Json(Encoding.UTF8.GetBytes(Notification))).ShouldBe(ConditionResult.True);
                break;
            default:
                Evaluate(input, Message1).ShouldBe(UpstreamCases.Result(expected), $"{upstreamMethod}: {input}");
                break;
        }
    }

    private static ConditionResult Evaluate(string condition, RoutingMessage message) =>
        RouteCondition.Compile(condition, TwinSource, RouteCompilerFlags.TwinChangeIncludes)(message);

    private static RoutingMessage Json(byte[] body) => new(
        TwinSource,
        body,
        new Dictionary<string, string>(),
        new Dictionary<string, string> { ["contentEncoding"] = "UTF-8", ["contentType"] = "application/json" });
}
