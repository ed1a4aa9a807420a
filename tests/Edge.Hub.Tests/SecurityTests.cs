using System.Text;
using MQTTnet;
using MQTTnet.Protocol;

namespace Edge.Hub.Tests;

/// <summary>edgeHub's security checks (docs/reliability-suite.md, "Security checks"), each negative with a raw MQTTnet client over TLS.</summary>
public sealed class SecurityTests
{
    private static readonly string[] Modules = ["sensor", "filter"];

    private static Task<HubTestHost> StartAsync() => HubTestHost.StartAsync(
        HubTestHost.Deployment(HubTestHost.Routes(("all", "FROM /messages/modules/sensor/* INTO BrokeredEndpoint(\"/modules/filter/inputs/in\")", null, null)), 7200, Modules));

    [Fact]
    public async Task Connect_ValidToken_Accepted()
    {
        await using var host = await StartAsync();
        var (_, code) = await host.ConnectRawAsync("dev1/sensor", host.ModuleUsername("sensor"), host.ModuleToken("sensor"));
        code.ShouldBe(MqttClientConnectResultCode.Success);
        host.Sim.GetStatus().Refusals.ShouldBeEmpty();
    }

    [Fact]
    public async Task Connect_BadSignature_RefusedAndCounted()
    {
        await using var host = await StartAsync();
        var (_, code) = await host.ConnectRawAsync("dev1/sensor", host.ModuleUsername("sensor"), host.ModuleToken("sensor", key: Convert.ToBase64String(new byte[32])));
        code.ShouldBe(MqttClientConnectResultCode.NotAuthorized);
        host.Sim.GetStatus().Refusals["bad-signature"].ShouldBe(1);
    }

    [Fact]
    public async Task Connect_ExpiredToken_RefusedAndCounted()
    {
        await using var host = await StartAsync();
        // edgeHub allows 5 minutes of clock skew; this one expired 6 minutes ago.
        var (_, code) = await host.ConnectRawAsync("dev1/sensor", host.ModuleUsername("sensor"),
            host.ModuleToken("sensor", expires: TimeProvider.System.GetUtcNow().AddMinutes(-6)));
        code.ShouldBe(MqttClientConnectResultCode.NotAuthorized);
        host.Sim.GetStatus().Refusals["expired-token"].ShouldBe(1);
    }

    [Fact]
    public async Task Connect_TokenWithinClockSkew_Accepted()
    {
        await using var host = await StartAsync();
        var (_, code) = await host.ConnectRawAsync("dev1/sensor", host.ModuleUsername("sensor"),
            host.ModuleToken("sensor", expires: TimeProvider.System.GetUtcNow().AddMinutes(-2)));
        code.ShouldBe(MqttClientConnectResultCode.Success);
    }

    [Fact]
    public async Task Connect_TokenForOtherModule_RefusedAsWrongAudience()
    {
        await using var host = await StartAsync();
        // Signed correctly with sensor's key, but the audience names filter.
        var (_, code) = await host.ConnectRawAsync("dev1/sensor", host.ModuleUsername("sensor"),
            host.ModuleToken("sensor", audienceModule: "filter"));
        code.ShouldBe(MqttClientConnectResultCode.NotAuthorized);
        host.Sim.GetStatus().Refusals["wrong-audience"].ShouldBe(1);
    }

    [Fact]
    public async Task Connect_TokenForWrongHost_RefusedAsWrongAudience()
    {
        await using var host = await StartAsync();
        var (_, code) = await host.ConnectRawAsync("dev1/sensor", host.ModuleUsername("sensor"), host.ModuleToken("sensor", host: "other.azure-devices.net"));
        code.ShouldBe(MqttClientConnectResultCode.NotAuthorized);
        host.Sim.GetStatus().Refusals["wrong-audience"].ShouldBe(1);
    }

    [Fact]
    public async Task Connect_GatewayHostAudience_Accepted()
    {
        await using var host = await StartAsync();
        var (_, code) = await host.ConnectRawAsync("dev1/sensor", host.ModuleUsername("sensor"), host.ModuleToken("sensor", host: "localhost"));
        code.ShouldBe(MqttClientConnectResultCode.Success);
    }

