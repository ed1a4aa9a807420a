namespace Edge.Routing.Tests.Conformance;

/// <summary>
/// upstream: Edge.Hub.Core.Test routing/RoutingTest, every routing step: a route set, a message from a leaf device
/// (<c>device1</c>), a module output, a module without an output or a twin-change notification, and the endpoints that
/// receive it. (The twin-notification tests also check that reported properties reach IoT Hub: that is the hub's twin
/// handling, not routing, and is covered by the hub's own tests.)
/// </summary>
public sealed class RoutingConformanceTests
{
    private const string Edge = "edge";

    private const string Multiple =
        "FROM /messages/* WHERE $connectionDeviceId = 'device1' INTO BrokeredEndpoint(\"/modules/ml/inputs/in1\")\n" +
        "FROM /messages/modules/ml WHERE $connectionModuleId = 'ml' INTO BrokeredEndpoint(\"/modules/asa/inputs/input1\")\n" +
        "FROM /messages/modules/asa/outputs/output1 INTO $upstream";

    private const string SameModule =
        "FROM /messages/* WHERE $connectionDeviceId = 'device1' INTO BrokeredEndpoint(\"/modules/ml/inputs/in1\")\n" +
        "FROM /messages/modules/ml/outputs/op1 WHERE $connectionModuleId = 'ml' INTO BrokeredEndpoint(\"/modules/ml/inputs/in2\")\n" +
        "FROM /messages/modules/ml/outputs/op2 INTO BrokeredEndpoint(\"/modules/asa/inputs/input1\")";

    private const string NoOutput =
        "FROM /messages WHERE $connectionDeviceId = 'device1' INTO BrokeredEndpoint(\"/modules/ml/inputs/in1\")\n" +
        "FROM /messages/modules/ml INTO BrokeredEndpoint(\"/modules/asa/inputs/input1\")\n" +
        "FROM /messages/modules/asa/* INTO $upstream";

    private const string NoOutputWrongRoute =
        "FROM /messages WHERE $connectionDeviceId = 'device1' INTO BrokeredEndpoint(\"/modules/ml/inputs/in1\")\n" +
        "FROM /messages/modules/ml INTO BrokeredEndpoint(\"/modules/asa/inputs/input1\")\n" +
        "FROM /messages/modules/asa/outputs/output1 INTO $upstream";

    private const string Conditions1 =
        "FROM /messages WHERE as_number(temp) > 50 INTO BrokeredEndpoint(\"/modules/ml/inputs/in1\")\n" +
        "FROM /messages/modules/ml WHERE messageType = 'alert' INTO BrokeredEndpoint(\"/modules/asa/inputs/input1\")\n" +
        "FROM /messages/modules/asa/outputs/output1 WHERE info = 'aggregate' INTO $upstream";

    private const string Conditions2 =
        "FROM /messages WHERE as_number(temp) > 50 INTO BrokeredEndpoint(\"/modules/mod1/inputs/in1\")\n" +
        "FROM /messages/* WHERE as_number(temp) < 50 INTO BrokeredEndpoint(\"/modules/mod2/inputs/in2\")";

    private const string SystemProperties =
        "FROM /messages WHERE $contentType = 'application/json' AND $contentEncoding = 'utf-8' INTO $upstream\n" +
        "FROM /messages WHERE $contentType = 'application/json' AND $contentEncoding <> 'utf-8' INTO BrokeredEndpoint(\"/modules/mod2/inputs/in2\")";

    private const string Twin = "FROM /twinChangeNotifications INTO BrokeredEndpoint(\"/modules/mod1/inputs/in1\")";

