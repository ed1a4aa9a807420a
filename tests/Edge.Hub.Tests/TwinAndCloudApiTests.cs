using System.Buffers;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using MQTTnet;
using MQTTnet.Protocol;

namespace Edge.Hub.Tests;

/// <summary>Twins and direct methods over MQTT and the IoT-Hub-style cloud API with SAS auth.</summary>
public sealed class TwinAndCloudApiTests
{
    private static Task<HubTestHost> StartAsync(Action<SimulatorOptions>? configure = null) => HubTestHost.StartAsync(
        HubTestHost.Deployment(HubTestHost.Routes(("twin", "FROM /twinChangeNotifications INTO $upstream", null, null)), 7200, "filter"), configure);

    private static async Task<IMqttClient> TwinClientAsync(HubTestHost host, string module, List<MqttApplicationMessage> received)
    {
        var client = await host.ConnectModuleAsync(module);
        client.ApplicationMessageReceivedAsync += e =>
        {
            lock (received)
            {
                received.Add(e.ApplicationMessage);
            }

            return Task.CompletedTask;
        };
        foreach (var f in new[] { "$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#", "$iothub/methods/POST/#" })
        {
            await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(f, MqttQualityOfServiceLevel.AtLeastOnce).Build(), HubTestHost.Ct);
        }

