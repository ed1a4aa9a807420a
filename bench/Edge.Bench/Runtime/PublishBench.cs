using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Edge.Runtime;
using Edge.Runtime.Diagnostics;
using Edge.Protocol;
using Edge.TestSupport;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Edge.Bench.Runtime;

/// <summary>
/// Messages per second from SendAsync to PUBACK through the outbox and ModuleClient, against a raw MQTTnet client publishing the
/// same payloads at QoS 1 with the same in-flight window (16) to the same in-process TLS broker.
/// </summary>
internal sealed class PublishBench : IBenchSuite
{
    private const int Window = 16;

    public string Name => "publish";

    public string Description => "publish throughput through the outbox vs a raw MQTTnet QoS 1 client (TLS loopback broker; 1 KB, 50 KB)";

    public async Task<int> RunAsync(string[] args)
    {
        using var dir = new TempDirectory("bench-publish");
        await using var broker = await TestBroker.StartAsync(dir.Path);
        Console.WriteLine("| payload | messages | raw MQTTnet QoS 1, 16 in flight (msg/s) | SendAsync producers | outbox + ModuleClient, SendAsync to PUBACK (msg/s) | ratio (target >= 0.7x) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        // Optional: --size 1|50 (KB), --case drain|1|4 (profiling one case), --rounds N counted after one warm-up round (default 5).
        var onlySize = Option(args, "--size");
        var onlyCase = Option(args, "--case");
        var rounds = Option(args, "--rounds") is { } r ? int.Parse(r, System.Globalization.CultureInfo.InvariantCulture) : 5;
        foreach (var (size, count) in new[] { (1024, 10_000), (50 * 1024, 2_000) })
        {
            if (onlySize is not null && onlySize != (size / 1024).ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                continue;
            }

            // Medians of 5 alternating rounds: raw, backlog drain, 1 producer, 4 producers (a shared machine's load swings).
            var cases = new[] { "drain", "1", "4" }.Where(c => onlyCase is null || onlyCase == c).ToList();
            var raws = new List<double>();
            var results = cases.ToDictionary(c => c, _ => new List<double>(), StringComparer.Ordinal);
            // Round 0 is a warm-up on both sides, not counted: the steady state of a long-running module is what compares
            // (a cold round is mostly JIT compilation and tiering, and our path has more code to compile than the raw loop).
            for (var round = -1; round < rounds; round++)
            {
                var rawRate = await RawAsync(broker, size, count);
                if (round >= 0)
                {
                    raws.Add(rawRate);
                }

                while (broker.Publishes.TryDequeue(out _))
                {
                }
                foreach (var c in cases)
                {
                    var state = Path.Combine(dir.Path, $"{c}-{round}");
                    var rate = c == "drain"
                        ? await DrainAsync(broker, state, size, count)
                        : await OutboxAsync(broker, state, size, count, int.Parse(c, System.Globalization.CultureInfo.InvariantCulture));
                    if (round >= 0)
                    {
                        results[c].Add(rate);
                    }

                    while (broker.Publishes.TryDequeue(out _))
                    {
                    }

                    // Each round starts from a fresh state folder; deleting the last one keeps its dirty pages from being
                    // written back during the next rounds (the raw side writes no files).
                    Directory.Delete(state, recursive: true);
                }
            }

            var raw = RuntimeBenchHelpers.Median(raws);
            foreach (var c in cases)
            {
                var rate = RuntimeBenchHelpers.Median(results[c]);
                var label = c == "drain" ? "backlog drain (queued while offline)" : c;
                Console.WriteLine($"| {size / 1024} KB | {count:N0} | {raw:N0} | {label} | {rate:N0} | {RuntimeBenchHelpers.Ratio(rate, raw)} |");
            }
        }

        return 0;
    }

    private static async Task<double> RawAsync(TestBroker broker, int size, int count)
    {
        using var mqtt = new MqttClientFactory().CreateMqttClient();
        var token = SasToken.Create(SasToken.ModuleResource(broker.HubHostName, broker.DeviceId, broker.ModuleId), broker.SharedKey, TimeProvider.System.GetUtcNow().AddHours(1));
        var roots = new X509Certificate2Collection(broker.Certificates.Ca);
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("localhost", broker.Port)
            .WithProtocolVersion(MqttProtocolVersion.V311)
            .WithClientId(broker.ClientId)
            .WithCredentials($"localhost/{broker.DeviceId}/{broker.ModuleId}/?api-version=2020-09-30", token.ToString())
            .WithTlsOptions(o => o.UseTls().WithTargetHost("localhost").WithTrustChain(roots))
            .Build();
        var result = await mqtt.ConnectAsync(options);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            throw new InvalidOperationException(result.ResultCode.ToString());
        }

        var body = new byte[size];
        var inflight = new Queue<Task<MqttClientPublishResult>>();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var bag = PropertyBag.Encode([new("$.on", "out"), new("$.mid", Guid.NewGuid().ToString())]);
            var msg = new MqttApplicationMessageBuilder().WithTopic($"devices/{broker.DeviceId}/modules/{broker.ModuleId}/messages/events/{bag}/").WithPayload(body).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
            inflight.Enqueue(mqtt.PublishAsync(msg));
            if (inflight.Count >= Window)
            {
                await inflight.Dequeue();
            }
        }