    /// <summary>Sender: <c>device1</c> (a leaf device), <c>module/output</c>, <c>module</c> (no output), <c>twin:{device}[/{module}]</c>.</summary>
    [Theory]
    [InlineData("RouteToCloudTest", "FROM /messages INTO $upstream", "device1", "", "$upstream")]
    [InlineData("RouteToModuleTest", "FROM /messages INTO BrokeredEndpoint(\"/modules/mod1/inputs/in1\")", "device1", "", "mod1/in1")]
    [InlineData("MultipleRoutesTest", Multiple, "device1", "", "ml/in1")]
    [InlineData("MultipleRoutesTest", Multiple, "ml/op1", "", "asa/input1")]
    [InlineData("MultipleRoutesTest", Multiple, "asa/output1", "", "$upstream")]
    [InlineData("MultipleRoutesSameModuleTest", SameModule, "device1", "", "ml/in1")]
    [InlineData("MultipleRoutesSameModuleTest", SameModule, "ml/op1", "", "ml/in2")]
    [InlineData("MultipleRoutesSameModuleTest", SameModule, "ml/op2", "", "asa/input1")]
    [InlineData("MultipleRoutesTest_WithNoModuleOutput", NoOutput, "device1", "", "ml/in1")]
    [InlineData("MultipleRoutesTest_WithNoModuleOutput", NoOutput, "ml", "", "asa/input1")]
    [InlineData("MultipleRoutesTest_WithNoModuleOutput", NoOutput, "asa", "", "$upstream")]
    [InlineData("MultipleRoutesTest_WithNoModuleOutput_WrongRoute", NoOutputWrongRoute, "device1", "", "ml/in1")]
    [InlineData("MultipleRoutesTest_WithNoModuleOutput_WrongRoute", NoOutputWrongRoute, "ml", "", "asa/input1")]
    [InlineData("MultipleRoutesTest_WithNoModuleOutput_WrongRoute", NoOutputWrongRoute, "asa", "", "")]
    [InlineData("RoutesWithConditionsTest1", Conditions1, "device1", "temp=100", "ml/in1")]
    [InlineData("RoutesWithConditionsTest1", Conditions1, "ml/op1", "messageType=alert", "asa/input1")]
    [InlineData("RoutesWithConditionsTest1", Conditions1, "asa/output1", "info=aggregate", "$upstream")]
    [InlineData("RoutesWithConditionsTest2", Conditions2, "device1", "temp=100", "mod1/in1")]
    [InlineData("RoutesWithConditionsTest2", Conditions2, "device1", "temp=20", "mod2/in2")]
    [InlineData("RoutesWithConditionsOnSystemPropertiesTest1", SystemProperties, "device1", "sys:contentType=application/json;sys:contentEncoding=utf-8", "$upstream")]
    [InlineData("RoutesWithConditionsOnSystemPropertiesTest1", SystemProperties, "device1", "sys:contentType=application/json;sys:contentEncoding=utf-16", "mod2/in2")]
    [InlineData("TestRoutingTwinChangeNotificationFromDevice", Twin, "twin:device1", "", "mod1/in1")]
    [InlineData("TestRoutingTwinChangeNotificationFromModule", Twin, "twin:edge/mod2", "", "mod1/in1")]
    [InlineData("ReportedPropertyUpdatesAsTelemetryTest", "FROM /* INTO $upstream", "twin:device1", "", "$upstream")]
    public void Routes_UpstreamStep_DeliverWhereEdgeHubDoes(string upstreamMethod, string routes, string sender, string properties, string expected)
    {
        var parsed = routes.Split('\n').Select((r, i) => Route.Parse($"r{i}", r)).ToList();
        var message = Message(sender, properties);

        var sinks = parsed.Where(r => r.IsMatch(message)).Select(r => r.Sink switch
        {
            ModuleInputSink m => $"{m.ModuleId}/{m.InputName}",
            var s => s.ToString(),
        });

        string.Join(",", sinks.Distinct()).ShouldBe(expected, $"RoutingTest.{upstreamMethod}: {sender}");
    }

    // RoutingTest.GetMessage: application properties Prop1/Prop2, a message id; the hub adds the connection properties and
    // derives the source (RoutingMessageConverter / ModuleMessageSource).
    private static RoutingMessage Message(string sender, string properties)
    {
        var app = new Dictionary<string, string> { ["Prop1"] = "Val1", ["Prop2"] = "Val2" };
        var sys = new Dictionary<string, string> { ["messageId"] = "m-1" };
        foreach (var p in properties.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var (k, v) = (p[..p.IndexOf('=', StringComparison.Ordinal)], p[(p.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            if (k.StartsWith("sys:", StringComparison.Ordinal))
            {
                sys[k[4..]] = v;
            }
            else
            {
                app[k] = v;
            }
        }

        if (sender.StartsWith("twin:", StringComparison.Ordinal))
        {
            var id = sender[5..].Split('/');
            sys["connectionDeviceId"] = id[0];
            if (id.Length > 1)
            {
                sys["connectionModuleId"] = id[1];
            }

            sys["contentType"] = "application/json";
            sys["contentEncoding"] = "utf-8";
            return new RoutingMessage("/twinChangeNotifications", "{\"properties\":{\"reported\":{\"a\":1}}}"u8.ToArray(), app, sys);
        }

        if (sender == "device1")
        {
            sys["connectionDeviceId"] = "device1";
            return new RoutingMessage("/messages", "Message body"u8.ToArray(), app, sys);
        }

        var parts = sender.Split('/');
        return RoutingMessage.FromModule(Edge, parts[0], parts.Length > 1 ? parts[1] : null, "Message body"u8.ToArray(), app, sys);
    }
}