        return client;
    }

    private static async Task<MqttApplicationMessage> WaitForAsync(List<MqttApplicationMessage> received, Func<MqttApplicationMessage, bool> match)
    {
        MqttApplicationMessage? found = null;
        await HubTestHost.EventuallyAsync(() =>
        {
            lock (received)
            {
                found = received.FirstOrDefault(match);
            }

            return found is not null;
        }, "an MQTT message");
        return found!;
    }

    private static MqttApplicationMessage Qos0(string topic, string body) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes(body)).Build();

    [Fact]
    public async Task TwinGet_OverMqtt_ReturnsDesiredFromDeploymentWithVersions()
    {
        await using var host = await StartAsync();
        var received = new List<MqttApplicationMessage>();
        var client = await TwinClientAsync(host, "filter", received);
        await client.PublishAsync(Qos0("$iothub/twin/GET/?$rid=1", ""), HubTestHost.Ct);
        var res = await WaitForAsync(received, m => m.Topic.StartsWith("$iothub/twin/res/", StringComparison.Ordinal));
        res.Topic.ShouldBe("$iothub/twin/res/200/?$rid=1");
        var twin = JsonNode.Parse(res.Payload.ToArray())!;
        twin["desired"]!["setting"]!.GetValue<string>().ShouldBe("filter");
        twin["desired"]!["$version"]!.GetValue<long>().ShouldBeGreaterThan(0);
        twin["reported"]!["$version"]!.GetValue<long>().ShouldBe(1, "nothing reported yet: the first reported version");
    }

    [Fact]
    public async Task ReportedPatch_OverMqtt_204StoredAndRoutedAsTwinChangeNotification()
    {
        await using var host = await StartAsync();
        var upstream = host.Sim.ReadUpstreamAsync(HubTestHost.Ct);
        var received = new List<MqttApplicationMessage>();
        var client = await TwinClientAsync(host, "filter", received);
        await client.PublishAsync(Qos0("$iothub/twin/PATCH/properties/reported/?$rid=abc", "{\"fps\":15,\"gone\":null}"), HubTestHost.Ct);
        (await WaitForAsync(received, m => m.Topic.StartsWith("$iothub/twin/res/", StringComparison.Ordinal))).Topic.ShouldBe("$iothub/twin/res/204/?$rid=abc");

        var twin = await host.Sim.GetModuleTwinAsync("filter", HubTestHost.Ct);
        twin["reported"]!["fps"]!.GetValue<int>().ShouldBe(15);

        var note = (await host.ReadUpstreamAsync(1, upstream))[0];
        note.SystemProperties["messageSchema"].ShouldBe("twinChangeNotification");
        note.SystemProperties["connectionModuleId"].ShouldBe("filter");
        JsonNode.Parse(note.Body.Span)!["fps"]!.GetValue<int>().ShouldBe(15);
    }

    [Fact]
    public async Task ReportedPatch_MalformedJson_400AndNothingStored()
    {
        await using var host = await StartAsync();
        var received = new List<MqttApplicationMessage>();
        var client = await TwinClientAsync(host, "filter", received);
        await client.PublishAsync(Qos0("$iothub/twin/PATCH/properties/reported/?$rid=9", "{not json"), HubTestHost.Ct);
        (await WaitForAsync(received, m => m.Topic.StartsWith("$iothub/twin/res/", StringComparison.Ordinal))).Topic.ShouldBe("$iothub/twin/res/400/?$rid=9");
        host.Sim.GetStatus().Refusals["bad-reported-patch"].ShouldBe(1);
    }

    [Fact]
    public async Task TwinPatch_ThroughHttpWithEtag_PushedToModuleWithVersion()
    {
        await using var host = await StartAsync();
        var received = new List<MqttApplicationMessage>();
        await TwinClientAsync(host, "filter", received);
        using var http = HubTestHost.Http(host.Sim.ApiUri);

        using var get = await http.SendAsync(host.Request(HttpMethod.Get, "twins/dev1/modules/filter?api-version=2021-04-12"), HubTestHost.Ct);
        get.StatusCode.ShouldBe(HttpStatusCode.OK);
        var etag = get.Headers.ETag!.Tag;
        var twin = (await get.Content.ReadFromJsonAsync<JsonObject>(HubTestHost.Ct))!;
        twin["etag"]!.GetValue<string>().ShouldBe(etag.Trim('"'));
        var version = twin["properties"]!["desired"]!["$version"]!.GetValue<long>();

        var patch = host.Request(HttpMethod.Patch, "twins/dev1/modules/filter?api-version=2021-04-12",
            JsonContent.Create(new JsonObject { ["properties"] = new JsonObject { ["desired"] = new JsonObject { ["threshold"] = 0.7, ["setting"] = null } } }));
        patch.Headers.TryAddWithoutValidation("If-Match", etag);
        using var patched = await http.SendAsync(patch, HubTestHost.Ct);
        patched.StatusCode.ShouldBe(HttpStatusCode.OK);
        var after = (await patched.Content.ReadFromJsonAsync<JsonObject>(HubTestHost.Ct))!;
        after["properties"]!["desired"]!["threshold"]!.GetValue<double>().ShouldBe(0.7);
        after["properties"]!["desired"]!.AsObject().ContainsKey("setting").ShouldBeFalse();

        var push = await WaitForAsync(received, m => m.Topic.StartsWith("$iothub/twin/PATCH/properties/desired/", StringComparison.Ordinal));
        push.Topic.ShouldBe($"$iothub/twin/PATCH/properties/desired/?$version={version + 1}");
        var body = JsonNode.Parse(push.Payload.ToArray())!.AsObject();
        body["threshold"]!.GetValue<double>().ShouldBe(0.7);
        body.ContainsKey("setting").ShouldBeTrue();
        body["setting"].ShouldBeNull();
        body["$version"]!.GetValue<long>().ShouldBe(version + 1);

        // The old ETag is now stale.
        var stale = host.Request(HttpMethod.Patch, "twins/dev1/modules/filter?api-version=2021-04-12",
            JsonContent.Create(new JsonObject { ["properties"] = new JsonObject { ["desired"] = new JsonObject { ["threshold"] = 0.1 } } }));
        stale.Headers.TryAddWithoutValidation("If-Match", etag);
        using var refused = await http.SendAsync(stale, HubTestHost.Ct);
        refused.StatusCode.ShouldBe(HttpStatusCode.PreconditionFailed);
        refused.Headers.GetValues("iothub-errorcode").Single().ShouldBe("PreconditionFailed");
        (await host.Sim.GetModuleTwinAsync("filter", HubTestHost.Ct))["desired"]!["threshold"]!.GetValue<double>().ShouldBe(0.7);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("bad-signature")]
    [InlineData("no-skn")]
    [InlineData("expired")]
    public async Task CloudApi_BadToken_401WithIotHubErrorBody(string kind)
    {
        await using var host = await StartAsync();
        using var http = HubTestHost.Http(host.Sim.ApiUri);
        var req = new HttpRequestMessage(HttpMethod.Get, "twins/dev1/modules/filter?api-version=2021-04-12");
        var resource = WebUtility.UrlEncode(host.Sim.HubHostName);
        var token = kind switch
        {
            "bad-signature" => Edge.Protocol.SasToken.Create(resource, Convert.ToBase64String(new byte[32]), TimeProvider.System.GetUtcNow().AddHours(1), "iothubowner").ToString(),
            "no-skn" => Edge.Protocol.SasToken.Create(resource, host.Sim.PolicyKey, TimeProvider.System.GetUtcNow().AddHours(1)).ToString(),
            "expired" => Edge.Protocol.SasToken.Create(resource, host.Sim.PolicyKey, TimeProvider.System.GetUtcNow().AddHours(-1), "iothubowner").ToString(),
            _ => null,
        };
        if (token is not null)
        {
            req.Headers.TryAddWithoutValidation("Authorization", token);
        }

        using var res = await http.SendAsync(req, HubTestHost.Ct);
        res.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        res.Headers.GetValues("iothub-errorcode").Single().ShouldBe("IotHubUnauthorizedAccess");
        var body = (await res.Content.ReadFromJsonAsync<JsonObject>(HubTestHost.Ct))!;
        body["Message"]!.GetValue<string>().ShouldContain("401002");
        body["ExceptionMessage"]!.GetValue<string>().ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task Method_ThroughHttp_RoundTripsStatusAndPayload()
    {
        await using var host = await StartAsync();
        var received = new List<MqttApplicationMessage>();
        var client = await TwinClientAsync(host, "filter", received);
        client.ApplicationMessageReceivedAsync += async e =>
        {
            var topic = e.ApplicationMessage.Topic;
            if (topic.StartsWith("$iothub/methods/POST/", StringComparison.Ordinal))
            {
                var parts = topic.Split('/');
                var rid = parts[4]["?$rid=".Length..];
                var request = JsonNode.Parse(e.ApplicationMessage.Payload.ToArray())!;
                var reply = new JsonObject { ["method"] = parts[3], ["echo"] = request["n"]!.GetValue<int>() * 2 };
                await client.PublishAsync(Qos0($"$iothub/methods/res/201/?$rid={rid}", reply.ToJsonString()));
            }
        };
        using var http = HubTestHost.Http(host.Sim.ApiUri);
        using var res = await http.SendAsync(host.Request(HttpMethod.Post, "twins/dev1/modules/filter/methods?api-version=2021-04-12",
            JsonContent.Create(new JsonObject { ["methodName"] = "reset", ["responseTimeoutInSeconds"] = 10, ["payload"] = new JsonObject { ["n"] = 21 } })), HubTestHost.Ct);
        res.StatusCode.ShouldBe(HttpStatusCode.OK);
        var body = (await res.Content.ReadFromJsonAsync<JsonObject>(HubTestHost.Ct))!;
        body["status"]!.GetValue<int>().ShouldBe(201);
        body["payload"]!["method"]!.GetValue<string>().ShouldBe("reset");
        body["payload"]!["echo"]!.GetValue<int>().ShouldBe(42);
    }

    [Fact]
    public async Task Method_ModuleNotConnected_404With404103()
    {
        await using var host = await StartAsync();
        using var http = HubTestHost.Http(host.Sim.ApiUri);
        using var res = await http.SendAsync(host.Request(HttpMethod.Post, "twins/dev1/modules/filter/methods?api-version=2021-04-12",
            JsonContent.Create(new JsonObject { ["methodName"] = "reset", ["payload"] = null })), HubTestHost.Ct);
        res.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        res.Headers.GetValues("iothub-errorcode").Single().ShouldBe("DeviceNotOnline");
        (await res.Content.ReadAsStringAsync(HubTestHost.Ct)).ShouldContain("404103");
    }

    [Fact]
    public async Task Method_NoAnswerInTime_504()
    {
        await using var host = await StartAsync();
        var received = new List<MqttApplicationMessage>();
        await TwinClientAsync(host, "filter", received);
        var ex = await Should.ThrowAsync<MethodInvocationException>(() =>
            host.Sim.InvokeMethodAsync("filter", "slow", null, TimeSpan.FromMilliseconds(300), HubTestHost.Ct));
        ex.Status.ShouldBe(504);
        ex.ErrorCode.ShouldBe(504101);
        var request = await WaitForAsync(received, m => m.Topic.StartsWith("$iothub/methods/POST/slow/?$rid=", StringComparison.Ordinal));
        request.Payload.ToArray().ShouldBe("null"u8.ToArray(), "no payload is sent as JSON null");
    }

    [Fact]
    public async Task ApplyConfigurationContent_ThroughHttp_RoutesLiveAndEdgeAgentEventRaised()
    {
        await using var host = await StartAsync();
        var agent = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        host.Sim.EdgeAgentDesiredChanged += (desired, _) =>
        {
            agent.TrySetResult(desired);
            return Task.CompletedTask;
        };
        var upstream = host.Sim.ReadUpstreamAsync(HubTestHost.Ct);
        var content = HubTestHost.Deployment(HubTestHost.Routes(("up", "FROM /messages/modules/camera/* INTO $upstream", null, null)), 60, "camera");
        content["$edgeAgent"] = new JsonObject { ["properties.desired"] = new JsonObject { ["schemaVersion"] = "1.1", ["modules"] = new JsonObject() } };
        using var http = HubTestHost.Http(host.Sim.ApiUri);
        using var res = await http.SendAsync(host.Request(HttpMethod.Post, "devices/dev1/applyConfigurationContent?api-version=2021-04-12",
            JsonContent.Create(new JsonObject { ["modulesContent"] = content })), HubTestHost.Ct);
        res.StatusCode.ShouldBe(HttpStatusCode.NoContent);

        (await agent.Task.WaitAsync(HubTestHost.Wait, TimeProvider.System, HubTestHost.Ct))["schemaVersion"]!.GetValue<string>().ShouldBe("1.1");
        var status = host.Sim.GetStatus();
        status.Routes.Select(r => r.Name).ShouldBe(["up"]);
        status.StoreAndForwardTimeToLiveSecs.ShouldBe(60);
        var hubTwin = await host.Sim.GetModuleTwinAsync("$edgeHub", HubTestHost.Ct);
        hubTwin["reported"]!["lastDesiredStatus"]!["code"]!.GetValue<int>().ShouldBe(200);

        var camera = await host.ConnectModuleAsync("camera");
        await camera.PublishAsync(HubTestHost.Telemetry("dev1", "camera", "frames", "{}"u8.ToArray()), HubTestHost.Ct);
        (await host.ReadUpstreamAsync(1, upstream))[0].SourceModuleId.ShouldBe("camera");
    }

    [Fact]
    public async Task ApplyDeployment_InvalidEdgeHubRoutes_KeepsLastGoodRoutesAndReports400()
    {
        await using var host = await StartAsync();
        var bad = HubTestHost.Deployment(HubTestHost.Routes(("broken", "FROM /messages INTO nowhere", null, null)));
        await host.Sim.ApplyDeploymentAsync(bad, HubTestHost.Ct);
        var status = host.Sim.GetStatus();
        status.LastConfigError.ShouldStartWith("$.routes.broken: ");
        status.Routes.Select(r => r.Name).ShouldBe(["twin"]);
        var hubTwin = await host.Sim.GetModuleTwinAsync("$edgeHub", HubTestHost.Ct);
        hubTwin["reported"]!["lastDesiredStatus"]!["code"]!.GetValue<int>().ShouldBe(400);
        hubTwin["reported"]!["lastDesiredStatus"]!["description"]!.GetValue<string>().ShouldBe(status.LastConfigError);
    }

    [Fact]
    public async Task SimulatorApi_StatusUpstreamInjectAndFaults_Work()
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(
            ("up", "FROM /messages/modules/sensor/* INTO $upstream", null, null)), 7200, "sensor", "filter"));
        using var http = HubTestHost.Http(host.Sim.ApiUri);
        var filter = await host.StartModuleAsync("filter");
        using (var inject = await http.SendAsync(host.Request(HttpMethod.Post, "simulator/modules/filter/inputs/in?kind=test",
            new StringContent("{\"a\":1}", Encoding.UTF8, "application/json")), HubTestHost.Ct))
        {
            inject.StatusCode.ShouldBe(HttpStatusCode.Accepted);
        }

        (await filter.TakeAsync(1))[0].Topic.ShouldStartWith("devices/dev1/modules/filter/inputs/in/kind=test");

        (await http.SendAsync(host.Request(HttpMethod.Post, "simulator/faults/upstream/offline"), HubTestHost.Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        var sensor = await host.ConnectModuleAsync("sensor");
        await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", "{\"n\":1}"u8.ToArray()), HubTestHost.Ct);
        var status = (await (await http.SendAsync(host.Request(HttpMethod.Get, "simulator/status"), HubTestHost.Ct)).Content.ReadFromJsonAsync<JsonObject>(HubTestHost.Ct))!;
        status["upstreamOnline"]!.GetValue<bool>().ShouldBeFalse();
        // The injected input message's row may still await its delete commit: look at the $upstream queue only.
        status["queues"]!.AsArray().Single(q => q!["endpoint"]!.GetValue<string>() == "$upstream")!["depth"]!.GetValue<long>().ShouldBe(1);

        (await http.SendAsync(host.Request(HttpMethod.Post, "simulator/faults/upstream/online"), HubTestHost.Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await HubTestHost.EventuallyAsync(() => host.Sim.GetStatus().UpstreamDelivered == 1, "the upstream backlog to drain");
        var recent = (await (await http.SendAsync(host.Request(HttpMethod.Get, "simulator/upstream?count=10"), HubTestHost.Ct)).Content.ReadFromJsonAsync<JsonArray>(HubTestHost.Ct))!;
        recent.Single()!["body"]!.GetValue<string>().ShouldBe("{\"n\":1}");

        (await http.SendAsync(host.Request(HttpMethod.Post, "simulator/faults/drop/filter"), HubTestHost.Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await HubTestHost.EventuallyAsync(() => !filter.Client.IsConnected, "filter to be dropped");
        (await http.SendAsync(host.Request(HttpMethod.Post, "simulator/faults/latency/5"), HubTestHost.Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        host.Sim.GetStatus().UpstreamLatency.ShouldBe(TimeSpan.FromMilliseconds(5));
        (await http.SendAsync(host.Request(HttpMethod.Post, "simulator/faults/restart"), HubTestHost.Ct)).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        await HubTestHost.EventuallyAsync(() => !sensor.IsConnected, "the restart to drop connections");
    }

    [Fact]
    public async Task SimulatorApi_UpstreamStream_ServerSentEvents()
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(
            ("up", "FROM /messages/modules/sensor/* INTO $upstream", null, null)), 7200, "sensor"));
        using var http = HubTestHost.Http(host.Sim.ApiUri);
        using var res = await http.SendAsync(host.Request(HttpMethod.Get, "simulator/upstream/stream"), HttpCompletionOption.ResponseHeadersRead, HubTestHost.Ct);
        res.Content.Headers.ContentType!.MediaType.ShouldBe("text/event-stream");
        var sensor = await host.ConnectModuleAsync("sensor");
        await using var stream = await res.Content.ReadAsStreamAsync(HubTestHost.Ct);
        using var reader = new StreamReader(stream);
        await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", "{\"n\":2}"u8.ToArray()), HubTestHost.Ct);
        string? line;
        do
        {
            line = await reader.ReadLineAsync(HubTestHost.Ct).AsTask().WaitAsync(HubTestHost.Wait, TimeProvider.System, HubTestHost.Ct);
        }
        while (line is not null && !line.StartsWith("data: ", StringComparison.Ordinal));

        JsonNode.Parse(line!["data: ".Length..])!["body"]!.GetValue<string>().ShouldBe("{\"n\":2}");
    }
}
