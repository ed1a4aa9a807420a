using System.Net;
using System.Text.Json.Nodes;
using Edge.Deployment.IoTHub;
using Edge.Protocol;
using Edge.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Edge.Deployment.Tests.IoTHub;

/// <summary>The service REST client against a fake IoT Hub on loopback: exact paths, api-version, headers, bodies, errors, retries.</summary>
public sealed class IoTHubServiceClientTests : IAsyncLifetime
{
    private const string Key = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY3ODkw";
    private static readonly IoTHubConnectionString Connection = new("contoso.azure-devices.net", "iothubowner", Key);
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Now);
    private readonly FakeLogger<IoTHubServiceClient> _logger = new();
    private FakeIoTHub _hub = null!;
    private IoTHubServiceClient _client = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _hub = await FakeIoTHub.StartAsync();
        _client = NewClient();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _hub.DisposeAsync();
    }

    [Fact]
    public async Task ApplyConfigurationContentAsync_Device_PostsModulesContentWithServiceSas()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 204, null);
        var content = JsonNode.Parse("""{"$edgeAgent":{"properties.desired":{"schemaVersion":"1.1"}},"Inference":{"properties.desired":{"a":1}}}""")!.AsObject();

        await _client.ApplyConfigurationContentAsync("edge-1", content, Ct);

        var r = _hub.Requests.Single();
        r.Method.ShouldBe("POST");
        r.Path.ShouldBe("/devices/edge-1/applyConfigurationContent");
        r.Query.ShouldBe("?api-version=2021-04-12");
        r.Headers["Content-Type"].ShouldBe("application/json; charset=utf-8");
        r.Headers["Accept"].ShouldBe("application/json");
        r.Headers.ContainsKey("Expect").ShouldBeFalse();
        JsonNode.DeepEquals(JsonNode.Parse(r.Body), new JsonObject { ["modulesContent"] = content.DeepClone() }).ShouldBeTrue(r.Body);
        AssertServiceSas(r);
    }

    [Fact]
    public async Task ApplyConfigurationContentAsync_IdNeedingEscape_EscapedInPath()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 204, null);
        await _client.ApplyConfigurationContentAsync("site/7#a", [], Ct);
        _hub.Requests.Single().Path.ShouldBe("/devices/site%2F7%23a/applyConfigurationContent");
    }

    [Fact]
    public async Task CreateDeploymentAsync_AtScale_PutsContentTargetPriorityMetrics()
    {
        _hub.Respond = (r, ctx) => FakeIoTHub.Reply(ctx, 200, r.Body.Replace("\"id\"", "\"etag\":\"MQ==\",\"id\"", StringComparison.Ordinal));
        var content = JsonNode.Parse("""{"$edgeHub":{"properties.desired":{"schemaVersion":"1.1"}}}""")!.AsObject();

        var created = await _client.CreateDeploymentAsync("camera-ai-42", content, "tags.site='lab'", 10,
            new Dictionary<string, string> { ["healthy"] = "SELECT deviceId FROM devices.modules WHERE moduleId = 'Inference'" },
            new Dictionary<string, string> { ["app"] = "camera-ai" }, Ct);

        var r = _hub.Requests.Single();
        r.Method.ShouldBe("PUT");
        r.Path.ShouldBe("/configurations/camera-ai-42");
        r.Query.ShouldBe("?api-version=2021-04-12");
        r.Headers.ContainsKey("If-Match").ShouldBeFalse();
        var body = JsonNode.Parse(r.Body)!;
        body["id"]!.GetValue<string>().ShouldBe("camera-ai-42");
        body["targetCondition"]!.GetValue<string>().ShouldBe("tags.site='lab'");
        body["priority"]!.GetValue<int>().ShouldBe(10);
        body["labels"]!["app"]!.GetValue<string>().ShouldBe("camera-ai");
        body["metrics"]!["queries"]!["healthy"]!.GetValue<string>().ShouldStartWith("SELECT deviceId");
        JsonNode.DeepEquals(body["content"]!["modulesContent"], content).ShouldBeTrue();
        created["etag"]!.GetValue<string>().ShouldBe("MQ==");
        AssertServiceSas(r);
    }

    [Fact]
    public async Task GetModuleTwinAsync_ReturnsTwin()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 200, """{"deviceId":"edge-1","moduleId":"Inference","etag":"AAAAAAAAAAE=","properties":{"desired":{"$version":3}}}""");

        var twin = await _client.GetModuleTwinAsync("edge-1", "Inference", Ct);

        twin["etag"]!.GetValue<string>().ShouldBe("AAAAAAAAAAE=");
        var r = _hub.Requests.Single();
        (r.Method, r.Path, r.Query).ShouldBe(("GET", "/twins/edge-1/modules/Inference", "?api-version=2021-04-12"));
        AssertServiceSas(r);
    }

    [Theory]
    [InlineData("AAAAAAAAAAE=", "\"AAAAAAAAAAE=\"")]
    [InlineData("\"AAAAAAAAAAE=\"", "\"AAAAAAAAAAE=\"")]
    [InlineData("*", "*")]
    public async Task UpdateModuleTwinDesiredAsync_ETag_QuotedIfMatchAndMergePatchBody(string etag, string ifMatch)
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 200, """{"etag":"AAAAAAAAAAI=","properties":{"desired":{"thresholds":{"minScore":0.7},"$version":4}}}""");
        var patch = TwinPatch.Parse(["thresholds.minScore=0.7", "obsolete=null"]);

        var twin = await _client.UpdateModuleTwinDesiredAsync("edge-1", "Inference", patch, etag, Ct);

        var r = _hub.Requests.Single();
        (r.Method, r.Path).ShouldBe(("PATCH", "/twins/edge-1/modules/Inference"));
        r.Headers["If-Match"].ShouldBe(ifMatch);
        r.Body.ShouldBe("""{"properties":{"desired":{"thresholds":{"minScore":0.7},"obsolete":null}}}""");
        twin["etag"]!.GetValue<string>().ShouldBe("AAAAAAAAAAI=");
    }

    [Fact]
    public async Task UpdateModuleTwinDesiredAsync_StaleETag_412WithHubCode()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 412, """{"Message":"ErrorCode:PreconditionFailed;Precondition failed: twin etag mismatch","ExceptionMessage":""}""",
            ("iothub-errorcode", "PreconditionFailed"));

        var ex = await Should.ThrowAsync<IoTHubException>(() => _client.UpdateModuleTwinDesiredAsync("edge-1", "Inference", [], "old", Ct));

        ex.StatusCode.ShouldBe(HttpStatusCode.PreconditionFailed);
        ex.ErrorCode.ShouldBe("PreconditionFailed");
        ex.Message.ShouldBe("IoT Hub answered 412 PreconditionFailed (error PreconditionFailed): Precondition failed: twin etag mismatch");
        _hub.Requests.Count.ShouldBe(1);
    }

    [Fact]
    public async Task InvokeModuleMethodAsync_PayloadAndTimeouts_StatusAndPayloadBack()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 200, """{"status":200,"payload":{"model":"blazeface-front","fps":4.9}}""");

        var result = await _client.InvokeModuleMethodAsync("edge-1", "Inference", "getStatus", JsonNode.Parse("""{"verbose":true}"""), 20, 5, Ct);

        result.Status.ShouldBe(200);
        result.Payload!["model"]!.GetValue<string>().ShouldBe("blazeface-front");
        var r = _hub.Requests.Single();
        (r.Method, r.Path, r.Query).ShouldBe(("POST", "/twins/edge-1/modules/Inference/methods", "?api-version=2021-04-12"));
        r.Body.ShouldBe("""{"methodName":"getStatus","responseTimeoutInSeconds":20,"connectTimeoutInSeconds":5,"payload":{"verbose":true}}""");
        AssertServiceSas(r);
    }

    [Fact]
    public async Task InvokeModuleMethodAsync_NoPayloadNoConnectTimeout_NullPayloadFieldOmitted()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 200, """{"status":404,"payload":null}""");
        var result = await _client.InvokeModuleMethodAsync("edge-1", "Inference", "reboot", null, 30, 0, Ct);
        result.Status.ShouldBe(404);
        _hub.Requests.Single().Body.ShouldBe("""{"methodName":"reboot","responseTimeoutInSeconds":30,"payload":null}""");
    }

    [Fact]
    public async Task InvokeModuleMethodAsync_DeviceOffline_NestedJsonErrorCodeShown()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 404,
            """{"Message":"{\"errorCode\":404103,\"trackingId\":\"b1c2\",\"message\":\"Timed out waiting for device to connect.\",\"timestampUtc\":\"2026-11-25T12:00:00Z\"}","ExceptionMessage":""}""");

        var ex = await Should.ThrowAsync<IoTHubException>(() => _client.InvokeModuleMethodAsync("edge-1", "Inference", "getStatus", null, 30, 0, Ct));

        ex.ErrorCode.ShouldBe("404103");
        ex.TrackingId.ShouldBe("b1c2");
        ex.Message.ShouldBe("IoT Hub answered 404 NotFound (error 404103): Timed out waiting for device to connect. [tracking id b1c2]");
    }

    [Fact]
    public async Task InvokeModuleMethodAsync_GatewayTimeout_NotRetriedBecauseTheMethodMayHaveRun()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 504, """{"errorCode":504101,"message":"Timed out waiting for the response from device."}""");
        var ex = await Should.ThrowAsync<IoTHubException>(() => _client.InvokeModuleMethodAsync("edge-1", "Inference", "reboot", null, 5, 0, Ct));
        ex.StatusCode.ShouldBe(HttpStatusCode.GatewayTimeout);
        ex.ErrorCode.ShouldBe("504101");
        _hub.Requests.Count.ShouldBe(1);
    }

    [Fact]
    public async Task SendAsync_ServiceUnavailableThenOk_RetriedAndLogged()
    {
        var calls = 0;
        _hub.Respond = (_, ctx) => ++calls <= 2
            ? FakeIoTHub.Reply(ctx, 503, """{"Message":"ErrorCode:ServiceUnavailable;try later"}""")
            : FakeIoTHub.Reply(ctx, 200, """{"etag":"x"}""");

        var twin = await _client.GetModuleTwinAsync("edge-1", "Inference", Ct);

        twin["etag"]!.GetValue<string>().ShouldBe("x");
        _hub.Requests.Count.ShouldBe(3);
        _logger.Collector.GetSnapshot().Count(r => r.Id.Id == DeploymentEventIds.IoTHubRequestRetrying && r.Level == LogLevel.Warning).ShouldBe(2);
    }

    [Fact]
    public async Task SendAsync_Throttled_RetriedHonouringRetryAfter()
    {
        var calls = 0;
        _hub.Respond = (_, ctx) => ++calls == 1
            ? FakeIoTHub.Reply(ctx, 429, """{"Message":"ErrorCode:ThrottlingException;slow down"}""", ("Retry-After", "7"))
            : FakeIoTHub.Reply(ctx, 204, null);

        // The retry waits on the (fake) clock for the hub's 7 s, not for the base delay (zero in these tests).
        var apply = _client.ApplyConfigurationContentAsync("edge-1", [], Ct);
        await TestBroker.WaitUntilAsync(() => _logger.Collector.GetSnapshot().Any(r => r.Id.Id == DeploymentEventIds.IoTHubRequestRetrying), TimeSpan.FromSeconds(10), "the retry to be scheduled");
        _logger.Collector.GetSnapshot().Single(r => r.Id.Id == DeploymentEventIds.IoTHubRequestRetrying).Message.ShouldContain("retrying in 7000 ms");
        _time.Advance(TimeSpan.FromSeconds(6));
        apply.IsCompleted.ShouldBeFalse("the clock has not reached the Retry-After delay: no timer can have fired");
        _hub.Requests.Count.ShouldBe(1);
        _time.Advance(TimeSpan.FromSeconds(7)); // past the delay even if its timer started just after the first advance
        await apply.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        _hub.Requests.Count.ShouldBe(2);
    }

    [Fact]
    public async Task SendAsync_PersistentServerError_GivesUpAfterMaxRetriesWithTheHubError()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 500, """{"Message":"ErrorCode:ServerError;boom"}""", ("iothub-errorcode", "ServerError"));
        var ex = await Should.ThrowAsync<IoTHubException>(() => _client.GetModuleTwinAsync("edge-1", "Inference", Ct));
        ex.ErrorCode.ShouldBe("ServerError");
        _hub.Requests.Count.ShouldBe(5);
    }

    [Fact]
    public async Task SendAsync_ClientError_NotRetried()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 400, """{"Message":"ErrorCode:ArgumentInvalid;bad modulesContent"}""");
        var ex = await Should.ThrowAsync<IoTHubException>(() => _client.ApplyConfigurationContentAsync("edge-1", [], Ct));
        ex.ErrorCode.ShouldBe("ArgumentInvalid");
        ex.HubMessage.ShouldBe("bad modulesContent");
        _hub.Requests.Count.ShouldBe(1);
    }

    [Fact]
    public async Task SendAsync_ErrorEchoingSecrets_Redacted()
    {
        _hub.Respond = (r, ctx) => FakeIoTHub.Reply(ctx, 401, $$"""{"Message":"Unauthorized: {{r.Headers["Authorization"]}} SharedAccessKey={{Key}}"}""");
        var ex = await Should.ThrowAsync<IoTHubException>(() => _client.GetModuleTwinAsync("edge-1", "Inference", Ct));
        var sig = SasToken.TryParse(_hub.Requests[0].Headers["Authorization"], out var token, out _) ? token!.Signature : "?";
        ex.Message.ShouldNotContain(Key);
        ex.Message.ShouldNotContain(Uri.EscapeDataString(sig));
        ex.Message.ShouldContain("sig=***");
        ex.Message.ShouldContain("SharedAccessKey=***");
    }

    [Fact]
    public async Task SendAsync_HubStalls_AttemptTimesOut()
    {
        using var client = NewClient(new IoTHubServiceClientOptions { MaxRetries = 0, AttemptTimeout = TimeSpan.FromMilliseconds(200) }, TimeProvider.System);
        _hub.Respond = async (_, ctx) =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(10), TimeProvider.System, ctx.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }
        };
        await Should.ThrowAsync<Polly.Timeout.TimeoutRejectedException>(() => client.GetModuleTwinAsync("edge-1", "Inference", Ct));
    }

    [Fact]
    public async Task SendAsync_NothingListening_ConnectionErrorAfterRetries()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = NewClient(new IoTHubServiceClientOptions { Endpoint = new Uri($"http://127.0.0.1:{port}"), RetryBaseDelay = TimeSpan.Zero, MaxRetries = 2 });
        await Should.ThrowAsync<HttpRequestException>(() => client.GetModuleTwinAsync("edge-1", "Inference", Ct));
        _logger.Collector.GetSnapshot().Count(r => r.Id.Id == DeploymentEventIds.IoTHubRequestRetrying).ShouldBe(2);
    }

    [Fact]
    public void ConnectionString_Parse_ValidAndRedacted()
    {
        var cs = IoTHubConnectionString.Parse($"HostName=contoso.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={Key}");
        cs.ShouldBe(Connection);
        cs.ToString().ShouldBe("HostName=contoso.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=***");
    }

    [Theory]
    [InlineData("HostName=h;SharedAccessKeyName=p", "lacks SharedAccessKey")]
    [InlineData("HostName=h;DeviceId=d;SharedAccessKey=c2VjcmV0", "device connection string")]
    [InlineData("HostName=h;SharedAccessKeyName=p;SharedAccessKey=not*base64", "not Base64")]
    [InlineData("garbage", "Name=value")]
    public void ConnectionString_Parse_InvalidNamesTheProblemWithoutTheKey(string text, string expected)
    {
        var ex = Should.Throw<FormatException>(() => IoTHubConnectionString.Parse(text));
        ex.Message.ShouldContain(expected);
        ex.Message.ShouldNotContain("not*base64");
    }

    private IoTHubServiceClient NewClient(IoTHubServiceClientOptions? options = null, TimeProvider? time = null)
    {
        options ??= new IoTHubServiceClientOptions();
        options.Endpoint ??= _hub.Endpoint;
        if (options.RetryBaseDelay == new IoTHubServiceClientOptions().RetryBaseDelay)
        {
            options.RetryBaseDelay = TimeSpan.Zero;
        }

        return new IoTHubServiceClient(Connection, options, timeProvider: time ?? _time, logger: _logger);
    }

    private static void AssertServiceSas(RecordedRequest r)
    {
        SasToken.TryParse(r.Headers["Authorization"], out var token, out var error).ShouldBeTrue(error);
        token!.PolicyName.ShouldBe("iothubowner");
        token.Resource.ShouldBe("contoso.azure-devices.net");
        token.ExpiresAtUnixSeconds.ShouldBe(Now.AddHours(1).ToUnixTimeSeconds());
        token.IsSignedWith(Key).ShouldBeTrue();
    }
}
