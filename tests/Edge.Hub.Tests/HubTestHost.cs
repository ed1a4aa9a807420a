using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Edge.Protocol;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace Edge.Hub.Tests;

/// <summary>Records log entries; tests fail on any Error (MQTTnet TestEnvironment style).</summary>
internal sealed class RecordingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, int EventId, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new RecordingLogger(this);

    public void Dispose()
    {
    }

    private sealed class RecordingLogger(RecordingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((logLevel, eventId.Id, formatter(state, exception) + (exception is null ? "" : " " + exception)));
    }
}

/// <summary>A simulator in a temp state directory, plus raw MQTTnet clients over TLS that trust its CA.</summary>
internal sealed class HubTestHost : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private readonly List<IMqttClient> _clients = [];
    private readonly bool _ownsDirectory;

    private HubTestHost(EdgeHubSimulator sim, string dir, RecordingLoggerProvider logs, ILoggerFactory loggerFactory, bool ownsDirectory)
    {
        Sim = sim;
        StateDirectory = dir;
        Logs = logs;
        LoggerFactory = loggerFactory;
        _ownsDirectory = ownsDirectory;
    }

    public EdgeHubSimulator Sim { get; private set; }

    public string StateDirectory { get; }

    public RecordingLoggerProvider Logs { get; }

    public ILoggerFactory LoggerFactory { get; }

    public bool AllowErrors { get; set; }

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static JsonObject Routes(params (string Name, string Route, int? Priority, uint? Ttl)[] routes)
    {
        var r = new JsonObject();
        foreach (var (name, route, priority, ttl) in routes)
        {
            if (priority is null && ttl is null)
            {
                r[name] = route;
            }
            else
            {
                var o = new JsonObject { ["route"] = route };
                if (priority is not null)
                {
                    o["priority"] = priority;
                }

                if (ttl is not null)
                {
                    o["timeToLiveSecs"] = ttl;
                }

                r[name] = o;
            }
        }

        return r;
    }

    public static JsonObject Deployment(JsonObject routes, int ttlSecs = 7200, params string[] modules)
    {
        var content = new JsonObject
        {
            ["$edgeHub"] = new JsonObject
            {
                ["properties.desired"] = new JsonObject
                {
                    ["schemaVersion"] = "1.1",
                    ["routes"] = routes,
                    ["storeAndForwardConfiguration"] = new JsonObject { ["timeToLiveSecs"] = ttlSecs },
                },
            },
        };
        foreach (var m in modules)
        {
            content[m] = new JsonObject { ["properties.desired"] = new JsonObject { ["setting"] = m } };
        }

        return content;
    }

    public static async Task<HubTestHost> StartAsync(JsonObject? deployment = null, Action<SimulatorOptions>? configure = null, string? stateDirectory = null)
    {
        var dir = stateDirectory ?? Directory.CreateTempSubdirectory("edge-hub-test-").FullName;
        var logs = new RecordingLoggerProvider();
        var lf = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        var options = NewOptions(dir, deployment);
        configure?.Invoke(options);
        var sim = await EdgeHubSimulator.StartAsync(options, lf, TimeProvider.System, Ct);
        return new HubTestHost(sim, dir, logs, lf, stateDirectory is null);
    }

    private static SimulatorOptions NewOptions(string dir, JsonObject? deployment) => new()
    {
        StateDirectory = dir,
        DeviceId = "dev1",
        Deployment = deployment?.DeepClone().AsObject(),
        MessageAckTimeout = TimeSpan.FromSeconds(2),
        IdleRecheckInterval = TimeSpan.FromMilliseconds(100),
    };

    /// <summary>Stops the simulator and starts a new one on the same state directory (a hub process restart).</summary>
    public async Task RestartProcessAsync(Action<SimulatorOptions>? configure = null)
    {
        foreach (var c in _clients)
        {
            c.Dispose();
        }

        _clients.Clear();
        await Sim.DisposeAsync();
        var options = NewOptions(StateDirectory, null);
        configure?.Invoke(options);
        Sim = await EdgeHubSimulator.StartAsync(options, LoggerFactory, TimeProvider.System, Ct);
    }

    public string ModuleToken(string module, string? key = null, string? host = null, DateTimeOffset? expires = null, string? audienceModule = null) =>
        SasToken.Create(SasToken.ModuleResource(host ?? Sim.HubHostName, Sim.DeviceId, audienceModule ?? module), key ?? Sim.GetModuleKey(module),
            expires ?? TimeProvider.System.GetUtcNow().AddHours(1)).ToString();

    public string ModuleUsername(string module) => $"localhost/{Sim.DeviceId}/{module}/?api-version=2020-09-30&DeviceClientType=test";

    public MqttClientOptions ClientOptions(string clientId, string? username, string? password) =>
        new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", Sim.MqttPort)
            .WithProtocolVersion(MqttProtocolVersion.V311)
            .WithClientId(clientId)
            .WithCredentials(username, password)
            .WithCleanSession(true)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .WithTlsOptions(t => t.UseTls().WithTargetHost("localhost")
                .WithTrustChain([X509CertificateLoader.LoadCertificateFromFile(Sim.CaCertificatePath)]))
            .Build();

    /// <summary>Connects with explicit CONNECT fields; returns the client and the CONNACK result code (the client is tracked for disposal).</summary>
    public async Task<(IMqttClient Client, MqttClientConnectResultCode Code)> ConnectRawAsync(string clientId, string? username, string? password)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        _clients.Add(client);
        try
        {
            var result = await client.ConnectAsync(ClientOptions(clientId, username, password), Ct);
            return (client, result.ResultCode);
        }
        catch (MQTTnet.Adapter.MqttConnectingFailedException ex)
        {
            return (client, ex.Message.Contains("NotAuthorized", StringComparison.Ordinal) ? MqttClientConnectResultCode.NotAuthorized : MqttClientConnectResultCode.UnspecifiedError);
        }
    }

    public async Task<IMqttClient> ConnectModuleAsync(string module)
    {
        var (client, code) = await ConnectRawAsync($"{Sim.DeviceId}/{module}", ModuleUsername(module), ModuleToken(module));
        code.ShouldBe(MqttClientConnectResultCode.Success);
        return client;
    }

    /// <summary>A module that subscribes to its inputs and records them (auto-acknowledged unless <paramref name="autoAck"/> is false).</summary>
    public async Task<TestModule> StartModuleAsync(string module, bool autoAck = true)
    {
        var client = await ConnectModuleAsync(module);
        var m = new TestModule(client, module, autoAck);
        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter($"devices/{Sim.DeviceId}/modules/{module}/#", MqttQualityOfServiceLevel.AtLeastOnce).Build(), Ct);
        return m;
    }

    public static MqttApplicationMessage Telemetry(string deviceId, string module, string? output, byte[] body, params (string Key, string Value)[] props)
    {
        var bag = new List<KeyValuePair<string, string?>>();
        if (output is not null)
        {
            bag.Add(new("$.on", output));
        }

        bag.AddRange(props.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value)));
        var topic = $"devices/{deviceId}/modules/{module}/messages/events/" + (bag.Count > 0 ? PropertyBag.Encode(bag) + "/" : "");
        return new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(body).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
    }

    public Task<UpstreamMessage[]> ReadUpstreamAsync(int count, IAsyncEnumerable<UpstreamMessage> stream) => Take(stream, count);

    private static async Task<UpstreamMessage[]> Take(IAsyncEnumerable<UpstreamMessage> stream, int count)
    {
        var list = new List<UpstreamMessage>();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(Wait);
        await foreach (var m in stream.WithCancellation(cts.Token))
        {
            list.Add(m);
            if (list.Count == count)
            {
                break;
            }
        }

        return [.. list];
    }

    public static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = TimeProvider.System.GetUtcNow() + Wait;
        while (!condition())
        {
            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                throw new TimeoutException("Timed out waiting for " + what);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System, Ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _clients)
        {
            c.Dispose();
        }

        await Sim.DisposeAsync();
        LoggerFactory.Dispose();
        if (_ownsDirectory)
        {
            try
            {
                Directory.Delete(StateDirectory, true);
            }
            catch (IOException)
            {
            }
        }

        if (!AllowErrors)
        {
            Logs.Entries.Where(e => e.Level >= LogLevel.Error).Select(e => e.Message).ShouldBeEmpty();
        }
    }

    public static HttpClient Http(Uri baseUri) => new() { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };

    public HttpRequestMessage Request(HttpMethod method, string path, HttpContent? content = null)
    {
        var req = new HttpRequestMessage(method, path) { Content = content };
        req.Headers.TryAddWithoutValidation("Authorization", Sim.CreateServiceToken(TimeSpan.FromHours(1), TimeProvider.System));
        return req;
    }

    internal static string Unescape(string s) => WebUtility.UrlDecode(s);
}