    [Fact]
    public async Task Connect_ClientIdMismatch_RefusedAndCounted()
    {
        await using var host = await StartAsync();
        var (_, code) = await host.ConnectRawAsync("dev1/filter", host.ModuleUsername("sensor"), host.ModuleToken("sensor"));
        code.ShouldBe(MqttClientConnectResultCode.NotAuthorized);
        host.Sim.GetStatus().Refusals["client-id-mismatch"].ShouldBe(1);
    }

    [Fact]
    public async Task Connect_MissingApiVersion_RefusedAndCounted()
    {
        await using var host = await StartAsync();
        var (_, code) = await host.ConnectRawAsync("dev1/sensor", "localhost/dev1/sensor/?DeviceClientType=test", host.ModuleToken("sensor"));
        code.ShouldBe(MqttClientConnectResultCode.NotAuthorized);
        host.Sim.GetStatus().Refusals["missing-api-version"].ShouldBe(1);
    }

    [Fact]
    public async Task Connect_UnknownModule_Refused()
    {
        await using var host = await StartAsync();
        var token = host.ModuleToken("ghost", key: Convert.ToBase64String(new byte[32]));
        var (_, code) = await host.ConnectRawAsync("dev1/ghost", host.ModuleUsername("ghost"), token);
        code.ShouldBe(MqttClientConnectResultCode.NotAuthorized);
        host.Sim.GetStatus().Refusals["unknown-identity"].ShouldBe(1);
    }

