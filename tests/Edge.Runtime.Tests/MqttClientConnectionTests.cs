using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Threading.Channels;
using Edge.Runtime.Mqtt;
using Edge.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace Edge.Runtime.Tests;

/// <summary>
/// The MQTT 3.1.1 client transport against a raw TLS server that writes and checks bytes by hand: the exact CONNECT, PUBLISH
/// and PUBACK encodings, in-order acknowledgements, keep-alive, the response timeout and protocol violations. (Interop with an
/// independent broker is covered by every ModuleClient test, which run against MQTTnet's server.)
/// </summary>
public sealed class MqttClientConnectionTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly TestCertificates _certs = TestCertificates.Create();

    public void Dispose() => _certs.Dispose();

    [Fact]
    public async Task Connect_WritesSpecConnect_AndRefusalNamesTheReturnCode()
    {
        await using var server = RawServer.Start(_certs);
        var connecting = MqttClientConnection.ConnectAsync(Options(server), _ => ValueTask.CompletedTask, TestContext.Current.CancellationToken);
        await server.AcceptAsync();

        var (header, body) = await server.ReadPacketAsync();
        header.ShouldBe((byte)0x10);
        var expected = new List<byte> { 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4, 0xC0, 0, 60 };
        foreach (var s in new[] { "edge1/mod1", "localhost/edge1/mod1/?api-version=2020-09-30", "SharedAccessSignature sr=x&sig=y&se=1" })
        {
            expected.AddRange([(byte)(s.Length >> 8), (byte)s.Length]);
            expected.AddRange(Encoding.UTF8.GetBytes(s));
        }

        body.ShouldBe(expected.ToArray(), "CONNECT: level 4, user name + password flags, clean session off, keep-alive 60 s");
        await server.WriteAsync(0x20, 0x02, 0x00, 0x05);
        var refused = await Should.ThrowAsync<MqttConnectRefusedException>(connecting);
        refused.Code.ShouldBe((byte)5);
        refused.Message.ShouldBe("CONNACK NotAuthorized");
    }

    [Fact]
    public async Task PublishQos1_CompletesOnItsPubAckOnly_CoalescedPacketsParsed()
    {
        await using var server = RawServer.Start(_certs);
        await using var client = await ConnectAsync(server, Options(server));

        var first = client.PublishAsync("devices/edge1/modules/mod1/messages/events/%24.on=out/", new byte[] { 1, 2, 3 }, atLeastOnce: true, CancellationToken.None);
        var second = client.PublishAsync("t/2", new byte[300], atLeastOnce: true, CancellationToken.None);
        var (h1, b1) = await server.ReadPacketAsync();
        h1.ShouldBe((byte)0x32);
        var topic = "devices/edge1/modules/mod1/messages/events/%24.on=out/";
        BinaryPrimitives.ReadUInt16BigEndian(b1).ShouldBe((ushort)topic.Length);
        Encoding.UTF8.GetString(b1, 2, topic.Length).ShouldBe(topic);
        var id1 = BinaryPrimitives.ReadUInt16BigEndian(b1.AsSpan(2 + topic.Length));
        b1[(4 + topic.Length)..].ShouldBe(new byte[] { 1, 2, 3 });
        var (h2, b2) = await server.ReadPacketAsync();
        h2.ShouldBe((byte)0x32);
        b2.Length.ShouldBe(2 + 3 + 2 + 300, "a two-byte remaining length");
        var id2 = BinaryPrimitives.ReadUInt16BigEndian(b2.AsSpan(5));
        id1.ShouldBeInRange((ushort)1, (ushort)0x7FFF);
        id2.ShouldNotBe(id1);

        // Both PUBACKs in one TLS write, the second first.
        await server.WriteAsync(0x40, 2, (byte)(id2 >> 8), (byte)id2, 0x40, 2, (byte)(id1 >> 8), (byte)id1);
        await Task.WhenAll(first, second).WaitAsync(Wait, TestContext.Current.CancellationToken);
        client.IsConnected.ShouldBeTrue();
    }

    [Fact]
    public async Task ReceivedQos1_PubAcksInArrivalOrder_AndNoneForAFailedOne()
    {
        var received = Channel.CreateUnbounded<MqttIncomingMessage>();
        await using var server = RawServer.Start(_certs);
        await using var client = await ConnectAsync(server, Options(server), m =>
        {
            received.Writer.TryWrite(m);
            return ValueTask.CompletedTask;
        });

        // Three QoS 1 PUBLISHes (ids 10, 11, 12) and a QoS 0 one, in one write.
        var bytes = new List<byte>();
        foreach (var id in new ushort[] { 10, 11, 12 })
        {
            bytes.AddRange(Publish($"devices/edge1/modules/mod1/inputs/in{id}/", [(byte)id], id));
        }

        bytes.AddRange(Publish("$iothub/methods/POST/ping/?$rid=1", [], null));
        await server.WriteAsync([.. bytes]);
        var messages = new List<MqttIncomingMessage>();
        for (var i = 0; i < 4; i++)
        {
            messages.Add(await received.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Wait, TestContext.Current.CancellationToken));
        }

        messages.Select(m => m.Topic).ShouldBe(["devices/edge1/modules/mod1/inputs/in10/", "devices/edge1/modules/mod1/inputs/in11/", "devices/edge1/modules/mod1/inputs/in12/", "$iothub/methods/POST/ping/?$rid=1"]);
        messages[1].Payload.ShouldBe(new byte[] { 11 });

        messages[1].Ack.Complete(true); // the second is done first: held back behind the first
        messages[3].Ack.Complete(true); // QoS 0: nothing to send
        messages[2].Ack.Complete(false); // failed: no PUBACK, the server redelivers
        messages[0].Ack.Complete(true);

        (await server.ReadPacketAsync()).ShouldSatisfyAllConditions(p => p.Header.ShouldBe((byte)0x40), p => p.Body.ShouldBe(new byte[] { 0, 10 }));
        (await server.ReadPacketAsync()).Body.ShouldBe(new byte[] { 0, 11 });

        // Nothing else was acknowledged: the next packet is this QoS 0 marker.
        await client.PublishAsync("marker", Array.Empty<byte>(), atLeastOnce: false, CancellationToken.None);
        (await server.ReadPacketAsync()).Header.ShouldBe((byte)0x30);
    }

    [Fact]
    public async Task PubAckMissing_ConnectionClosedAfterResponseTimeout_PublishFails()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = RawServer.Start(_certs);
        await using var client = await ConnectAsync(server, Options(server) with { Time = time, ResponseTimeout = TimeSpan.FromSeconds(5), KeepAlive = TimeSpan.FromMinutes(10) });

        var publish = client.PublishAsync("t", new byte[] { 1 }, atLeastOnce: true, CancellationToken.None);
        await server.ReadPacketAsync();
        time.Advance(TimeSpan.FromSeconds(4));
        publish.IsCompleted.ShouldBeFalse();
        time.Advance(TimeSpan.FromSeconds(2));

        var closed = await Should.ThrowAsync<MqttConnectionClosedException>(publish.WaitAsync(Wait, TestContext.Current.CancellationToken));
        closed.Message.ShouldContain("no PUBACK/SUBACK within 5 s");
        client.IsConnected.ShouldBeFalse();
        await Should.ThrowAsync<MqttConnectionClosedException>(client.PublishAsync("t", new byte[] { 1 }, atLeastOnce: true, CancellationToken.None));
    }

    [Fact]
    public async Task Idle_PingsAfterAQuarterOfKeepAlive_ClosesWhenNoPingResp()
    {
        var time = new FakeTimeProvider(TimeProvider.System.GetUtcNow());
        await using var server = RawServer.Start(_certs);
        await using var client = await ConnectAsync(server, Options(server) with { Time = time, KeepAlive = TimeSpan.FromSeconds(20), ResponseTimeout = TimeSpan.FromSeconds(5) });

        time.Advance(TimeSpan.FromSeconds(5));
        (await server.ReadPacketAsync()).ShouldSatisfyAllConditions(p => p.Header.ShouldBe((byte)0xC0), p => p.Body.ShouldBeEmpty());
        await server.WriteAsync(0xD0, 0);
        await RoundTripAsync(server, client); // the PINGRESP is read before time moves on
        time.Advance(TimeSpan.FromSeconds(5));
        (await server.ReadPacketAsync()).Header.ShouldBe((byte)0xC0, "the next ping after another idle quarter");

        // This one is not answered.
        time.Advance(TimeSpan.FromSeconds(6));
        (await client.Closed.WaitAsync(Wait, TestContext.Current.CancellationToken)).ShouldBe("no PINGRESP within 5 s");
    }

    [Theory]
    [InlineData(new byte[] { 0x34, 0x05, 0x00, 0x01, (byte)'t', 0x00, 0x01 }, "PUBLISH with QoS 2")]
    [InlineData(new byte[] { 0x30, 0xFF, 0xFF, 0x7F }, "limit 4,096")]
    [InlineData(new byte[] { 0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "remaining length over 4 bytes")]
    [InlineData(new byte[] { 0x80, 0x00 }, "unexpected Subscribe")]
    public async Task ServerProtocolViolation_ClosesWithTheReason(byte[] packet, string reason)
    {
        await using var server = RawServer.Start(_certs);
        await using var client = await ConnectAsync(server, Options(server) with { MaxIncomingPacketBytes = 4096 });
        var pending = client.PublishAsync("t", new byte[] { 1 }, atLeastOnce: true, CancellationToken.None);

        await server.WriteAsync(packet);
        (await client.Closed.WaitAsync(Wait, TestContext.Current.CancellationToken)).ShouldContain(reason);
        await Should.ThrowAsync<MqttConnectionClosedException>(pending.WaitAsync(Wait, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task UntrustedServer_HandshakeFails()
    {
        await using var server = RawServer.Start(_certs);
        var connecting = MqttClientConnection.ConnectAsync(Options(server) with { ValidateServerCertificate = (_, _, _, _) => false }, _ => ValueTask.CompletedTask, TestContext.Current.CancellationToken);
        _ = server.AcceptAsync();
        await Should.ThrowAsync<AuthenticationException>(connecting.WaitAsync(Wait, TestContext.Current.CancellationToken));
    }

    /// <summary>A QoS 1 publish answered by the server: everything the server wrote before is handled once it completes.</summary>
    private static async Task RoundTripAsync(RawServer server, MqttClientConnection client)
    {
        var publish = client.PublishAsync("sync", Array.Empty<byte>(), atLeastOnce: true, CancellationToken.None);
        var (_, body) = await server.ReadPacketAsync();
        await server.WriteAsync(0x40, 2, body[^2], body[^1]);
        await publish.WaitAsync(Wait, TestContext.Current.CancellationToken);
    }

    private MqttClientOptions Options(RawServer server) => new()
    {
        Host = "localhost",
        Port = server.Port,
        ClientId = "edge1/mod1",
        UserName = "localhost/edge1/mod1/?api-version=2020-09-30",
        Password = "SharedAccessSignature sr=x&sig=y&se=1",
        ValidateServerCertificate = (_, certificate, _, errors) => Auth.ServerCertificateValidator.Validate(certificate, errors, [_certs.Ca]) is null,
    };

    private static async Task<MqttClientConnection> ConnectAsync(RawServer server, MqttClientOptions options, Func<MqttIncomingMessage, ValueTask>? onMessage = null)
    {
        var connecting = MqttClientConnection.ConnectAsync(options, onMessage ?? (_ => ValueTask.CompletedTask), TestContext.Current.CancellationToken);
        await server.AcceptAsync();
        (await server.ReadPacketAsync()).Header.ShouldBe((byte)0x10);
        await server.WriteAsync(0x20, 0x02, 0x00, 0x00);
        return await connecting.WaitAsync(Wait, TestContext.Current.CancellationToken);
    }

    private static byte[] Publish(string topic, byte[] payload, ushort? packetId)
    {
        var t = Encoding.UTF8.GetBytes(topic);
        var remaining = 2 + t.Length + (packetId is null ? 0 : 2) + payload.Length;
        var bytes = new List<byte> { (byte)(packetId is null ? 0x30 : 0x32) };
        do
        {
            var b = (byte)(remaining & 0x7F);
            remaining >>= 7;
            bytes.Add(remaining > 0 ? (byte)(b | 0x80) : b);
        }
        while (remaining > 0);
        bytes.AddRange([(byte)(t.Length >> 8), (byte)t.Length]);
        bytes.AddRange(t);
        if (packetId is { } id)
        {
            bytes.AddRange([(byte)(id >> 8), (byte)id]);
        }

        bytes.AddRange(payload);
        return [.. bytes];
    }

    /// <summary>One TLS connection on a loopback port, read and written as raw MQTT bytes.</summary>
    private sealed class RawServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly TestCertificates _certs;
        private SslStream? _ssl;

        private RawServer(TestCertificates certs)
        {
            _certs = certs;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public static RawServer Start(TestCertificates certs) => new(certs);

        public async Task AcceptAsync()
        {
            var socket = await _listener.AcceptSocketAsync(TestContext.Current.CancellationToken);
            _ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
            try
            {
                await _ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certs.Server }, TestContext.Current.CancellationToken);
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException)
            {
                // The client refused the certificate.
            }
        }

        public async Task<(byte Header, byte[] Body)> ReadPacketAsync()
        {
            var ct = TestContext.Current.CancellationToken;
            var one = new byte[1];
            await _ssl!.ReadExactlyAsync(one, ct).AsTask().WaitAsync(Wait, ct);
            var header = one[0];
            int length = 0, shift = 0;
            do
            {
                await _ssl.ReadExactlyAsync(one, ct);
                length |= (one[0] & 0x7F) << shift;
                shift += 7;
            }
            while ((one[0] & 0x80) != 0);
            var body = new byte[length];
            await _ssl.ReadExactlyAsync(body, ct);
            return (header, body);
        }

        public async Task WriteAsync(params byte[] bytes)
        {
            await _ssl!.WriteAsync(bytes, TestContext.Current.CancellationToken);
            await _ssl.FlushAsync(TestContext.Current.CancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            if (_ssl is not null)
            {
                await _ssl.DisposeAsync();
            }

            _listener.Stop();
            _listener.Dispose();
        }
    }
}
