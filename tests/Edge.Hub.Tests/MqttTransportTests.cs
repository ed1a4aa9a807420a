using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MQTTnet;

namespace Edge.Hub.Tests;

/// <summary>
/// The hub's own MQTT 3.1.1 transport, byte by byte: a raw TLS client writes exactly the packets (and splits) a test needs and reads
/// what the hub answers.
/// </summary>
public sealed class MqttTransportTests
{
    private const string SensorUpstream = "FROM /messages/modules/sensor/* INTO $upstream";

    private static Task<HubTestHost> StartAsync() =>
        HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(("up", SensorUpstream, null, null)), 7200, "sensor", "filter"));

    private static string SensorTopic(string output) => $"devices/dev1/modules/sensor/messages/events/%24.on={output}/";

    [Fact]
    public async Task Publish_SeveralPacketsInOneTlsRecord_AllParsedAndAckedInOrder()
    {
        await using var host = await StartAsync();
        var upstream = host.Sim.ReadUpstreamAsync(HubTestHost.Ct);
        await using var raw = await RawClient.ConnectTlsAsync(host);

        // CONNECT, three QoS 1 PUBLISHes, a QoS 0 one and a PINGREQ in a single write: one TLS record, one read on the hub.
        var bytes = Concat(
            raw.ConnectPacket(keepAliveSeconds: 60),
            RawClient.Publish(SensorTopic("a"), "{\"seq\":0}"u8.ToArray(), qos: 1, packetId: 10),
            RawClient.Publish(SensorTopic("a"), "{\"seq\":1}"u8.ToArray(), qos: 1, packetId: 11),
            RawClient.Publish(SensorTopic("a"), "{\"seq\":2}"u8.ToArray(), qos: 0, packetId: 0),
            RawClient.Publish(SensorTopic("a"), "{\"seq\":3}"u8.ToArray(), qos: 1, packetId: 12),
            [0xC0, 0x00]);
        await raw.WriteAsync(bytes);

        Expect(await raw.ReadPacketAsync(), 0x20, [0, 0]);

        // PUBACKs wait for the store commit (in publish order); the PINGRESP need not.
        var answers = new List<(byte Header, byte[] Body)>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await raw.ReadPacketAsync());
        }

        answers.Count(a => a.Header == 0xD0 && a.Body.Length == 0).ShouldBe(1);
        answers.Where(a => a.Header == 0x40).Select(a => BinaryPrimitives.ReadUInt16BigEndian(a.Body)).ShouldBe([(ushort)10, (ushort)11, (ushort)12]);
        var got = await host.ReadUpstreamAsync(4, upstream);
        got.Select(m => Encoding.UTF8.GetString(m.Body.Span)).ShouldBe(["{\"seq\":0}", "{\"seq\":1}", "{\"seq\":2}", "{\"seq\":3}"]);
        host.Sim.GetStatus().Refusals.ShouldBeEmpty();
    }

    [Fact]
    public async Task Publish_SplitAcrossReads_ParsedOnce()
    {
        await using var host = await StartAsync();
        var upstream = host.Sim.ReadUpstreamAsync(HubTestHost.Ct);
        await using var raw = await RawClient.ConnectTlsAsync(host);
        await raw.WriteAsync(raw.ConnectPacket(keepAliveSeconds: 60));
        (await raw.ReadPacketAsync()).Header.ShouldBe((byte)0x20);

        // 3 KB body: a two-byte remaining length. Split inside the length, inside the topic and inside the body; each piece is its
        // own TLS record, flushed and given time to arrive alone.
        var body = Encoding.UTF8.GetBytes("{\"seq\":7,\"pad\":\"" + new string('x', 3000) + "\"}");
        var publish = RawClient.Publish(SensorTopic("split"), body, qos: 1, packetId: 77);
        foreach (var (from, to) in new[] { (0, 2), (2, 20), (20, 1500), (1500, publish.Length) })
        {
            await raw.WriteAsync(publish[from..to]);
            await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, HubTestHost.Ct);
        }

        Expect(await raw.ReadPacketAsync(), 0x40, [0, 77]);
        var got = (await host.ReadUpstreamAsync(1, upstream)).Single();
        got.Body.ToArray().ShouldBe(body);
        got.OutputName.ShouldBe("split");
    }

    [Theory]
    [InlineData(new byte[] { 0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "a remaining length of five bytes")]
    [InlineData(new byte[] { 0x32, 0x05, 0x00, 0x09, 0x61, 0x62, 0x63 }, "a topic length beyond the packet")]
    [InlineData(new byte[] { 0x40, 0x03, 0x00, 0x01, 0x00 }, "a PUBACK of three bytes")]
    [InlineData(new byte[] { 0x80, 0x02, 0x00, 0x01 }, "a SUBSCRIBE with wrong flags and no filter")]
    [InlineData(new byte[] { 0x10, 0x02, 0x00, 0x00 }, "a second CONNECT")]
    public async Task Packet_Malformed_ConnectionClosedAndCounted(byte[] packet, string what)
    {
        await using var host = await StartAsync();
        await using var raw = await RawClient.ConnectTlsAsync(host);
        await raw.WriteAsync(raw.ConnectPacket(keepAliveSeconds: 60));
        (await raw.ReadPacketAsync()).Header.ShouldBe((byte)0x20);
        await HubTestHost.EventuallyAsync(() => host.Sim.GetStatus().Clients.Count == 1, "the client to be connected");

        await raw.WriteAsync(packet);
        (await raw.ReadUntilClosedAsync()).ShouldBeTrue(what);
        host.Sim.GetStatus().Refusals["malformed-packet"].ShouldBe(1, what);
        await HubTestHost.EventuallyAsync(() => host.Sim.GetStatus().Clients.Count == 0, "the client to be gone");
    }

    [Fact]
    public async Task Connect_NotConnectFirst_ConnectionClosedWithoutConnAck()
    {
        await using var host = await StartAsync();
        await using var raw = await RawClient.ConnectTlsAsync(host);
        await raw.WriteAsync([0xC0, 0x00]);
        (await raw.ReadUntilClosedAsync()).ShouldBeTrue();
        host.Sim.GetStatus().Refusals["malformed-packet"].ShouldBe(1);
    }

    [Fact]
    public async Task Connect_ProtocolLevel3_RefusedWithCode1()
    {
        await using var host = await StartAsync();
        await using var raw = await RawClient.ConnectTlsAsync(host);
        await raw.WriteAsync(raw.ConnectPacket(keepAliveSeconds: 60, protocol: "MQIsdp", level: 3));
        Expect(await raw.ReadPacketAsync(), 0x20, [0, 1]);
        (await raw.ReadUntilClosedAsync()).ShouldBeTrue();
    }

    [Fact]
    public async Task KeepAlive_ClientSilentForOneAndAHalfPeriods_Closed()
    {
        await using var host = await StartAsync();
        await using var raw = await RawClient.ConnectTlsAsync(host);
        await using var pinging = await RawClient.ConnectTlsAsync(host, "filter");
        await raw.WriteAsync(raw.ConnectPacket(keepAliveSeconds: 1));
        await pinging.WriteAsync(pinging.ConnectPacket(keepAliveSeconds: 1));
        (await raw.ReadPacketAsync()).Header.ShouldBe((byte)0x20);
        (await pinging.ReadPacketAsync()).Header.ShouldBe((byte)0x20);
        var connected = TimeProvider.System.GetTimestamp();

        // The silent client is dropped after 1.5 s; the one that pings every 0.5 s stays.
        var closed = raw.ReadUntilClosedAsync();
        while (!closed.IsCompleted)
        {
            await pinging.WriteAsync([0xC0, 0x00]);
            (await pinging.ReadPacketAsync()).Header.ShouldBe((byte)0xD0);
            await Task.WhenAny(closed, Task.Delay(TimeSpan.FromMilliseconds(500), TimeProvider.System, HubTestHost.Ct));
        }

        (await closed).ShouldBeTrue();
        TimeProvider.System.GetElapsedTime(connected).ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(1400));
        host.Logs.Entries.ShouldContain(e => e.EventId == HubEventIds.KeepAliveExpired);
        await HubTestHost.EventuallyAsync(() => host.Sim.GetStatus().Clients.Select(c => c.ClientId).SequenceEqual(["dev1/filter"]),
            "only the pinging client to be connected");
    }

    [Fact]
    public async Task Connect_SameClientIdAgain_FirstConnectionClosedSecondServed()
    {
        await using var host = await StartAsync();
        var upstream = host.Sim.ReadUpstreamAsync(HubTestHost.Ct);
        var first = await host.ConnectModuleAsync("sensor");
        var second = await host.ConnectModuleAsync("sensor");
        await HubTestHost.EventuallyAsync(() => !first.IsConnected, "the first connection to be closed");
        (await second.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", "{\"seq\":1}"u8.ToArray()), HubTestHost.Ct)).IsSuccess.ShouldBeTrue();
        (await host.ReadUpstreamAsync(1, upstream)).Single().OutputName.ShouldBe("o");

        // A later round trip on the second connection: had the takeover closed it too, this would fail.
        upstream = host.Sim.ReadUpstreamAsync(HubTestHost.Ct);
        (await second.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", "{\"seq\":2}"u8.ToArray()), HubTestHost.Ct)).IsSuccess.ShouldBeTrue();
        (await host.ReadUpstreamAsync(1, upstream)).Single().Body.ToArray().ShouldBe("{\"seq\":2}"u8.ToArray());
        second.IsConnected.ShouldBeTrue();
        host.Sim.GetStatus().Clients.Select(c => c.ClientId).ShouldBe(["dev1/sensor"]);
        host.Logs.Entries.ShouldContain(e => e.EventId == HubEventIds.ClientTakenOver);
    }

    [Fact]
    public async Task Connect_TakeoverWhileDeliveryUnacked_RedeliveredOnNewConnection()
    {
        await using var host = await HubTestHost.StartAsync(
            HubTestHost.Deployment(HubTestHost.Routes(("m2m", "FROM /messages/modules/sensor/* INTO BrokeredEndpoint(\"/modules/filter/inputs/in\")", null, null)),
                7200, "sensor", "filter"),
            o => o.MessageAckTimeout = TimeSpan.FromSeconds(30));
        var old = await host.StartModuleAsync("filter", autoAck: false);
        var sensor = await host.ConnectModuleAsync("sensor");
        await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", "{\"seq\":5}"u8.ToArray()), HubTestHost.Ct);
        (await old.TakeAsync(1)).Count.ShouldBe(1);

        // The new connection gets the unacknowledged message at once (not after the 30 s ack timeout).
        var replacement = await host.StartModuleAsync("filter");
        var again = (await replacement.TakeAsync(1)).Single();
        Encoding.UTF8.GetString(again.Payload).ShouldBe("{\"seq\":5}");
        await HubTestHost.EventuallyAsync(() => host.Sim.GetStatus().MessagesDelivered == 1, "the redelivery to be acknowledged");
        await HubTestHost.EventuallyAsync(() => !old.Client.IsConnected, "the old connection to be closed");
    }

    [Fact]
    public async Task Subscribe_SeveralFiltersInOnePacket_EachAnswered()
    {
        await using var host = await StartAsync();
        await using var raw = await RawClient.ConnectTlsAsync(host, "filter");
        await raw.WriteAsync(raw.ConnectPacket(keepAliveSeconds: 60));
        (await raw.ReadPacketAsync()).Header.ShouldBe((byte)0x20);
        await raw.WriteAsync(RawClient.Subscribe(9, ("$iothub/twin/res/#", 0), ("devices/dev1/modules/sensor/#", 1), ("devices/dev1/modules/filter/#", 2)));
        Expect(await raw.ReadPacketAsync(), 0x90, [0, 9, 0x00, 0x80, 0x01]);
        await raw.WriteAsync([0xA2, 0x04, 0x00, 0x0A, 0x00, 0x00]);
        (await raw.ReadUntilClosedAsync()).ShouldBeTrue("an empty UNSUBSCRIBE filter is malformed");
    }

    [Fact]
    public async Task Unsubscribe_ModuleInputs_NothingDeliveredAfterUnsuback()
    {
        await using var host = await HubTestHost.StartAsync(
            HubTestHost.Deployment(HubTestHost.Routes(("m2m", "FROM /messages/modules/sensor/* INTO BrokeredEndpoint(\"/modules/filter/inputs/in\")", null, null)),
                7200, "sensor", "filter"));
        var filter = await host.StartModuleAsync("filter");
        await filter.Client.UnsubscribeAsync(new MqttClientUnsubscribeOptionsBuilder().WithTopicFilter("devices/dev1/modules/filter/#").Build(), HubTestHost.Ct);
        host.Sim.GetStatus().Clients.Single().ModuleMessagesSubscribed.ShouldBeFalse();
        var sensor = await host.ConnectModuleAsync("sensor");
        (await sensor.PublishAsync(HubTestHost.Telemetry("dev1", "sensor", "o", "{}"u8.ToArray()), HubTestHost.Ct)).IsSuccess.ShouldBeTrue();
        await filter.ShouldHaveReceivedNothingMoreAsync();
        (await host.Sim.GetStatusAsync(HubTestHost.Ct)).Queues.Single().Depth.ShouldBe(1);
    }

    private static void Expect((byte Header, byte[] Body) packet, byte header, byte[] body)
    {
        packet.Header.ShouldBe(header);
        packet.Body.ShouldBe(body);
    }

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    /// <summary>A TLS client that speaks MQTT bytes directly.</summary>
    private sealed class RawClient : IAsyncDisposable
    {
        private readonly TcpClient _tcp;
        private readonly SslStream _ssl;
        private readonly HubTestHost _host;
        private readonly string _module;
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        private RawClient(TcpClient tcp, SslStream ssl, HubTestHost host, string module)
        {
            _tcp = tcp;
            _ssl = ssl;
            _host = host;
            _module = module;
        }

        public static async Task<RawClient> ConnectTlsAsync(HubTestHost host, string module = "sensor")
        {
            var tcp = new TcpClient { NoDelay = true };
            await tcp.ConnectAsync("127.0.0.1", host.Sim.MqttPort, HubTestHost.Ct);
            var ssl = new SslStream(tcp.GetStream());
            var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            policy.CustomTrustStore.Add(X509CertificateLoader.LoadCertificateFromFile(host.Sim.CaCertificatePath));
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", CertificateChainPolicy = policy }, HubTestHost.Ct);
            return new RawClient(tcp, ssl, host, module);
        }

        public byte[] ConnectPacket(int keepAliveSeconds, string protocol = "MQTT", byte level = 4)
        {
            var body = new List<byte>();
            body.AddRange(Str(protocol));
            body.Add(level);
            body.Add(0xC2); // username, password, clean session
            body.Add((byte)(keepAliveSeconds >> 8));
            body.Add((byte)keepAliveSeconds);
            body.AddRange(Str($"dev1/{_module}"));
            body.AddRange(Str(_host.ModuleUsername(_module)));
            body.AddRange(Str(_host.ModuleToken(_module)));
            return Packet(0x10, [.. body]);
        }

        public static byte[] Publish(string topic, byte[] payload, int qos, ushort packetId)
        {
            var body = new List<byte>(Str(topic));
            if (qos > 0)
            {
                body.Add((byte)(packetId >> 8));
                body.Add((byte)packetId);
            }

            body.AddRange(payload);
            return Packet((byte)(0x30 | (qos << 1)), [.. body]);
        }

        public static byte[] Subscribe(ushort packetId, params (string Filter, byte Qos)[] filters)
        {
            var body = new List<byte> { (byte)(packetId >> 8), (byte)packetId };
            foreach (var (f, q) in filters)
            {
                body.AddRange(Str(f));
                body.Add(q);
            }

            return Packet(0x82, [.. body]);
        }

        public async Task WriteAsync(byte[] bytes)
        {
            await _ssl.WriteAsync(bytes, HubTestHost.Ct);
            await _ssl.FlushAsync(HubTestHost.Ct);
        }

        /// <summary>The next packet: its first byte and the bytes after the remaining length.</summary>
        public async Task<(byte Header, byte[] Body)> ReadPacketAsync()
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(HubTestHost.Ct);
            cts.CancelAfter(HubTestHost.Wait);
            while (true)
            {
                if (TryTake(out var packet))
                {
                    return packet;
                }

                if (_start > 0)
                {
                    _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                    _end -= _start;
                    _start = 0;
                }

                var n = await _ssl.ReadAsync(_buffer.AsMemory(_end), cts.Token);
                if (n == 0)
                {
                    throw new IOException("closed by the hub");
                }

                _end += n;
            }
        }

        /// <summary>True once the hub closes the connection (anything still sent before that is skipped).</summary>
        public async Task<bool> ReadUntilClosedAsync()
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(HubTestHost.Ct);
            cts.CancelAfter(HubTestHost.Wait);
            try
            {
                while (await _ssl.ReadAsync(_buffer.AsMemory(_end == _buffer.Length ? 0 : _end), cts.Token) > 0)
                {
                }

                return true;
            }
            catch (IOException)
            {
                return true;
            }
            catch (OperationCanceledException) when (!HubTestHost.Ct.IsCancellationRequested)
            {
                return false;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _ssl.DisposeAsync();
            _tcp.Dispose();
        }

        private bool TryTake(out (byte Header, byte[] Body) packet)
        {
            packet = default;
            var data = _buffer.AsSpan(_start, _end - _start);
            if (data.Length < 2)
            {
                return false;
            }

            int length = 0, shift = 0, i = 1;
            while (true)
            {
                if (i >= data.Length)
                {
                    return false;
                }

                length |= (data[i] & 0x7F) << shift;
                shift += 7;
                if ((data[i++] & 0x80) == 0)
                {
                    break;
                }
            }

            if (data.Length < i + length)
            {
                return false;
            }

            packet = (data[0], data.Slice(i, length).ToArray());
            _start += i + length;
            return true;
        }

        private static byte[] Str(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            var result = new byte[bytes.Length + 2];
            BinaryPrimitives.WriteUInt16BigEndian(result, (ushort)bytes.Length);
            bytes.CopyTo(result, 2);
            return result;
        }

        private static byte[] Packet(byte header, byte[] body)
        {
            var result = new List<byte> { header };
            var length = body.Length;
            do
            {
                var b = (byte)(length & 0x7F);
                length >>= 7;
                result.Add(length > 0 ? (byte)(b | 0x80) : b);
            }
            while (length > 0);
            result.AddRange(body);
            return [.. result];
        }
    }
}
