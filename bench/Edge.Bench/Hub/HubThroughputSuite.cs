using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Edge.Hub;
using Edge.Protocol;
using Edge.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Edge.Bench.Hub;

/// <summary>
/// Routed messages per second, module → hub → module (QoS 1, TLS, persistent store on) against mosquitto doing plain QoS 1 pub/sub
/// over TLS with the same certificate and the same client load, in one run; each hub delivery window (1 = edgeHub, 16) against
/// mosquitto with the same max_inflight_messages.
/// </summary>
public sealed class HubThroughputSuite : IBenchSuite
{
    private const int Window = 16;
    private const int Rounds = 3;
    private const int WarmupRounds = 2;

    public string Name => "hub";

    public string Description => "simulator hub routed msg/s (module→hub→module, QoS 1, TLS, SQLite store) vs mosquitto QoS 1 pub/sub [--count N]";

    public async Task<int> RunAsync(string[] args)
    {
        var scale = args is ["--count", var c] && int.TryParse(c, out var v) ? v : 3000;
        var dir = Directory.CreateTempSubdirectory("edge-bench-hub-").FullName;
        try
        {
            var content = new JsonObject
            {
                ["$edgeHub"] = new JsonObject
                {
                    ["properties.desired"] = new JsonObject
                    {
                        ["schemaVersion"] = "1.1",
                        ["routes"] = new JsonObject { ["r"] = "FROM /messages/modules/sender/outputs/* INTO BrokeredEndpoint(\"/modules/receiver/inputs/in\")" },
                    },
                },
            };
            await using var hub = await EdgeHubSimulator.StartAsync(
                new SimulatorOptions { StateDirectory = Path.Combine(dir, "hub"), DeviceId = "bench", Deployment = content, Modules = ["sender", "receiver"] },
                NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);
            await using var pipelined = await EdgeHubSimulator.StartAsync(
                new SimulatorOptions
                {
                    StateDirectory = Path.Combine(dir, "hub-pipelined"), DeviceId = "bench", Deployment = content, Modules = ["sender", "receiver"],
                    MaxInFlightPerModule = Window,
                },
                NullLoggerFactory.Instance, TimeProvider.System, CancellationToken.None);
            var ca = X509CertificateLoader.LoadCertificateFromFile(hub.CaCertificatePath);
            var ca2 = X509CertificateLoader.LoadCertificateFromFile(pipelined.CaCertificatePath);
            // Each hub configuration is compared with mosquitto delivering with the same window to the subscriber
            // (max_inflight_messages): one at a time as edgeHub does, and Window at a time.
            var mosquittoPort = LoopbackPort.Free();
            using var mosquitto = StartMosquitto(dir, mosquittoPort, hub, 1);
            var mosquittoWindowPort = LoopbackPort.Free();
            using var mosquittoWindow = StartMosquitto(dir, mosquittoWindowPort, hub, Window);
            await WaitForPortAsync(mosquittoPort);
            await WaitForPortAsync(mosquittoWindowPort);

            Console.WriteLine();
            Console.WriteLine($"| payload | messages per round | 1 in flight (edgeHub): mosquitto msg/s | hub msg/s | ratio (target ≥ 0.5) | {Window} in flight: mosquitto msg/s | hub msg/s | ratio (target ≥ 0.5) |");
            Console.WriteLine($"|---|---|---|---|---|---|---|---|");
            foreach (var (size, count) in new[] { (1024, scale), (50 * 1024, Math.Max(200, scale / 5)) })
            {
                // Warm-up every path (long enough for the JIT's tier-1 code to be in place on both sides: the clients are .NET on
                // both), then alternate rounds and take the median of each (the machine is shared and noisy).
                for (var w = 0; w < WarmupRounds; w++)
                {
                    await RunHubAsync(hub, ca, size, Math.Max(200, count / 3));
                    await RunHubAsync(pipelined, ca2, size, Math.Max(200, count / 3));
                    await RunMosquittoAsync(mosquittoPort, ca, size, Math.Max(200, count / 3));
                    await RunMosquittoAsync(mosquittoWindowPort, ca, size, Math.Max(200, count / 3));
                }

                var hubRates = new List<double>();
                var pipeRates = new List<double>();
                var mosqRates = new List<double>();
                var mosqWindowRates = new List<double>();
                for (var round = 0; round < Rounds; round++)
                {
                    hubRates.Add(await RunHubAsync(hub, ca, size, count));
                    mosqRates.Add(await RunMosquittoAsync(mosquittoPort, ca, size, count));
                    pipeRates.Add(await RunHubAsync(pipelined, ca2, size, count));
                    mosqWindowRates.Add(await RunMosquittoAsync(mosquittoWindowPort, ca, size, count));
                }

                var hubRate = Median(hubRates);
                var pipeRate = Median(pipeRates);
                var mosqRate = Median(mosqRates);
                var mosqWindowRate = Median(mosqWindowRates);
                Console.WriteLine($"| {size / 1024} KB | {count} | {mosqRate:F0} | {hubRate:F0} | {hubRate / mosqRate:F2}× | {mosqWindowRate:F0} | {pipeRate:F0} | {pipeRate / mosqWindowRate:F2}× |");
            }

            mosquitto.Kill();
            mosquittoWindow.Kill();
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(dir, true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static Process StartMosquitto(string dir, int port, EdgeHubSimulator hub, int inflight)
    {
        var conf = Path.Combine(dir, $"mosquitto-{inflight}.conf");
        File.WriteAllText(conf, $"""
            listener {port} 127.0.0.1
            allow_anonymous true
            cafile {hub.CaCertificatePath}
            certfile {hub.ServerCertificatePath}
            keyfile {hub.ServerKeyPath}
            max_queued_messages 1000000
            max_inflight_messages {inflight}
            persistence false
            log_dest none
            user {Environment.UserName}
            """);
        // `user` keeps mosquitto from dropping to the mosquitto account, which could not read our owner-only key file.
        var psi = new ProcessStartInfo("/usr/sbin/mosquitto", ["-c", conf]) { RedirectStandardError = false, RedirectStandardOutput = false };
        return Process.Start(psi) ?? throw new InvalidOperationException("mosquitto did not start");
    }

    private static async Task WaitForPortAsync(int port)
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), TimeProvider.System, CancellationToken.None);
            }
        }

        throw new InvalidOperationException("mosquitto did not open its port");
    }

    private static MqttClientOptionsBuilder Options(int port, X509Certificate2 ca, string clientId) =>
        new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", port)
            .WithProtocolVersion(MqttProtocolVersion.V311)
            .WithClientId(clientId)
            .WithCleanSession(true)
            .WithTlsOptions(t => t.UseTls().WithTargetHost("localhost").WithTrustChain([ca]));

    private static MqttClientOptions ModuleOptions(EdgeHubSimulator hub, X509Certificate2 ca, string module)
    {
        var token = SasToken.Create(SasToken.ModuleResource(hub.HubHostName, hub.DeviceId, module), hub.GetModuleKey(module), TimeProvider.System.GetUtcNow().AddHours(1));
        return Options(hub.MqttPort, ca, $"{hub.DeviceId}/{module}")
            .WithCredentials($"localhost/{hub.DeviceId}/{module}/?api-version=2020-09-30", token.ToString()).Build();
    }

    private static Task<double> RunHubAsync(EdgeHubSimulator hub, X509Certificate2 ca, int size, int count) =>
        MeasureAsync(ModuleOptions(hub, ca, "sender"), ModuleOptions(hub, ca, "receiver"),
            $"devices/{hub.DeviceId}/modules/receiver/#", $"devices/{hub.DeviceId}/modules/sender/messages/events/%24.on=out/", size, count);

    private static Task<double> RunMosquittoAsync(int port, X509Certificate2 ca, int size, int count) =>
        MeasureAsync(Options(port, ca, "sender").Build(), Options(port, ca, "receiver").Build(), "bench/#", "bench/in", size, count);

    /// <summary>One sender with up to <see cref="Window"/> QoS 1 publishes in flight; one receiver (auto-ack). Rate = messages / time until the last arrives.</summary>
    private static async Task<double> MeasureAsync(MqttClientOptions senderOptions, MqttClientOptions receiverOptions, string filter, string topic, int size, int count)
    {
        var factory = new MqttClientFactory();
        using var receiver = factory.CreateMqttClient();
        using var sender = factory.CreateMqttClient();
        var received = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        receiver.ApplicationMessageReceivedAsync += _ =>
        {
            if (Interlocked.Increment(ref received) == count)
            {
                done.TrySetResult();
            }

            return Task.CompletedTask;
        };
        await receiver.ConnectAsync(receiverOptions);
        await receiver.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        await sender.ConnectAsync(senderOptions);
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
        using var window = new SemaphoreSlim(Window);
        var started = Stopwatch.GetTimestamp();
        var pending = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            await window.WaitAsync();
            pending.Add(PublishAsync(sender, message, window));
        }

        await Task.WhenAll(pending);
        await done.Task.WaitAsync(TimeSpan.FromMinutes(5), TimeProvider.System);
        var elapsed = Stopwatch.GetElapsedTime(started);
        await sender.DisconnectAsync();
        await receiver.DisconnectAsync();
        return count / elapsed.TotalSeconds;
    }

    private static async Task PublishAsync(IMqttClient sender, MqttApplicationMessage message, SemaphoreSlim window)
    {
        try
        {
            var r = await sender.PublishAsync(message);
            if (!r.IsSuccess)
            {
                throw new InvalidOperationException($"publish failed: {r.ReasonCode}");
            }
        }
        finally
        {
            window.Release();
        }
    }
}
