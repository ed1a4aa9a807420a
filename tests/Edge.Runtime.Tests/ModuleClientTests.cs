using System.Text;
using System.Text.Json.Nodes;
using Edge.Runtime.Client;
using Edge.Runtime.Diagnostics;
using Edge.Protocol;
using Edge.TestSupport;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using MQTTnet.Protocol;

namespace Edge.Runtime.Tests;

public sealed class ModuleClientTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly TempDirectory _dir = new("runtime-client");
    private TestBroker _broker = null!;

    public async ValueTask InitializeAsync() => _broker = await TestBroker.StartAsync(_dir.Path);

    public async ValueTask DisposeAsync()
    {
        await _broker.DisposeAsync();
        _dir.Dispose();
    }

    private ClientHarness Harness(Action<EdgeHubClientOptions>? hub = null, Action<OutboxOptions>? outbox = null) =>
        ClientHarness.Create(_broker, Path.Combine(_dir.Path, "state"), hub, outbox);

    [Fact]
    public async Task Connect_ConnectionString_SendsSpecClientIdUsernameAndSas()
    {
        await using var h = Harness();
        await h.StartAndWaitConnectedAsync();

        var connect = _broker.Connects.Single();
        connect.ClientId.ShouldBe("edge1/mod1");
        connect.UserName.ShouldBe("localhost/edge1/mod1/?api-version=2020-09-30&DeviceClientType=Edge.Runtime%2F1.0");
        connect.CleanSession.ShouldBeFalse();
        connect.Result.ShouldBe(MqttConnectReasonCode.Success);
        SasToken.TryParse(connect.Password, out var token, out _).ShouldBeTrue();
        token!.Resource.ShouldBe("testhub.azure-devices.net%2Fdevices%2Fedge1%2Fmodules%2Fmod1");
        token.IsSignedWith(_broker.SharedKey).ShouldBeTrue();
        connect.Password!.ShouldStartWith("SharedAccessSignature sr=testhub.azure-devices.net%2Fdevices%2Fedge1%2Fmodules%2Fmod1&sig=");
        var ttl = token.ExpiresAtUnixSeconds - TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        ttl.ShouldBeInRange(3590, 3601);

        await TestBroker.WaitUntilAsync(() => _broker.Subscriptions.Count >= 4, Wait, "4 subscriptions");
        _broker.Subscriptions.Select(s => s.Filter).ShouldBe(["$iothub/twin/res/#", "$iothub/twin/PATCH/properties/desired/#", "$iothub/methods/POST/#", "devices/edge1/modules/mod1/#"]);
        _broker.Subscriptions.ShouldAllBe(s => s.Qos == MqttQualityOfServiceLevel.AtLeastOnce);
        h.Errors.ShouldBeEmpty();
    }

    [Fact]
    public async Task SendAsync_OutputWithProperties_PublishesSpecTopicAtQos1()
    {
        await using var h = Harness();
        await h.StartAndWaitConnectedAsync();

        var msg = new EdgeMessage
        {
            Body = Encoding.UTF8.GetBytes("{\"temperature\":81.2}"),
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            MessageId = "m-1",
            CorrelationId = "c/1",
            Properties = new Dictionary<string, string> { ["severity"] = "3" },
        };
        var result = await h.Client.SendAsync("alerts", msg, CancellationToken.None);
        result.Status.ShouldBe(SendStatus.Accepted);
        result.Sequence.ShouldBeGreaterThan(0);

        await TestBroker.WaitUntilAsync(() => _broker.Events.Any(), Wait, "the event");
        var e = _broker.Events.Single();
        e.Topic.ShouldBe("devices/edge1/modules/mod1/messages/events/%24.on=alerts&%24.ct=application%2Fjson&%24.ce=utf-8&%24.mid=m-1&%24.cid=c%2F1&severity=3/");
        e.Qos.ShouldBe(MqttQualityOfServiceLevel.AtLeastOnce);
        e.PayloadText.ShouldBe("{\"temperature\":81.2}");
        await TestBroker.WaitUntilAsync(() => h.Outbox.Count == 0, Wait, "the outbox to drain");
        h.Errors.ShouldBeEmpty();
    }

    [Fact]
    public async Task SendAsync_NoMessageId_AssignsGuid()
    {
        await using var h = Harness();
        await h.StartAndWaitConnectedAsync();
        await h.Client.SendAsync("out", new EdgeMessage { Body = new byte[] { 1 } }, CancellationToken.None);
        await TestBroker.WaitUntilAsync(() => _broker.Events.Any(), Wait, "the event");
        var topic = _broker.Events.Single().Topic;
        topic.ShouldStartWith("devices/edge1/modules/mod1/messages/events/%24.on=out&%24.mid=");
        Guid.TryParse(topic.Split("%24.mid=")[1].TrimEnd('/'), out _).ShouldBeTrue();
    }

    [Fact]
    public async Task SendAsync_TooLarge_RejectedWithoutPersisting()
    {
        await using var h = Harness();
        var result = await h.Client.SendAsync("out", new EdgeMessage { Body = new byte[256 * 1024] }, CancellationToken.None);
        result.Status.ShouldBe(SendStatus.RejectedTooLarge);
        h.Outbox.Count.ShouldBe(0);
    }

    [Fact]
    public async Task InputHandler_Message_SeesSenderAndPropertiesAndAcksAfterHandler()
    {
        await using var h = Harness();
        var gate = new TaskCompletionSource();
        var received = new TaskCompletionSource<InputMessageArguments>();
        h.Client.SetMethodHandler("ping", (_, _) => Task.FromResult(new MethodResponse(200, null)));
        h.Client.SetInputHandler("in1", async (args, ct) =>
        {
            received.TrySetResult(args);
            await gate.Task.WaitAsync(ct);
        });
        await h.StartAndWaitConnectedAsync();

        await _broker.SendInputAsync("in1", Encoding.UTF8.GetBytes("hello"), [new("$.ct", "application/json"), new("$.mid", "x-1"), new("severity", "3")]);
        var args = await received.Task.WaitAsync(Wait, TestContext.Current.CancellationToken);
        args.InputName.ShouldBe("in1");
        args.SenderDeviceId.ShouldBe("edge1");
        args.SenderModuleId.ShouldBe("sender");
        args.Message.MessageId.ShouldBe("x-1");
        args.Message.ContentType.ShouldBe("application/json");
        args.Message.Properties.ShouldBe(new Dictionary<string, string> { ["severity"] = "3" });
        args.Message.BodyAsString().ShouldBe("hello");

        // The handler has not completed: no PUBACK for it. A method call sent after it and answered proves the client has
        // handled a later message meanwhile (its own PUBACK waits behind the input's: PUBACKs go in arrival order).
        var (status, _) = await _broker.InvokeMethodAsync("ping", null, Wait);
        status.ShouldBe(200);
        _broker.ClientAcks.ShouldNotContain(t => t.Contains("/inputs/in1", StringComparison.Ordinal));
        gate.SetResult();
        await TestBroker.WaitUntilAsync(() => _broker.ClientAcks.Any(t => t.Contains("/inputs/in1", StringComparison.Ordinal)), Wait, "the PUBACK");
        h.Errors.ShouldBeEmpty();
    }

    [Fact]
    public async Task InputHandler_Throws_MessageNotAcknowledged()
    {
        await using var h = Harness();
        using var received = new MetricCollector<long>(h.Metrics.Received);
        var calls = 0;
        h.Client.SetInputHandler("in1", (args, ct) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                throw new InvalidOperationException("boom");
            }

            return Task.CompletedTask;
        });
        await h.StartAndWaitConnectedAsync();

        await _broker.SendInputAsync("in1", [1]);
        await TestBroker.WaitUntilAsync(() => Volatile.Read(ref calls) == 1, Wait, "the handler");
        await _broker.SendInputAsync("in1", [2]);
        await TestBroker.WaitUntilAsync(() => _broker.ClientAcks.Count == 1, Wait, "the second PUBACK");

        // PUBACKs go in arrival order: once the second message's is in, the first's can no longer come.
        _broker.ClientAcks.Count.ShouldBe(1);
        await TestBroker.WaitUntilAsync(() => received.GetMeasurementSnapshot().Count == 2, Wait, "both results counted");
        received.GetMeasurementSnapshot().Select(m => (string?)m.Tags["result"]).ShouldBe(["failed", "handled"]);
    }

    [Fact]
    public async Task Input_NoHandler_AcknowledgedAndCounted()
    {
        await using var h = Harness();
        await h.StartAndWaitConnectedAsync();
        await _broker.SendInputAsync("nobody", [1]);
        await TestBroker.WaitUntilAsync(() => _broker.ClientAcks.Count == 1, Wait, "the PUBACK");
        h.Collector.GetSnapshot().ShouldContain(r => r.Id.Id == RuntimeEventIds.InputUnhandled);
    }

    [Fact]
    public async Task Method_Known_RespondsWithStatusAndPayload()
    {
        await using var h = Harness();
        h.Client.SetMethodHandler("ping", (args, ct) => Task.FromResult(new MethodResponse(201, new JsonObject { ["echo"] = args.PayloadJson()!["x"]!.GetValue<int>() })));
        await h.StartAndWaitConnectedAsync();
        var (status, payload) = await _broker.InvokeMethodAsync("ping", "{\"x\":5}", Wait);
        status.ShouldBe(201);
        payload.ShouldBe("{\"echo\":5}");
        _broker.Publishes.ShouldContain(p => p.Topic.StartsWith("$iothub/methods/res/201/?$rid=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Method_Unknown_Responds501WithMessage()
    {
        await using var h = Harness();
        h.Client.SetMethodHandler("ping", (args, ct) => Task.FromResult(MethodResponse.Ok(null)));
        await h.StartAndWaitConnectedAsync();
        var (status, payload) = await _broker.InvokeMethodAsync("reboot", null, Wait);
        status.ShouldBe(501);
        payload.ShouldContain("'reboot' is not implemented by module 'mod1'");
        payload.ShouldContain("ping");
    }

    [Fact]
    public async Task Method_HandlerThrows_Responds500()
    {
        await using var h = Harness();
        h.Client.SetMethodHandler("bad", (args, ct) => throw new InvalidOperationException("nope"));
        await h.StartAndWaitConnectedAsync();
        var (status, payload) = await _broker.InvokeMethodAsync("bad", null, Wait);
        status.ShouldBe(500);
        payload.ShouldContain("nope");
    }
}
