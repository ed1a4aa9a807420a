using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.Channels;
using Edge.Runtime.Mqtt;
using Edge.TestSupport;

namespace Edge.Runtime.Tests;

/// <summary>
/// The MQTT client against a third, independent broker (mosquitto, C) over TLS: QoS 1 round trips in order, keep-alive pings
/// answered, and a message left unacknowledged redelivered to the same persistent session after a reconnect. Skips where
/// mosquitto is not installed (`./edge test` installs it).
/// </summary>
public sealed class MosquittoInteropTests : IAsyncLifetime
{
    private const string Mosquitto = "/usr/sbin/mosquitto";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly TempDirectory _dir = new("mosquitto-interop");
    private readonly TestCertificates _certs = TestCertificates.Create();
    private readonly int _port = LoopbackPort.Free();
    private Process? _broker;

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Mosquitto))
        {
            return;
        }

        var cert = Path.Combine(_dir.Path, "server.pem");
        var key = Path.Combine(_dir.Path, "server.key");
        await File.WriteAllTextAsync(cert, _certs.Server.ExportCertificatePem(), TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(key, _certs.Server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(), TestContext.Current.CancellationToken);
        var conf = Path.Combine(_dir.Path, "mosquitto.conf");
        await File.WriteAllTextAsync(conf, $"""
            listener {_port} 127.0.0.1
            allow_anonymous true
            certfile {cert}
            keyfile {key}
            persistence false
            log_dest none
            user {Environment.UserName}
            """, TestContext.Current.CancellationToken);
        _broker = Process.Start(new ProcessStartInfo(Mosquitto, ["-c", conf]) { RedirectStandardOutput = true, RedirectStandardError = true });
        for (var i = 0; ; i++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, _port, TestContext.Current.CancellationToken);
                return;
            }
            catch (SocketException) when (i < 100)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, TestContext.Current.CancellationToken);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (_broker is { HasExited: false })
        {
            _broker.Kill();
            _broker.WaitForExit(5000);
        }

        _broker?.Dispose();
        _certs.Dispose();
        _dir.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Qos1_PublishedAndReceivedBackInOrder_PingsAnswered()
    {
        Assert.SkipWhen(_broker is null, "mosquitto is not installed");
        const int N = 2000;
        var received = Channel.CreateUnbounded<MqttIncomingMessage>();
        await using var client = await ConnectAsync("interop-1", received, cleanSession: true, keepAlive: TimeSpan.FromSeconds(5));
        (await client.SubscribeAsync("devices/edge1/modules/mod1/#", 1, TestContext.Current.CancellationToken)).ShouldBe((byte)1);

        // Received messages are acknowledged as they arrive (mosquitto holds at most 20 unacknowledged deliveries and queues 1,000).
        var receiving = Task.Run(async () =>
        {
            for (var i = 1; i <= N; i++)
            {
                var m = await received.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Wait, TestContext.Current.CancellationToken);
                Encoding.UTF8.GetString(m.Payload).ShouldBe(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                m.Topic.ShouldEndWith($"%24.mid={i}/");
                m.Ack.Complete(true);
            }
        }, TestContext.Current.CancellationToken);
        var inflight = new Queue<Task>();
        for (var i = 1; i <= N; i++)
        {
            inflight.Enqueue(client.PublishAsync($"devices/edge1/modules/mod1/inputs/in/%24.mid={i}/", Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), atLeastOnce: true, TestContext.Current.CancellationToken));
            if (inflight.Count == 16)
            {
                await inflight.Dequeue().WaitAsync(Wait, TestContext.Current.CancellationToken);
            }
        }

        await Task.WhenAll(inflight).WaitAsync(Wait, TestContext.Current.CancellationToken);
        await receiving.WaitAsync(Wait, TestContext.Current.CancellationToken);

        // Idle past a quarter of the keep-alive several times over: mosquitto answers the pings (else the 2 s response timeout closes).
        await Task.Delay(TimeSpan.FromSeconds(6), TimeProvider.System, TestContext.Current.CancellationToken);
        client.Closed.IsCompleted.ShouldBeFalse("the connection closed during the idle period");
    }

    [Fact]
    public async Task UnacknowledgedMessage_RedeliveredToThePersistentSessionAfterReconnect()
    {
        Assert.SkipWhen(_broker is null, "mosquitto is not installed");
        var received = Channel.CreateUnbounded<MqttIncomingMessage>();
        await using (var first = await ConnectAsync("interop-2", received, cleanSession: false))
        {
            (await first.SubscribeAsync("devices/edge1/modules/mod1/#", 1, TestContext.Current.CancellationToken)).ShouldBe((byte)1);
            await first.PublishAsync("devices/edge1/modules/mod1/inputs/in/", "keep me"u8.ToArray(), atLeastOnce: true, TestContext.Current.CancellationToken);
            var m = await received.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Wait, TestContext.Current.CancellationToken);
            m.Ack.Complete(false); // the handler failed: no PUBACK
            await first.DisconnectAsync(TestContext.Current.CancellationToken);
        }

        await using var second = await ConnectAsync("interop-2", received, cleanSession: false);
        var again = await received.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Wait, TestContext.Current.CancellationToken);
        Encoding.UTF8.GetString(again.Payload).ShouldBe("keep me");
        again.Ack.Complete(true);
    }

    private async Task<MqttClientConnection> ConnectAsync(string clientId, Channel<MqttIncomingMessage> received, bool cleanSession, TimeSpan? keepAlive = null) =>
        await MqttClientConnection.ConnectAsync(
            new MqttClientOptions
            {
                Host = "localhost",
                Port = _port,
                ClientId = clientId,
                UserName = $"localhost/{clientId}/?api-version=2020-09-30",
                Password = "SharedAccessSignature sr=x&sig=y&se=1",
                CleanSession = cleanSession,
                KeepAlive = keepAlive ?? TimeSpan.FromSeconds(60),
                ResponseTimeout = TimeSpan.FromSeconds(2),
                ValidateServerCertificate = (_, certificate, _, errors) => Auth.ServerCertificateValidator.Validate(certificate, errors, [_certs.Ca]) is null,
            },
            m =>
            {
                received.Writer.TryWrite(m);
                return ValueTask.CompletedTask;
            },
            TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);
}
