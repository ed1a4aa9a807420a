using System.Text;

namespace Edge.Routing.Tests.Conformance;

/// <summary>
/// upstream: Routing.Core.Test query/BodyQueryTest and query/BodyQueryI18NTest, every row, against each test's message and
/// with RouteCompilerFlags.BodyQuery (BodyQuery_NotSupported: with no flags).
/// </summary>
public sealed class BodyQueryConformanceTests
{
    private const string WeatherBody = """
        {
          "message": {
            "Weather": {
              "Temperature": 50,
              "FreezingTemperature": -50.4,
              "PreciseTemperature": 50.4,
              "Temperature_PropertyConflict": 50,
              "NullValue": null,
              "Time": "2017-03-09T00:00:00.000Z",
              "PrevTemperatures": [20, 30, 40],
              "IsEnabled": true,
              "IsDisabled": false,
              "Location": { "Street": "One Microsoft Way", "City": "Redmond", "State": "WA" },
              "HistoricalData": [ { "Month": "Feb", "Temperature": 40 }, { "Month": "Jan", "Temperature": 30 } ]
            }
          }
        }
        """;

    private const string I18NBody = """
        {
          "Welcome!": { "he": "ברוכים הבאים!", "es": "Bienvenido!" },
          "I'm using spaces %1": { "he": "אני משתמש ב%1", "es": "Estoy usando %1" },
          "I'mnotusingspaces%1": { "he": "אני משתמש ב%1", "es": "Estoy usando %1" }
        }
        """;

    private static readonly RoutingMessage Weather = new(
        "/messages",
        Encoding.UTF8.GetBytes(WeatherBody),
        new Dictionary<string, string>
        {
            ["City"] = "Redmond",
            ["$State"] = "WA",
            ["$body.message.Weather.Temperature_PropertyConflict"] = "100",
            ["IntegerProperty"] = "110",
        },
        new Dictionary<string, string>
        {
            ["State"] = "CA",
            ["$body.message.Weather.Location.State"] = "CA",
            ["contentEncoding"] = "UTF-8",
            ["contentType"] = "application/json",
        });

    private static readonly RoutingMessage I18N = new(
        "/messages",
        Encoding.UTF8.GetBytes(I18NBody),
        new Dictionary<string, string>(),
        new Dictionary<string, string> { ["contentEncoding"] = "UTF-8", ["contentType"] = "application/json" });

    public static TheoryData<string, string, string> BodyQueryTest => UpstreamCases.Three("BodyQueryTest.jsonl");

    public static TheoryData<string, string, string> BodyQueryI18NTest => UpstreamCases.Three("BodyQueryI18NTest.jsonl");

    [Theory]
    [MemberData(nameof(BodyQueryTest))]
    public void BodyQuery_UpstreamCase_AgreesWithEdgeHub(string upstreamMethod, string condition, string expected) =>
        Check(Weather, upstreamMethod, condition, expected);

    [Theory]
    [MemberData(nameof(BodyQueryI18NTest))]
    public void BodyQueryI18N_UpstreamCase_AgreesWithEdgeHub(string upstreamMethod, string condition, string expected) =>
        Check(I18N, upstreamMethod, condition, expected);

    private static void Check(RoutingMessage message, string upstreamMethod, string condition, string expected)
    {
        switch (expected)
        {
            case "Error":
                Should.Throw<RouteCompileException>(() => RouteCondition.Compile(condition, "/messages", RouteCompilerFlags.BodyQuery), upstreamMethod);
                break;
            case "ErrorWithoutBodyQuery":
                // With body queries off, $BODY.x is the system property "BODY.x", a string: comparing it with 50 does not compile.
                RouteCondition.Compile(condition, "/messages", RouteCompilerFlags.BodyQuery)(message).ShouldBe(ConditionResult.True);
                Should.Throw<RouteCompileException>(() => RouteCondition.Compile(condition, "/messages", RouteCompilerFlags.None), upstreamMethod);
                break;
            default:
                RouteCondition.Compile(condition, "/messages", RouteCompilerFlags.BodyQuery)(message)
                    .ShouldBe(UpstreamCases.Result(expected), $"{upstreamMethod}: {condition}");
                break;
        }
    }
}