        while (inflight.Count > 0)
        {
            await inflight.Dequeue();
        }

        var rate = count / sw.Elapsed.TotalSeconds;
        Verbose($"raw {size / 1024} KB", cpu, count);
        await mqtt.DisconnectAsync();
        return rate;
    }

    private static async Task<double> DrainAsync(TestBroker broker, string dir, int size, int count)
    {
        using var metrics = new RuntimeMetrics();
        await using var outbox = RuntimeBenchHelpers.CreateOutbox(dir, metrics);
        await using var client = RuntimeBenchHelpers.CreateClient(broker, dir, outbox, metrics);
        var body = new byte[size];
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < count / 4; i++)
            {
                await client.SendAsync("out", new EdgeMessage { Body = body }, CancellationToken.None);
            }
        })));
        await client.StartAsync(CancellationToken.None);
        await RuntimeBenchHelpers.WaitAsync(() => client.State == ConnectionState.Connected, TimeSpan.FromSeconds(30));
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        await RuntimeBenchHelpers.WaitAsync(() => outbox.Count == 0, TimeSpan.FromMinutes(2));
        var rate = count / sw.Elapsed.TotalSeconds;
        Verbose($"drain {size / 1024} KB", cpu, count);
        await client.StopAsync(CancellationToken.None);
        return rate;
    }

    private static async Task<double> OutboxAsync(TestBroker broker, string root, int size, int count, int producers)
    {
        var dir = Path.Combine(root, $"state-{size}");
        using var metrics = new RuntimeMetrics();
        await using var outbox = RuntimeBenchHelpers.CreateOutbox(dir, metrics);
        await using var client = RuntimeBenchHelpers.CreateClient(broker, dir, outbox, metrics);
        await client.StartAsync(CancellationToken.None);
        await RuntimeBenchHelpers.WaitAsync(() => client.State == ConnectionState.Connected, TimeSpan.FromSeconds(30));
        var body = new byte[size];
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, producers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < count / producers; i++)
            {
                var r = await client.SendAsync("out", new EdgeMessage { Body = body }, CancellationToken.None);
                if (!r.IsAccepted)
                {
                    throw new InvalidOperationException(r.Status.ToString());
                }
            }
        })));

        var enqueued = sw.Elapsed;
        var left = outbox.Count;
        await RuntimeBenchHelpers.WaitAsync(() => outbox.Count == 0, TimeSpan.FromMinutes(2));
        if (Environment.GetEnvironmentVariable("BENCH_VERBOSE") == "1")
        {
            Console.WriteLine($"enqueue {enqueued.TotalMilliseconds:0} ms ({left} left), drained {sw.Elapsed.TotalMilliseconds:0} ms");
        }

        Verbose($"outbox {size / 1024} KB x {producers}", cpu, count);

        var rate = count / sw.Elapsed.TotalSeconds;
        await client.StopAsync(CancellationToken.None);
        return rate;
    }

    internal static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>With <c>BENCH_VERBOSE=1</c>: process CPU time per message (less sensitive to a shared machine than wall time).</summary>
    private static void Verbose(string what, TimeSpan cpuBefore, int count)
    {
        if (Environment.GetEnvironmentVariable("BENCH_VERBOSE") == "1")
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            Console.WriteLine($"{what}: {cpu.TotalMicroseconds / count:0.0} us CPU/msg");
        }
    }
}
