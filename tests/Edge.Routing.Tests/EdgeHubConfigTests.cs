using System.Text.Json.Nodes;

namespace Edge.Routing.Tests;

/// <summary>$edgeHub desired properties (docs/protocol.md, "$edgeHub desired properties"; edgeHub EdgeHubConfigParser, RouteSpec, StoreAndForwardConfiguration).</summary>
public sealed class EdgeHubConfigTests
{
    private const string CaptureRoute = "FROM /messages/modules/camera/outputs/frames INTO BrokeredEndpoint(\\\"/modules/inference/inputs/frames\\\")";

    [Fact]
    public void TryParse_SolutionConfig_CompilesEveryRouteInOrder()
    {
        var desired = Parse($$"""
            {
              "schemaVersion": "1.1",
              "routes": {
                "captureToInference": "{{CaptureRoute}}",
                "detections": { "route": "FROM /messages/modules/inference/outputs/detections WHERE $body.faces > 0 INTO $upstream", "priority": 0, "timeToLiveSecs": 86400 },
                "health": { "route": "FROM /messages/modules/* WHERE $outputName = 'health' INTO $upstream", "priority": 5 }
              },
              "storeAndForwardConfiguration": { "timeToLiveSecs": 3600 }
            }
            """);

        EdgeHubConfig.TryParse(desired, out var config, out var errors).ShouldBeTrue(string.Join("\n", errors));

        errors.ShouldBeEmpty();
        config!.TimeToLiveSecs.ShouldBe(3600);
        config.Routes.Select(r => r.Name).ShouldBe(["captureToInference", "detections", "health"]);
        config.Routes[0].Sink.ShouldBe(new ModuleInputSink("inference", "frames"));
        config.Routes[0].Priority.ShouldBe(Route.DefaultPriority);
        config.Routes[0].TimeToLiveSecs.ShouldBe(0u);
        config.Routes[1].Priority.ShouldBe(0);
        config.Routes[1].TimeToLiveSecs.ShouldBe(86400u);
        config.Routes[2].Priority.ShouldBe(5);
        config.Routes[2].TimeToLiveSecs.ShouldBe(0u);
    }

    [Fact]
    public void Match_Message_ReturnsMatchingRoutesByPriority()
    {
        var desired = Parse("""
            {
              "schemaVersion": "1.2",
              "routes": {
                "all": "FROM /messages/* INTO $upstream",
                "urgent": { "route": "FROM /messages/modules/inference/* WHERE $body.faces > 0 INTO $upstream", "priority": 1 },
                "other": "FROM /messages/modules/camera/* INTO $upstream"
              }
            }
            """);
        EdgeHubConfig.TryParse(desired, out var config, out _).ShouldBeTrue();
        var message = Msg.Json("{\"faces\":3}") with { Source = "/messages/modules/inference/outputs/detections" };

        config!.Match(message).Select(r => r.Name).ShouldBe(["urgent", "all"]);
        config.TimeToLiveSecs.ShouldBe(EdgeHubConfig.DefaultTimeToLiveSecs);
    }

    [Theory]
    [InlineData("1.0")]
    [InlineData("1.1")]
    [InlineData("1.2")]
    [InlineData("1.3")]
    [InlineData("1.1.0")]
    public void TryParse_SupportedSchemaVersion_Accepted(string version)
    {
        var desired = Parse($$"""{ "schemaVersion": "{{version}}", "routes": { "r": "FROM /messages/* INTO $upstream" } }""");

        EdgeHubConfig.TryParse(desired, out var config, out var errors).ShouldBeTrue(string.Join("\n", errors));
        config!.Routes.Count.ShouldBe(1);
    }

