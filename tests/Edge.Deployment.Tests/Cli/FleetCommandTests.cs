using System.Text.Json.Nodes;
using Edge.Deployment.Manifests;
using Edge.Deployment.Tests.IoTHub;
using Edge.Deployment.Tests.Manifests;

namespace Edge.Deployment.Tests.Cli;

/// <summary>
/// The <c>edge</c> fleet and manifest commands as a user runs them (a child process) against the fake IoT Hub: what is sent,
/// what is printed, the exit code, and that no secret is printed.
/// </summary>
public sealed class FleetCommandTests : IAsyncLifetime
{
    private const string Key = "c2VjcmV0LWtleS1mb3ItY2xpLXRlc3RzLTEyMzQ1Njc4OTA=";
    private FakeIoTHub _hub = null!;
    private DirectoryInfo _dir = null!;

    private Dictionary<string, string?> Env => new()
    {
        ["IOTHUB_CONNECTION_STRING"] = $"HostName=contoso.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={Key}",
        ["IOTHUB_ENDPOINT"] = _hub.Endpoint.ToString().TrimEnd('/'),
    };

    public async ValueTask InitializeAsync()
    {
        _hub = await FakeIoTHub.StartAsync();
        _dir = Directory.CreateTempSubdirectory("edge-cli-");
    }

    public async ValueTask DisposeAsync()
    {
        await _hub.DisposeAsync();
        _dir.Delete(true);
    }

