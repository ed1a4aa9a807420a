using System.Text;
using System.Buffers;
using MQTTnet.Protocol;

namespace Edge.Hub.Tests;

/// <summary>Routing, persistent store-and-forward, ordering, TTL, restarts and ack-timeout redelivery.</summary>
public sealed class StoreAndForwardTests
{
    private const string SensorToFilter = "FROM /messages/modules/sensor/outputs/* INTO BrokeredEndpoint(\"/modules/filter/inputs/in\")";
    private const string SensorUpstream = "FROM /messages/modules/sensor/* INTO $upstream";

    private static byte[] Body(int i) => Encoding.UTF8.GetBytes($"{{\"seq\":{i}}}");

    private static int Seq(ReadOnlyMemory<byte> body) =>
        System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("seq").GetInt32();

    [Fact]
    public async Task Route_ModuleToModule_DeliveredWithSenderIdsAndWithoutOutputName()
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(("r", SensorToFilter, null, null)), 7200, "sensor", "filter"));
        var filter = await host.StartModuleAsync("filter");
        var sensor = await host.ConnectModuleAsync("sensor");
        var msg = HubTestHost.Telemetry("dev1", "sensor", "temp", "{\"t\":21}"u8.ToArray(), ("$.ct", "application/json"), ("$.ce", "utf-8"),
            ("$.mid", "m-1"), ("severity", "3"));
        (await sensor.PublishAsync(msg, HubTestHost.Ct)).IsSuccess.ShouldBeTrue();

        var got = (await filter.TakeAsync(1))[0];
        got.Topic.ShouldStartWith("devices/dev1/modules/filter/inputs/in/");
        got.Topic.ShouldNotEndWith("/");
        var bag = got.Topic["devices/dev1/modules/filter/inputs/in/".Length..];
        Edge.Protocol.PropertyBag.TryDecode(bag, out var props).ShouldBeTrue();
        var d = props.ToDictionary(p => p.Key, p => p.Value);
        d["$.cdid"].ShouldBe("dev1");
        d["$.cmid"].ShouldBe("sensor");
        d["$.ct"].ShouldBe("application/json");
        d["$.ce"].ShouldBe("utf-8");
        d["$.mid"].ShouldBe("m-1");
        d["severity"].ShouldBe("3");
        d.ShouldNotContainKey("$.on");
        d.Keys.First().ShouldBe("severity"); // application properties first, then system properties (§8)
        Encoding.UTF8.GetString(got.Payload).ShouldBe("{\"t\":21}");
        got.QualityOfServiceLevel.ShouldBe(MqttQualityOfServiceLevel.AtLeastOnce);
        await HubTestHost.EventuallyAsync(() => host.Sim.GetStatus().MessagesDelivered == 1, "the PUBACK to be processed");
        host.Sim.GetStatus().Routes.Single().Matched.ShouldBe(1);
    }

    [Fact]
    public async Task Route_WhereCondition_OnlyMatchingMessagesRouted()
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(
            ("hot", "FROM /messages/modules/sensor/* WHERE $body.t > 30 INTO $upstream", null, null)), 7200, "sensor"));
        host.Sim.GetStatus().LastConfigError.ShouldBeNull();
        var upstream = host.Sim.ReadUpstreamAsync(HubTestHost.Ct);
        var sensor = await host.ConnectModuleAsync("sensor");
        foreach (var t in new[] { 10, 40, 20, 50 })
        {
            await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "temp", Encoding.UTF8.GetBytes($"{{\"t\":{t}}}"),
                ("$.ct", "application/json"), ("$.ce", "utf-8")), HubTestHost.Ct);
        }

        var got = await host.ReadUpstreamAsync(2, upstream);
        got.Select(m => Encoding.UTF8.GetString(m.Body.Span)).ShouldBe(["{\"t\":40}", "{\"t\":50}"]);
        got[0].SourceModuleId.ShouldBe("sensor");
        got[0].OutputName.ShouldBe("temp");
        host.Sim.GetStatus().Drops["no-route"].ShouldBe(2);
    }

    [Fact]
    public async Task Upstream_OfflineAtSteadyRateThenOnline_NoLossAndOrderPerSourceAndPriority()
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(
            ("alerts", "FROM /messages/modules/sensor/outputs/alerts INTO $upstream", 0, null),
            ("rest", "FROM /messages/modules/sensor/outputs/telemetry INTO $upstream", 5, null)), 7200, "sensor"));
        var upstream = host.Sim.ReadUpstreamAsync(HubTestHost.Ct);
        var sensor = await host.ConnectModuleAsync("sensor");
        host.Sim.SetUpstreamOnline(false);
        const int n = 60;
        using var rate = new PeriodicTimer(TimeSpan.FromMilliseconds(5), TimeProvider.System);
        for (var i = 0; i < n; i++)
        {
            await rate.WaitForNextTickAsync(HubTestHost.Ct);
            var output = i % 3 == 0 ? "alerts" : "telemetry";
            (await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", output, Body(i)), HubTestHost.Ct)).IsSuccess.ShouldBeTrue();
        }

        var queued = (await host.Sim.GetStatusAsync(HubTestHost.Ct)).Queues;
        queued.Single(q => q.Priority == 0).Depth.ShouldBe(20);
        queued.Single(q => q.Priority == 5).Depth.ShouldBe(40);
        host.Sim.GetStatus().UpstreamDelivered.ShouldBe(0);

        host.Sim.SetUpstreamOnline(true);
        var got = await host.ReadUpstreamAsync(n, upstream);
        got.Length.ShouldBe(n);
        var alerts = got.Where(m => m.OutputName == "alerts").Select(m => Seq(m.Body)).ToList();
        var telemetry = got.Where(m => m.OutputName == "telemetry").Select(m => Seq(m.Body)).ToList();
        alerts.ShouldBe(Enumerable.Range(0, n).Where(i => i % 3 == 0));
        telemetry.ShouldBe(Enumerable.Range(0, n).Where(i => i % 3 != 0));

        // Higher priority (0) drains before the default-ish priority 5 backlog.
        got.Take(20).ShouldAllBe(m => m.OutputName == "alerts");
        (await host.Sim.GetStatusAsync(HubTestHost.Ct)).Queues.ShouldBeEmpty();
    }

    [Fact]
    public async Task Upstream_ShortTtlWhileOffline_ExpiredNeverDeliveredAndCounted()
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(
            ("short", "FROM /messages/modules/sensor/outputs/short INTO $upstream", null, 1u),
            ("long", "FROM /messages/modules/sensor/outputs/long INTO $upstream", null, null)), 7200, "sensor"));
        var upstream = host.Sim.ReadUpstreamAsync(HubTestHost.Ct);
        var sensor = await host.ConnectModuleAsync("sensor");
        host.Sim.SetUpstreamOnline(false);
        for (var i = 0; i < 5; i++)
        {
            await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "short", Body(i)), HubTestHost.Ct);
            await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "long", Body(100 + i)), HubTestHost.Ct);
        }

        await HubTestHost.EventuallyAsync(() => host.Sim.GetStatus().Drops.GetValueOrDefault("expired") == 5, "5 short-TTL messages to expire");
        host.Sim.SetUpstreamOnline(true);
        // A sentinel after them: upstream is FIFO, so an expired message that was still delivered would come before it.
        await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "long", Body(999)), HubTestHost.Ct);
        var got = await host.ReadUpstreamAsync(6, upstream);
        got.Select(m => Seq(m.Body)).ShouldBe([100, 101, 102, 103, 104, 999]);
        host.Sim.GetStatus().UpstreamDelivered.ShouldBe(6);
        host.Logs.Entries.Count(e => e.EventId == HubEventIds.MessageExpired).ShouldBe(5);
    }

    [Fact]
    public async Task Upstream_Latency_DelaysDelivery()
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(("up", SensorUpstream, null, null)), 7200, "sensor"));
        var upstream = host.Sim.ReadUpstreamAsync(HubTestHost.Ct);
        var sensor = await host.ConnectModuleAsync("sensor");
        host.Sim.SetUpstreamLatency(TimeSpan.FromMilliseconds(400));
        var started = TimeProvider.System.GetTimestamp();
        await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", Body(1)), HubTestHost.Ct);
        await host.ReadUpstreamAsync(1, upstream);
        TimeProvider.System.GetElapsedTime(started).ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(380));
    }

    [Fact]
    public async Task Restart_HubProcessWithQueuedMessages_LosesNone()
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(
            ("up", SensorUpstream, null, null), ("m2m", SensorToFilter, null, null)), 7200, "sensor", "filter"));
        var sensor = await host.ConnectModuleAsync("sensor");
        host.Sim.SetUpstreamOnline(false);
        for (var i = 0; i < 20; i++)
        {
            (await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", Body(i)), HubTestHost.Ct)).IsSuccess.ShouldBeTrue();
        }

        (await host.Sim.GetStatusAsync(HubTestHost.Ct)).Queues.Sum(q => q.Depth).ShouldBe(40);
        await host.RestartProcessAsync(o => o.UpstreamOnline = false);
        (await host.Sim.GetStatusAsync(HubTestHost.Ct)).Queues.Sum(q => q.Depth).ShouldBe(40);
        var upstream = host.Sim.ReadUpstreamAsync(HubTestHost.Ct);
        host.Sim.SetUpstreamOnline(true);
        var filter = await host.StartModuleAsync("filter");
        var got = await host.ReadUpstreamAsync(20, upstream);
        got.Select(m => Seq(m.Body)).ShouldBe(Enumerable.Range(0, 20));
        (await filter.TakeAsync(20)).Select(m => Seq(m.Payload.ToArray())).ShouldBe(Enumerable.Range(0, 20));
    }

    [Fact]
    public async Task RestartAsync_BrokerRestart_StateKeptAndClientsReconnect()
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(("m2m", SensorToFilter, null, null)), 7200, "sensor", "filter"));
        var sensor = await host.ConnectModuleAsync("sensor");
        for (var i = 0; i < 5; i++)
        {
            await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", Body(i)), HubTestHost.Ct);
        }

        var port = host.Sim.MqttPort;
        await host.Sim.RestartAsync(HubTestHost.Ct);
        host.Sim.MqttPort.ShouldBe(port);
        await HubTestHost.EventuallyAsync(() => !sensor.IsConnected, "the old connection to drop");
        var filter = await host.StartModuleAsync("filter");
        (await filter.TakeAsync(5)).Select(m => Seq(m.Payload.ToArray())).ShouldBe(Enumerable.Range(0, 5));
    }

    [Fact]
    public async Task ModuleInput_ModuleOffline_BacklogDeliveredInOrderWhenItReturns()
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(("m2m", SensorToFilter, null, null)), 7200, "sensor", "filter"));
        var first = await host.StartModuleAsync("filter");
        var sensor = await host.ConnectModuleAsync("sensor");
        await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", Body(0)), HubTestHost.Ct);
        (await first.TakeAsync(1)).Count.ShouldBe(1);
        await HubTestHost.EventuallyAsync(() => host.Sim.GetStatus().MessagesDelivered == 1, "the first message to be acknowledged");
        await host.Sim.DisconnectModuleAsync("filter", HubTestHost.Ct);
        await HubTestHost.EventuallyAsync(() => !first.Client.IsConnected, "filter to be dropped");

        for (var i = 1; i <= 30; i++)
        {
            (await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", Body(i)), HubTestHost.Ct)).IsSuccess.ShouldBeTrue();
        }

        (await host.Sim.GetStatusAsync(HubTestHost.Ct)).Queues.Single().Depth.ShouldBe(30);
        var back = await host.StartModuleAsync("filter");
        (await back.TakeAsync(30)).Select(m => Seq(m.Payload.ToArray())).ShouldBe(Enumerable.Range(1, 30));
    }

    [Fact]
    public async Task ModuleInput_NoAckWithinTimeout_Redelivered()
    {
        await using var host = await HubTestHost.StartAsync(
            HubTestHost.Deployment(HubTestHost.Routes(("m2m", SensorToFilter, null, null)), 7200, "sensor", "filter"),
            o => o.MessageAckTimeout = TimeSpan.FromMilliseconds(300));
        var filter = await host.StartModuleAsync("filter", autoAck: false);
        var sensor = await host.ConnectModuleAsync("sensor");
        await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", Body(7)), HubTestHost.Ct);
        await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", Body(8)), HubTestHost.Ct);

        // One at a time: the unacknowledged first message comes again, the second waits behind it.
        var got = await filter.TakeAsync(2);
        got.Select(m => Seq(m.Payload.ToArray())).ShouldBe([7, 7]);
        host.Sim.GetStatus().Redeliveries.ShouldBeGreaterThanOrEqualTo(1);
        host.Logs.Entries.ShouldContain(e => e.EventId == HubEventIds.ModuleAckTimeout);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task ModuleInput_UnackedDeliveries_LimitedToWindow(int window)
    {
        await using var host = await HubTestHost.StartAsync(
            HubTestHost.Deployment(HubTestHost.Routes(("m2m", SensorToFilter, null, null)), 7200, "sensor", "filter"),
            o =>
            {
                o.MessageAckTimeout = TimeSpan.FromSeconds(10);
                o.MaxInFlightPerModule = window;
            });
        var sensor = await host.ConnectModuleAsync("sensor");
        for (var i = 0; i < 5; i++)
        {
            await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", Body(i)), HubTestHost.Ct);
        }

        var filter = await host.StartModuleAsync("filter", autoAck: false);

        // edgeHub's default: one message at a time per module until its PUBACK; a larger window pipelines, in order.
        (await filter.TakeAsync(window)).Select(m => Seq(m.Payload.ToArray())).ShouldBe(Enumerable.Range(0, window));
        await filter.ShouldHaveReceivedNothingMoreAsync();
        host.Sim.GetStatus().MessagesDelivered.ShouldBe(0, "nothing acknowledged yet");
    }

    [Fact]
    public async Task ModuleInput_AckedPromptly_NextMessageFollows()
    {
        await using var host = await HubTestHost.StartAsync(
            HubTestHost.Deployment(HubTestHost.Routes(("m2m", SensorToFilter, null, null)), 7200, "sensor", "filter"),
            o => o.MessageAckTimeout = TimeSpan.FromSeconds(5));
        var filter = await host.StartModuleAsync("filter");
        var sensor = await host.ConnectModuleAsync("sensor");
        for (var i = 0; i < 10; i++)
        {
            await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", Body(i)), HubTestHost.Ct);
        }

        (await filter.TakeAsync(10)).Select(m => Seq(m.Payload.ToArray())).ShouldBe(Enumerable.Range(0, 10));
        host.Sim.GetStatus().Redeliveries.ShouldBe(0);
    }

    [Fact]
    public async Task ModuleInput_UrgentMessageWhileCaughtUp_OvertakesLessUrgentOnesAlreadyQueued()
    {
        await using var host = await HubTestHost.StartAsync(
            HubTestHost.Deployment(HubTestHost.Routes(
                ("low", "FROM /messages/modules/sensor/outputs/low INTO BrokeredEndpoint(\"/modules/filter/inputs/in\")", 5, null),
                ("high", "FROM /messages/modules/sensor/outputs/high INTO BrokeredEndpoint(\"/modules/filter/inputs/in\")", 0, null)), 7200, "sensor", "filter"),
            o => o.MessageAckTimeout = TimeSpan.FromSeconds(10));
        var filter = await host.ConnectModuleAsync("filter");
        var got = System.Threading.Channels.Channel.CreateUnbounded<MQTTnet.MqttApplicationMessageReceivedEventArgs>();
        filter.ApplicationMessageReceivedAsync += e =>
        {
            e.AutoAcknowledge = false;
            got.Writer.TryWrite(e);
            return Task.CompletedTask;
        };
        await filter.SubscribeAsync(new MQTTnet.MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter("devices/dev1/modules/filter/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), HubTestHost.Ct);
        var sensor = await host.ConnectModuleAsync("sensor");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(HubTestHost.Ct);
        timeout.CancelAfter(HubTestHost.Wait);

        // The dispatcher has read its (empty) queue and delivers the first message: it is caught up, so the next messages reach it
        // in memory while the first waits for its PUBACK. The urgent one must still go before the less urgent ones queued before it.
        await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "low", Body(0)), HubTestHost.Ct);
        var first = await got.Reader.ReadAsync(timeout.Token);
        Seq(first.ApplicationMessage.Payload.ToArray()).ShouldBe(0);
        for (var i = 1; i <= 4; i++)
        {
            (await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "low", Body(i)), HubTestHost.Ct)).IsSuccess.ShouldBeTrue();
        }

        (await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "high", Body(100)), HubTestHost.Ct)).IsSuccess.ShouldBeTrue();
        await first.AcknowledgeAsync(HubTestHost.Ct);
        var order = new List<int>();
        while (order.Count < 5)
        {
            var e = await got.Reader.ReadAsync(timeout.Token);
            order.Add(Seq(e.ApplicationMessage.Payload.ToArray()));
            await e.AcknowledgeAsync(HubTestHost.Ct);
        }

        order.ShouldBe([100, 1, 2, 3, 4]);
        await HubTestHost.EventuallyAsync(() => host.Sim.GetStatus().MessagesDelivered == 6, "every message to be acknowledged");
        (await host.Sim.GetStatusAsync(HubTestHost.Ct)).Queues.ShouldBeEmpty();
    }

    [Fact]
    public async Task Publish_StoreWriteBlocked_NoPubackUntilCommitted()
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(("up", SensorUpstream, null, null)), 7200, "sensor"));
        var sensor = await host.ConnectModuleAsync("sensor");
        using var upstream = new CancellationTokenSource(HubTestHost.Wait);
        var stream = host.Sim.ReadUpstreamAsync(upstream.Token);

        // Another connection holds SQLite's write lock: the hub cannot commit, so it must not acknowledge (PUBACK = stored).
        using var blocker = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(host.StateDirectory, "hub.db")};Pooling=false");
        blocker.Open();
        using (var begin = blocker.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            begin.ExecuteNonQuery();
        }

        var publishes = Enumerable.Range(0, 3).Select(i => sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", Body(i)), HubTestHost.Ct)).ToList();
        // (The counters, not GetStatus: a status reads the queue depths from the store, which is what is blocked.)
        await HubTestHost.EventuallyAsync(() => host.Sim.Counters.Received == 3, "the hub to take the 3 publishes");

        // Barrier: a twin GET on the same connection is answered from memory (no store write). PUBACKs the hub had queued would
        // reach the client ahead of its response.
        var responses = System.Threading.Channels.Channel.CreateUnbounded<string>();
        sensor.ApplicationMessageReceivedAsync += e => responses.Writer.WriteAsync(e.ApplicationMessage.Topic).AsTask();
        await sensor.SubscribeAsync(new MQTTnet.MqttClientSubscribeOptionsBuilder().WithTopicFilter("$iothub/twin/res/#").Build(), HubTestHost.Ct);
        await sensor.PublishAsync(new MQTTnet.MqttApplicationMessageBuilder().WithTopic("$iothub/twin/GET/?$rid=barrier").Build(), HubTestHost.Ct);
        (await responses.Reader.ReadAsync(HubTestHost.Ct).AsTask().WaitAsync(HubTestHost.Wait, HubTestHost.Ct)).ShouldBe("$iothub/twin/res/200/?$rid=barrier");
        publishes.ShouldAllBe(p => !p.IsCompleted);

        using (var rollback = blocker.CreateCommand())
        {
            rollback.CommandText = "ROLLBACK";
            rollback.ExecuteNonQuery();
        }

        (await Task.WhenAll(publishes).WaitAsync(HubTestHost.Wait, HubTestHost.Ct)).ShouldAllBe(r => r.IsSuccess);
        (await host.ReadUpstreamAsync(3, stream)).Select(m => Seq(m.Body)).ShouldBe([0, 1, 2]);
    }

    [Fact]
    public async Task ModuleInput_PipelinedPublishes_AllDeliveredOnceInOrder()
    {
        await using var host = await HubTestHost.StartAsync(
            HubTestHost.Deployment(HubTestHost.Routes(("m2m", SensorToFilter, null, null)), 7200, "sensor", "filter"),
            o => o.MaxInFlightPerModule = 8);
        var filter = await host.StartModuleAsync("filter");
        var sensor = await host.ConnectModuleAsync("sensor");

        // 16 publishes in flight on one connection: their rows share commits, each PUBACK still waits for its own commit.
        const int n = 500;
        using var window = new SemaphoreSlim(16);
        var pending = new List<Task<MQTTnet.MqttClientPublishResult>>();
        for (var i = 0; i < n; i++)
        {
            await window.WaitAsync(HubTestHost.Ct);
            pending.Add(PublishAsync(i));
        }

        (await Task.WhenAll(pending)).ShouldAllBe(r => r.IsSuccess);
        (await filter.TakeAsync(n)).Select(m => Seq(m.Payload.ToArray())).ShouldBe(Enumerable.Range(0, n));
        await filter.ShouldHaveReceivedNothingMoreAsync();
        await HubTestHost.EventuallyAsync(() => host.Sim.GetStatus().MessagesDelivered == n, "every message to be acknowledged");
        (await host.Sim.GetStatusAsync(HubTestHost.Ct)).Queues.ShouldBeEmpty();

        async Task<MQTTnet.MqttClientPublishResult> PublishAsync(int i)
        {
            try
            {
                return await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", Body(i)), HubTestHost.Ct);
            }
            finally
            {
                window.Release();
            }
        }
    }

    [Fact]
    public async Task Inject_ThroughSimulator_DeliveredToModuleInput()
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(), 7200, "filter"));
        var filter = await host.StartModuleAsync("filter");
        await host.Sim.InjectAsync("filter", "frames", "{\"x\":1}"u8.ToArray(), new Dictionary<string, string> { ["k"] = "v" }, "application/json", HubTestHost.Ct);
        var got = (await filter.TakeAsync(1))[0];
        got.Topic.ShouldStartWith("devices/dev1/modules/filter/inputs/frames/k=v&");
        got.Topic.ShouldContain("%24.ct=application%2Fjson");
    }
}