    [Theory]
    [InlineData("""{ "routes": {} }""", "$.schemaVersion: required")]
    [InlineData("""{ "schemaVersion": "2.0", "routes": {} }""", "$.schemaVersion: '2.0' is not supported")]
    [InlineData("""{ "schemaVersion": "1.4", "routes": {} }""", "$.schemaVersion: '1.4' is not supported")]
    [InlineData("""{ "schemaVersion": "0.9", "routes": {} }""", "is not supported")]
    [InlineData("""{ "schemaVersion": "1.1.1", "routes": {} }""", "is not supported")]
    [InlineData("""{ "schemaVersion": "one", "routes": {} }""", "$.schemaVersion: 'one' is not supported")]
    [InlineData("""{ "schemaVersion": "", "routes": {} }""", "is not supported")]
    [InlineData("""{ "schemaVersion": 1.1, "routes": {} }""", "$.schemaVersion: expected a string such as \"1.1\", got a number")]
    [InlineData("""{ "schemaVersion": null, "routes": {} }""", "$.schemaVersion: required")]
    [InlineData("""{ "schemaVersion": "1.1" }""", "$.routes: required")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": null }""", "$.routes: expected an object of named routes, got null")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": [] }""", "$.routes: expected an object of named routes, got an array")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": "FROM /messages/* INTO $upstream" }""", "$.routes: expected an object of named routes, got a string")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": 5 } }""", "$.routes.r: expected a route string or {route, priority, timeToLiveSecs}, got a number")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": null } }""", "$.routes.r: expected a route string")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": true } }""", "got a boolean")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": ["FROM /messages/* INTO $upstream"] } }""", "got an array")]
    [InlineData("""{ "schemaVersion": "1.0", "routes": { "r": { "route": "FROM /messages/* INTO $upstream" } } }""", "$.routes.r: schemaVersion 1.0 allows only route strings")]
    [InlineData("""{ "schemaVersion": "1.0", "routes": { "r": 1 } }""", "$.routes.r: expected a route string, got a number")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": { "priority": 1 } } }""", "$.routes.r.route: required string, got nothing")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": { "route": 7 } } }""", "$.routes.r.route: required string, got a number")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": { "route": "FROM /messages/* INTO $upstream", "priority": 10 } } }""", "$.routes.r.priority: expected an integer 0 (highest) to 9, got 10")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": { "route": "FROM /messages/* INTO $upstream", "priority": -1 } } }""", "$.routes.r.priority: expected an integer 0 (highest) to 9, got -1")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": { "route": "FROM /messages/* INTO $upstream", "priority": 1.5 } } }""", "$.routes.r.priority: expected an integer 0 (highest) to 9, got 1.5")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": { "route": "FROM /messages/* INTO $upstream", "priority": "1" } } }""", "$.routes.r.priority: expected an integer 0 (highest) to 9, got \"1\"")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": { "route": "FROM /messages/* INTO $upstream", "priority": null } } }""", "$.routes.r.priority: expected an integer")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": { "route": "FROM /messages/* INTO $upstream", "timeToLiveSecs": -5 } } }""", "$.routes.r.timeToLiveSecs: expected an integer 0 to 4294967295")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": { "route": "FROM /messages/* INTO $upstream", "timeToLiveSecs": 4294967296 } } }""", "$.routes.r.timeToLiveSecs: expected an integer")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": { "route": "FROM /messages/* INTO $upstream", "timeToLiveSecs": "60" } } }""", "$.routes.r.timeToLiveSecs: expected an integer")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": "FROM /messages/* WHERE severity > 3 INTO $upstream" } }""", "$.routes.r: invalid operands to '>'")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": "FROM /messages/* INTO $downstream" } }""", "$.routes.r: system endpoint '$downstream' not supported")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "r": "" } }""", "$.routes.r: empty route")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "a.b": "FROM /messages/* INTO $upstream" } }""", "$.routes['a.b']: invalid route name 'a.b'")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "$r": "FROM /messages/* INTO $upstream" } }""", "invalid route name '$r'")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "a#b": "FROM /messages/* INTO $upstream" } }""", "invalid route name 'a#b'")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "a b": "FROM /messages/* INTO $upstream" } }""", "$.routes['a b']: invalid route name 'a b'")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": { "": "FROM /messages/* INTO $upstream" } }""", "invalid route name ''")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": 5 }""", "$.storeAndForwardConfiguration: expected an object, got a number")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": { "timeToLiveSecs": "7200" } }""", "$.storeAndForwardConfiguration.timeToLiveSecs: expected an integer number of seconds")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": { "timeToLiveSecs": 1.5 } }""", "$.storeAndForwardConfiguration.timeToLiveSecs: expected an integer")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": { "timeToLiveSecs": 3000000000 } }""", "$.storeAndForwardConfiguration.timeToLiveSecs: expected an integer")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": { "storeLimits": 1 } }""", "$.storeAndForwardConfiguration.storeLimits: expected an object")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": { "storeLimits": { "maxSizeBytes": "big" } } }""", "$.storeAndForwardConfiguration.storeLimits.maxSizeBytes: expected a positive integer")]
    [InlineData("""{ "schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": { "storeLimits": { "maxSizeBytes": 0 } } }""", "maxSizeBytes: expected a positive integer, got 0")]
    public void TryParse_InvalidConfig_ReportsTheProblemWithItsJsonPath(string json, string error)
    {
        EdgeHubConfig.TryParse(Parse(json), out var config, out var errors).ShouldBeFalse();

        config.ShouldBeNull();
        errors.ShouldContain(e => e.Contains(error, StringComparison.Ordinal), $"errors: {string.Join(" | ", errors)}");
    }

    [Fact]
    public void TryParse_SeveralProblems_ReportsEveryOne()
    {
        var desired = Parse("""
            {
              "schemaVersion": "1.1",
              "routes": {
                "ok": "FROM /messages/* INTO $upstream",
                "bad.name": "FROM /messages/* INTO $upstream",
                "badRoute": "FROM /messages/* INTO nowhere",
                "badPriority": { "route": "FROM /messages/* INTO $upstream", "priority": 42 }
              },
              "storeAndForwardConfiguration": { "timeToLiveSecs": "soon" }
            }
            """);

        EdgeHubConfig.TryParse(desired, out var config, out var errors).ShouldBeFalse();

        config.ShouldBeNull();
        errors.Count.ShouldBe(4, string.Join("\n", errors));
        errors.ShouldContain(e => e.StartsWith("$.routes['bad.name']:", StringComparison.Ordinal));
        errors.ShouldContain(e => e.StartsWith("$.routes.badRoute: invalid sink 'nowhere'", StringComparison.Ordinal));
        errors.ShouldContain(e => e.StartsWith("$.routes.badPriority.priority:", StringComparison.Ordinal));
        errors.ShouldContain(e => e.StartsWith("$.storeAndForwardConfiguration.timeToLiveSecs:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{ "schemaVersion": "1.1", "routes": {} }""", 7200)]
    [InlineData("""{ "schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": {} }""", 7200)]
    [InlineData("""{ "schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": null }""", 7200)]
    [InlineData("""{ "schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": { "timeToLiveSecs": 0 } }""", 0)]
    [InlineData("""{ "schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": { "timeToLiveSecs": -1 } }""", -1)]
    [InlineData("""{ "schemaVersion": "1.1", "routes": {}, "storeAndForwardConfiguration": { "timeToLiveSecs": 604800, "storeLimits": { "maxSizeBytes": 1048576 } } }""", 604800)]
    public void TryParse_StoreAndForward_TimeToLive(string json, int expected)
    {
        EdgeHubConfig.TryParse(Parse(json), out var config, out var errors).ShouldBeTrue(string.Join("\n", errors));

        config!.TimeToLiveSecs.ShouldBe(expected);
        config.Routes.ShouldBeEmpty();
    }

    [Theory]
    [InlineData("""{ "route": "FROM /messages/* INTO $upstream" }""", Route.DefaultPriority, 0u)]
    [InlineData("""{ "route": "FROM /messages/* INTO $upstream", "priority": 0 }""", 0, 0u)]
    [InlineData("""{ "route": "FROM /messages/* INTO $upstream", "priority": 9, "timeToLiveSecs": 0 }""", 9, 0u)]
    [InlineData("""{ "route": "FROM /messages/* INTO $upstream", "timeToLiveSecs": 4294967295 }""", Route.DefaultPriority, 4294967295u)]
    [InlineData("""{ "route": "FROM /messages/* INTO $upstream", "priority": 3, "timeToLiveSecs": 30, "extra": true }""", 3, 30u)] // unknown keys are ignored, as edgeHub's JSON binding does
    public void TryParse_RouteSpecObject_PriorityAndTimeToLive(string spec, int priority, uint ttl)
    {
        var desired = Parse($$"""{ "schemaVersion": "1.1", "routes": { "r": {{spec}} } }""");

        EdgeHubConfig.TryParse(desired, out var config, out var errors).ShouldBeTrue(string.Join("\n", errors));

        config!.Routes[0].Priority.ShouldBe(priority);
        config.Routes[0].TimeToLiveSecs.ShouldBe(ttl);
    }

    [Fact]
    public void TryParse_ReferenceManifests_EveryEdgeHubConfigParses()
    {
        // Real third-party manifests, when present on this machine; the test has nothing to check without them.
        var dir = Edge.TestSupport.Assets.ReferenceManifests;
        Assert.SkipWhen(dir is null || !Directory.Exists(dir), "reference manifests are not available here");

        var checkedCount = 0;
        foreach (var file in Directory.EnumerateFiles(dir!, "*.json", SearchOption.AllDirectories))
        {
            JsonNode? root;
            try
            {
                root = JsonNode.Parse(File.ReadAllText(file), documentOptions: new System.Text.Json.JsonDocumentOptions { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true });
            }
            catch (System.Text.Json.JsonException)
            {
                continue;
            }

            if (root is not JsonObject r || r["modulesContent"] is not JsonObject content || content["$edgeHub"] is not JsonObject hub
                || hub["properties.desired"] is not JsonObject desired)
            {
                continue;
            }

            // Templates may hold ${VAR} or $VAR placeholders for the manifest expander; those are not the route language.
            var routesJson = desired["routes"]?.ToJsonString() ?? string.Empty;
            if (desired.ToJsonString().Contains("${", StringComparison.Ordinal) || System.Text.RegularExpressions.Regex.IsMatch(routesJson, "\"\\$[A-Z][A-Z0-9_]*\""))
            {
                continue;
            }

            EdgeHubConfig.TryParse((JsonObject)desired.DeepClone(), out _, out var errors).ShouldBeTrue($"{file}: {string.Join(" | ", errors)}");
            checkedCount++;
        }

        Assert.SkipWhen(checkedCount == 0, "no reference manifest has an $edgeHub section without placeholders");
    }

    private static JsonObject Parse(string json) => (JsonObject)JsonNode.Parse(json)!;
}