    [Fact]
    public async Task Deploy_ValidManifestToDevice_AppliedExit0()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 204, null);
        var manifest = WriteManifest(Solution.Minimal());

        var r = await EdgeCli.RunAsync(Env, null, "deploy", manifest, "--device", "edge-1");

        r.ExitCode.ShouldBe(0, EdgeCli.Describe(r));
        r.Stdout.ShouldContain("applied");
        var request = _hub.Requests.Single();
        request.Path.ShouldBe("/devices/edge-1/applyConfigurationContent");
        JsonNode.DeepEquals(JsonNode.Parse(request.Body)!["modulesContent"], Solution.Minimal()["modulesContent"]).ShouldBeTrue();
    }

    [Fact]
    public async Task Deploy_InvalidManifest_NothingSentExit2()
    {
        var m = Solution.Minimal();
        Solution.Module(m, "CameraCapture")["status"] = "paused";
        var r = await EdgeCli.RunAsync(Env, null, "deploy", WriteManifest(m), "--device", "edge-1");
        r.ExitCode.ShouldBe(2, EdgeCli.Describe(r));
        r.Stderr.ShouldContain("modules.CameraCapture.status");
        _hub.Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task Deploy_AtScale_PutsConfiguration()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 200, """{"id":"camera-ai-7","etag":"MQ=="}""");
        var r = await EdgeCli.RunAsync(Env, null, "deploy", WriteManifest(Solution.Minimal()),
            "--at-scale", "camera-ai-7", "--target-condition", "tags.site='lab'", "--priority", "5", "--label", "app=camera-ai");
        r.ExitCode.ShouldBe(0, EdgeCli.Describe(r));
        var request = _hub.Requests.Single();
        (request.Method, request.Path).ShouldBe(("PUT", "/configurations/camera-ai-7"));
        var body = JsonNode.Parse(request.Body)!;
        body["priority"]!.GetValue<int>().ShouldBe(5);
        body["labels"]!["app"]!.GetValue<string>().ShouldBe("camera-ai");
    }

    [Theory]
    [InlineData("Camera-AI")]
    [InlineData("camera ai")]
    public async Task Deploy_AtScaleInvalidId_UsageExit2(string id)
    {
        var r = await EdgeCli.RunAsync(Env, null, "deploy", WriteManifest(Solution.Minimal()), "--at-scale", id, "--target-condition", "tags.a='b'");
        r.ExitCode.ShouldBe(2, EdgeCli.Describe(r));
        r.Stderr.ShouldContain("deployment id");
        _hub.Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task TwinSet_NoETag_ReadsTwinThenPatchesWithItsETag()
    {
        _hub.Respond = (req, ctx) => req.Method == "GET"
            ? FakeIoTHub.Reply(ctx, 200, """{"deviceId":"edge-1","moduleId":"Inference","etag":"AAAAAAAAAAE=","properties":{"desired":{}}}""")
            : FakeIoTHub.Reply(ctx, 200, """{"etag":"AAAAAAAAAAI=","properties":{"desired":{"thresholds":{"minScore":0.7},"$version":2}}}""");

        var r = await EdgeCli.RunAsync(Env, null, "twin", "set", "edge-1", "Inference", "thresholds.minScore=0.7", "debug=null");

        r.ExitCode.ShouldBe(0, EdgeCli.Describe(r));
        _hub.Requests.Select(x => x.Method).ShouldBe(["GET", "PATCH"]);
        var patch = _hub.Requests[1];
        patch.Headers["If-Match"].ShouldBe("\"AAAAAAAAAAE=\"");
        patch.Body.ShouldBe("""{"properties":{"desired":{"thresholds":{"minScore":0.7},"debug":null}}}""");
        r.Stdout.ShouldContain("etag AAAAAAAAAAI=");
    }

    [Fact]
    public async Task TwinSet_StaleETag_ExplainsAndExit1()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 412, """{"Message":"ErrorCode:PreconditionFailed;etag mismatch"}""", ("iothub-errorcode", "PreconditionFailed"));
        var r = await EdgeCli.RunAsync(Env, null, "twin", "set", "edge-1", "Inference", "a=1", "--etag", "AAAAAAAAAAE=");
        r.ExitCode.ShouldBe(1, EdgeCli.Describe(r));
        r.Stderr.ShouldContain("--etag '*'");
        r.Stderr.ShouldContain("PreconditionFailed");
        _hub.Requests.Single().Headers["If-Match"].ShouldBe("\"AAAAAAAAAAE=\"");
    }

    [Fact]
    public async Task TwinGet_DeviceNotFound_HubCodeShownKeyNeverPrinted()
    {
        _hub.Respond = (req, ctx) => FakeIoTHub.Reply(ctx, 404, $$"""{"Message":"ErrorCode:DeviceNotFound;no device edge-9 (auth {{req.Headers["Authorization"]}})"}""",
            ("iothub-errorcode", "404001"));
        var r = await EdgeCli.RunAsync(Env, null, "twin", "get", "edge-9", "Inference");
        r.ExitCode.ShouldBe(1, EdgeCli.Describe(r));
        r.Stderr.ShouldContain("IoT Hub answered 404 NotFound (error 404001)");
        r.Stderr.ShouldContain("sig=***");
        (r.Stdout + r.Stderr).ShouldNotContain(Key);
    }

    [Fact]
    public async Task MethodInvoke_PayloadAndTimeout_StatusPrintedExit0()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 200, """{"status":200,"payload":{"ok":true}}""");
        var r = await EdgeCli.RunAsync(Env, null, "method", "invoke", "edge-1", "Inference", "getStatus", """{"verbose":true}""", "--timeout", "10");
        r.ExitCode.ShouldBe(0, EdgeCli.Describe(r));
        r.Stdout.ShouldStartWith("status 200");
        _hub.Requests.Single().Body.ShouldBe("""{"methodName":"getStatus","responseTimeoutInSeconds":10,"payload":{"verbose":true}}""");
    }

    [Fact]
    public async Task MethodInvoke_ModuleReturnsError_Exit1()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 200, """{"status":500,"payload":{"error":"model not loaded"}}""");
        var r = await EdgeCli.RunAsync(Env, null, "method", "invoke", "edge-1", "Inference", "reloadModel");
        r.ExitCode.ShouldBe(1, EdgeCli.Describe(r));
        r.Stdout.ShouldContain("model not loaded");
    }

    [Theory]
    [InlineData("{not json")]
    public async Task MethodInvoke_BadPayload_UsageExit2(string payload)
    {
        var r = await EdgeCli.RunAsync(Env, null, "method", "invoke", "edge-1", "Inference", "x", payload);
        r.ExitCode.ShouldBe(2, EdgeCli.Describe(r));
        r.Stderr.ShouldContain("payload is not JSON");
        _hub.Requests.ShouldBeEmpty();
    }

    [Fact]
    public async Task FleetCommand_NoConnectionStringNoLocalHub_Exit3()
    {
        // No connection string: the local hub is looked for; an empty EDGE_HUB_STATE folder holds none.
        var empty = Directory.CreateTempSubdirectory("edge-nohub").FullName;
        try
        {
            var r = await EdgeCli.RunAsync(new Dictionary<string, string?> { ["EDGE_HUB_STATE"] = empty }, null, "twin", "get", "edge-1", "Inference");
            r.ExitCode.ShouldBe(3, EdgeCli.Describe(r));
            r.Stderr.ShouldContain("IOTHUB_CONNECTION_STRING");
            r.Stderr.ShouldContain("start one with 'edge hub");
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task Monitor_Count_PrintsUpstreamMessagesAndExits()
    {
        _hub.Respond = async (_, ctx) =>
        {
            ctx.Response.ContentType = "text/event-stream";
            await Microsoft.AspNetCore.Http.HttpResponseWritingExtensions.WriteAsync(ctx.Response,
                "event: upstream\ndata: {\"sourceModuleId\":\"CameraCapture\",\"outputName\":\"health\",\"body\":{\"fps\":5}}\n\n" +
                "event: upstream\ndata: {\"sourceModuleId\":\"Inference\",\"outputName\":\"detections\",\"body\":{\"faces\":2},\"enqueuedAt\":\"t1\"}\n\n",
                ctx.RequestAborted);
            await Task.Delay(TimeSpan.FromSeconds(30), TimeProvider.System, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        };
        var r = await EdgeCli.RunAsync(Env, null, "monitor", "--module", "Inference", "--count", "1");
        r.ExitCode.ShouldBe(0, EdgeCli.Describe(r));
        r.Stdout.Trim().ShouldBe("""t1 Inference/detections {"faces":2}""");
    }

    private string WriteManifest(JsonObject manifest)
    {
        var path = Path.Combine(_dir.FullName, Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, ManifestJson.Serialize(manifest));
        return path;
    }
}