    [Fact]
    public async Task Publish_AsOtherModule_ConnectionClosedAndNothingRouted()
    {
        await using var host = await StartAsync();
        var filter = await host.StartModuleAsync("filter");
        var intruder = await host.ConnectModuleAsync("other");

        // "other" publishes on sensor's topic: routed as sensor it would reach filter.
        var publish = intruder.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "out", "x"u8.ToArray()), HubTestHost.Ct);
        await Should.ThrowAsync<Exception>(() => publish.WaitAsync(HubTestHost.Wait, TimeProvider.System, HubTestHost.Ct));
        await HubTestHost.EventuallyAsync(() => !intruder.IsConnected, "the intruder to be disconnected");

        // Sentinel: sensor's own message on the same route. Had the intruder's been stored, it would reach filter first.
        await ShouldArriveFirstAsync(host, filter);
        var status = host.Sim.GetStatus();
        status.Refusals["publish-as-other"].ShouldBe(1);
        status.MessagesReceived.ShouldBe(1, "only the sentinel is accepted");
    }

    [Fact]
    public async Task Subscribe_OtherModulesTopics_Refused()
    {
        await using var host = await StartAsync();
        var spy = await host.ConnectModuleAsync("other");
        var result = await spy.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("devices/dev1/modules/filter/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), HubTestHost.Ct);
        result.Items.Single().ResultCode.ShouldBe(MqttClientSubscribeResultCode.UnspecifiedError);
        var all = await spy.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("#").Build(), HubTestHost.Ct);
        all.Items.Single().ResultCode.ShouldBe(MqttClientSubscribeResultCode.UnspecifiedError);
        host.Sim.GetStatus().Refusals["subscribe-not-authorized"].ShouldBe(2);

        // And nothing of filter's leaks to it.
        var received = 0;
        spy.ApplicationMessageReceivedAsync += _ =>
        {
            Interlocked.Increment(ref received);
            return Task.CompletedTask;
        };
        var filter = await host.StartModuleAsync("filter");
        var sensor = await host.ConnectModuleAsync("sensor");
        await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "out", "x"u8.ToArray()), HubTestHost.Ct);
        (await filter.TakeAsync(1)).Count.ShouldBe(1);
        received.ShouldBe(0);
    }

    [Fact]
    public async Task Subscribe_Qos2_GrantedQos1()
    {
        await using var host = await StartAsync();
        var client = await host.ConnectModuleAsync("filter");
        var result = await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("devices/dev1/modules/filter/#", MqttQualityOfServiceLevel.ExactlyOnce).Build(), HubTestHost.Ct);
        result.Items.Single().ResultCode.ShouldBe(MqttClientSubscribeResultCode.GrantedQoS1);
    }

    [Fact]
    public async Task Publish_Qos2_ConnectionClosedAndCounted()
    {
        await using var host = await StartAsync();
        var filter = await host.StartModuleAsync("filter");
        var sensor = await host.ConnectModuleAsync("sensor");
        var message = HubTestHost.Telemetry("dev1", "sensor", "out", "x"u8.ToArray());
        message.QualityOfServiceLevel = MqttQualityOfServiceLevel.ExactlyOnce;
        await Should.ThrowAsync<Exception>(() => sensor.PublishAsync(message, HubTestHost.Ct).WaitAsync(HubTestHost.Wait, TimeProvider.System, HubTestHost.Ct));
        await HubTestHost.EventuallyAsync(() => !sensor.IsConnected, "the QoS 2 sender to be disconnected");

        // Sentinel on the same route: the refused QoS 2 message, had it been stored, would reach filter first.
        await ShouldArriveFirstAsync(host, filter);
        var status = host.Sim.GetStatus();
        status.Refusals["qos2"].ShouldBe(1);
        status.MessagesReceived.ShouldBe(1, "only the sentinel is accepted");
    }

    /// <summary>
    /// Barrier after a refused publish: sensor (connected afresh) sends a legitimate message on the route sensor/out → filter;
    /// filter's queue is first in, first out, so the sentinel must be the first message filter receives, and nothing follows it.
    /// </summary>
    private static async Task ShouldArriveFirstAsync(HubTestHost host, TestModule filter)
    {
        var sensor = await host.ConnectModuleAsync("sensor");
        (await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "out", "sentinel"u8.ToArray()), HubTestHost.Ct)).IsSuccess.ShouldBeTrue();
        Encoding.UTF8.GetString((await filter.TakeAsync(1))[0].Payload).ShouldBe("sentinel", "the refused message must not reach filter");
        await filter.ShouldHaveReceivedNothingMoreAsync();
    }

    [Fact]
    public async Task Publish_Oversize_ConnectionClosedWithoutPubAckAndCounted()
    {
        await using var host = await StartAsync();
        var filter = await host.StartModuleAsync("filter");
        var sensor = await host.ConnectModuleAsync("sensor");

        // Body under 256 KB, but body + properties over it (docs/protocol.md, "Topics and property bags", sizes): edgeHub counts both.
        var body = new byte[(256 * 1024) - 100];
        var big = HubTestHost.Telemetry("dev1", "sensor", "out", body, ("note", new string('a', 200)));
        await Should.ThrowAsync<Exception>(() => sensor.PublishAsync(big, HubTestHost.Ct).WaitAsync(HubTestHost.Wait, TimeProvider.System, HubTestHost.Ct));
        await HubTestHost.EventuallyAsync(() => !sensor.IsConnected, "the oversize sender to be disconnected");
        host.Sim.GetStatus().Refusals["oversize"].ShouldBe(1);
        host.Logs.Entries.ShouldContain(e => e.EventId == HubEventIds.PublishRefused && e.Message.Contains("oversize", StringComparison.Ordinal));

        // A message just under the limit goes through.
        var ok = await host.ConnectModuleAsync("sensor");
        var fits = HubTestHost.Telemetry("dev1", "sensor", "out", new byte[200 * 1024]);
        (await ok.PublishAsync(fits, HubTestHost.Ct)).IsSuccess.ShouldBeTrue();
        (await filter.TakeAsync(1))[0].Payload.Length.ShouldBe(200 * 1024);
    }

    [Fact]
    public async Task Publish_UnknownTopic_DroppedAndCounted()
    {
        await using var host = await StartAsync();
        var sensor = await host.ConnectModuleAsync("sensor");
        await sensor.PublishAsync(new MqttApplicationMessageBuilder().WithTopic("random/topic").WithPayload(Encoding.UTF8.GetBytes("x"))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build(), HubTestHost.Ct);
        host.Sim.GetStatus().Drops["unknown-topic"].ShouldBe(1);
    }
}