/// <summary>A raw-MQTT module that records what reaches its inputs.</summary>
internal sealed class TestModule
{
    public TestModule(IMqttClient client, string module, bool autoAck)
    {
        Client = client;
        Module = module;
        client.ApplicationMessageReceivedAsync += e =>
        {
            if (!autoAck)
            {
                e.AutoAcknowledge = false;
            }

            Received.Writer.TryWrite(e.ApplicationMessage);
            return Task.CompletedTask;
        };
    }

    public IMqttClient Client { get; }

    public string Module { get; }

    public Channel<MqttApplicationMessage> Received { get; } = Channel.CreateUnbounded<MqttApplicationMessage>();

    public async Task<List<MqttApplicationMessage>> TakeAsync(int count)
    {
        var list = new List<MqttApplicationMessage>();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(HubTestHost.Ct);
        cts.CancelAfter(HubTestHost.Wait);
        while (list.Count < count)
        {
            list.Add(await Received.Reader.ReadAsync(cts.Token));
        }

        return list;
    }

    /// <summary>
    /// Asserts that nothing is queued for this module ahead of a barrier, without waiting for time to pass: a twin GET answered
    /// on the same connection. The hub writes one ordered stream per connection, so whatever it queued for this module before it
    /// handled the GET arrives before the response.
    /// </summary>
    public async Task ShouldHaveReceivedNothingMoreAsync()
    {
        if (!_twinResponses)
        {
            await Client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter("$iothub/twin/res/#").Build(), HubTestHost.Ct);
            _twinResponses = true;
        }

        var rid = "barrier-" + Interlocked.Increment(ref _barriers).ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"$iothub/twin/GET/?$rid={rid}").Build(), HubTestHost.Ct);
        (await TakeAsync(1)).Single().Topic.ShouldBe($"$iothub/twin/res/200/?$rid={rid}", "nothing may reach the module ahead of the barrier");
    }

    private bool _twinResponses;
    private int _barriers;
}
