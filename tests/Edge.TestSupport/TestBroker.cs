using System.Collections.Concurrent;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Edge.Protocol;
using MQTTnet;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace Edge.TestSupport;

/// <summary>What a client sent in CONNECT.</summary>
public sealed record ConnectRecord(string ClientId, string? UserName, string? Password, bool CleanSession, MqttConnectReasonCode Result);

/// <summary>A PUBLISH the broker received from a client.</summary>
public sealed record PublishRecord(string ClientId, string Topic, byte[] Payload, MqttQualityOfServiceLevel Qos)
{
    public string PayloadText => Encoding.UTF8.GetString(Payload);
}

/// <summary>
/// An edgeHub stand-in for tests: a real MQTTnet broker with a TLS-only endpoint on an ephemeral loopback port, a freshly
/// generated CA and server certificate, SAS authentication exactly as edgeHub checks it (client id, username, signature,
/// expiry, audience), twin GET/PATCH answers, desired-patch and input injection, method invocation, and records of every
/// CONNECT, SUBSCRIBE, PUBLISH and client PUBACK. Can be stopped and restarted on the same port.
/// </summary>
public sealed class TestBroker : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<(int, string)>> _methodCalls = new(StringComparer.OrdinalIgnoreCase);
    private readonly object _twinLock = new();
    private MqttServer? _server;

    private TestBroker(TestCertificates certificates, string directory)
    {
        Certificates = certificates;
        Directory = directory;
        CaPemPath = certificates.WriteCaPem(directory);
    }

    public string DeviceId { get; init; } = "edge1";

    public string ModuleId { get; init; } = "mod1";

    public string HubHostName { get; init; } = "testhub.azure-devices.net";

    /// <summary>The module's symmetric key (Base64).</summary>
    public string SharedKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public TestCertificates Certificates { get; }

    public string Directory { get; }

    public string CaPemPath { get; }

    public int Port { get; private set; }

    /// <summary>The broker's clock for token expiry (edgeHub allows 5 minutes of skew; this broker allows none).</summary>
    public Func<DateTimeOffset> Now { get; set; } = () => TimeProvider.System.GetUtcNow();

    /// <summary>When set, every CONNECT is refused with this code.</summary>
    public MqttConnectReasonCode? RefuseConnections { get; set; }

    /// <summary>Status for twin GET answers (200 normally).</summary>
    public int TwinGetStatus { get; set; } = 200;

    /// <summary>When false, twin requests get no answer at all.</summary>
    public bool AnswerTwin { get; set; } = true;

    public ConcurrentQueue<ConnectRecord> Connects { get; } = new();

    public ConcurrentQueue<(string ClientId, string Filter, MqttQualityOfServiceLevel Qos)> Subscriptions { get; } = new();

    public ConcurrentQueue<PublishRecord> Publishes { get; } = new();

    /// <summary>PUBACKs clients sent for messages the broker delivered (topic of the acknowledged message).</summary>
    public ConcurrentQueue<string> ClientAcks { get; } = new();

    /// <summary>The module twin's desired properties (without <c>$version</c>).</summary>
    public JsonObject Desired { get; private set; } = [];

    public long DesiredVersion { get; private set; } = 1;

    /// <summary>The reported properties as merged from PATCHes.</summary>
    public JsonObject Reported { get; } = [];

    public ConcurrentQueue<JsonObject> ReportedPatches { get; } = new();

    /// <summary>Telemetry publishes (module outputs) in arrival order.</summary>
    public IEnumerable<PublishRecord> Events => Publishes.Where(p => p.Topic.StartsWith("devices/", StringComparison.Ordinal) && p.Topic.Contains("/messages/events", StringComparison.Ordinal));

    public string ClientId => $"{DeviceId}/{ModuleId}";

    /// <summary>A module connection string pointing at this broker (GatewayHostName=localhost).</summary>
    public string ConnectionString => $"HostName={HubHostName};GatewayHostName=localhost;DeviceId={DeviceId};ModuleId={ModuleId};SharedAccessKey={SharedKey}";

    /// <summary>Environment for a module process (or an in-process host) to reach this broker.</summary>
    public Dictionary<string, string> ModuleEnvironment(string stateDirectory) => new(StringComparer.Ordinal)
    {
        ["EdgeHubConnectionString"] = ConnectionString,
        ["EdgeModuleCACertificateFile"] = CaPemPath,
        ["EdgeHubPort"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["StateDirectory"] = stateDirectory,
    };

    public static async Task<TestBroker> StartAsync(string directory, TestCertificates? certificates = null, string deviceId = "edge1", string moduleId = "mod1")
    {
        var broker = new TestBroker(certificates ?? TestCertificates.Create(), directory) { DeviceId = deviceId, ModuleId = moduleId };
        await broker.StartAsync().ConfigureAwait(false);
        return broker;
    }

    /// <summary>Starts (or restarts, on the same port) the broker.</summary>
    public async Task StartAsync()
    {
        var options = new MqttServerOptionsBuilder()
            .WithoutDefaultEndpoint()
            .WithEncryptedEndpoint()
            .WithEncryptedEndpointBoundIPAddress(IPAddress.Loopback)
            .WithEncryptedEndpointPort(Port == 0 ? LoopbackPort.Free() : Port)
            .WithEncryptionCertificate(Certificates.Server)
            .WithEncryptionSslProtocol(SslProtocols.Tls12 | SslProtocols.Tls13)
            .WithTlsEndpointReuseAddress()
            .WithPersistentSessions(false)
            .Build();
        Port = options.TlsEndpointOptions.Port;
        var server = new MqttServerFactory().CreateMqttServer(options);
        server.ValidatingConnectionAsync += ValidateAsync;
        server.InterceptingSubscriptionAsync += e =>
        {
            Subscriptions.Enqueue((e.ClientId, e.TopicFilter.Topic, e.TopicFilter.QualityOfServiceLevel));
            return Task.CompletedTask;
        };
        server.InterceptingPublishAsync += OnPublishAsync;
        server.ClientAcknowledgedPublishPacketAsync += e =>
        {
            ClientAcks.Enqueue(e.PublishPacket.Topic);
            return Task.CompletedTask;
        };
        await server.StartAsync().ConfigureAwait(false);
        _server = server;
    }

    /// <summary>Stops the broker (all connections drop); <see cref="StartAsync()"/> brings it back on the same port.</summary>
    public async Task StopAsync()
    {
        if (_server is { } s)
        {
            _server = null;
            await s.StopAsync().ConfigureAwait(false);
            s.Dispose();
        }
    }

    /// <summary>Drops every client connection (like edgeHub dropping a client whose token expired).</summary>
    public async Task DisconnectClientsAsync()
    {
        foreach (var c in await Server.GetClientsAsync().ConfigureAwait(false))
        {
            await c.DisconnectAsync().ConfigureAwait(false);
        }
    }

    private MqttServer Server => _server ?? throw new InvalidOperationException("the broker is stopped");

    private Task ValidateAsync(ValidatingConnectionEventArgs e)
    {
        var code = RefuseConnections ?? Authenticate(e.ClientId, e.UserName, e.Password);
        e.ReasonCode = code;
        Connects.Enqueue(new ConnectRecord(e.ClientId, e.UserName, e.Password, e.CleanSession ?? false, code));
        return Task.CompletedTask;
    }

    /// <summary>edgeHub's checks (docs/protocol.md, "SAS tokens" and "MQTT CONNECT").</summary>
    private MqttConnectReasonCode Authenticate(string clientId, string? username, string? password)
    {
        if (clientId != ClientId || username is null || !username.StartsWith($"localhost/{DeviceId}/{ModuleId}/?", StringComparison.Ordinal) || !username.Contains("api-version=", StringComparison.Ordinal))
        {
            return MqttConnectReasonCode.ClientIdentifierNotValid;
        }

        if (!SasToken.TryParse(password, out var token, out _) || token is null)
        {
            return MqttConnectReasonCode.BadUserNameOrPassword;
        }

        var expected = SasToken.ModuleResource(HubHostName, DeviceId, ModuleId);
        if (!string.Equals(token.Resource, expected, StringComparison.Ordinal) || !token.IsSignedWith(SharedKey) || token.ExpiresAtUnixSeconds < Now().ToUnixTimeSeconds())
        {
            return MqttConnectReasonCode.BadUserNameOrPassword;
        }

        return MqttConnectReasonCode.Success;
    }

    private async Task OnPublishAsync(InterceptingPublishEventArgs e)
    {
        var m = e.ApplicationMessage;
        if (e.ClientId is null or "" or "broker")
        {
            return;
        }

        var payload = m.Payload.IsEmpty ? [] : System.Buffers.BuffersExtensions.ToArray(m.Payload);
        Publishes.Enqueue(new PublishRecord(e.ClientId, m.Topic, payload, m.QualityOfServiceLevel));
        if (m.Topic.Contains("/messages/events", StringComparison.Ordinal))
        {
            // edgeHub routes telemetry; it never echoes it to the sender's own subscription.
            e.ProcessPublish = false;
            return;
        }

        if (!m.Topic.StartsWith("$iothub/", StringComparison.Ordinal))
        {
            return;
        }

        e.ProcessPublish = false;
        if (m.Topic.StartsWith("$iothub/twin/GET/?$rid=", StringComparison.Ordinal) && AnswerTwin)
        {
            var rid = m.Topic["$iothub/twin/GET/?$rid=".Length..];
            string body;
            lock (_twinLock)
            {
                var desired = (JsonObject)Desired.DeepClone();
                desired["$version"] = DesiredVersion;
                var reported = (JsonObject)Reported.DeepClone();
                reported["$version"] = 1;
                body = new JsonObject { ["desired"] = desired, ["reported"] = reported }.ToJsonString();
            }

            await InjectAsync($"$iothub/twin/res/{TwinGetStatus}/?$rid={rid}", Encoding.UTF8.GetBytes(TwinGetStatus == 200 ? body : "{}"), MqttQualityOfServiceLevel.AtMostOnce).ConfigureAwait(false);
        }
        else if (m.Topic.StartsWith("$iothub/twin/PATCH/properties/reported/?$rid=", StringComparison.Ordinal) && AnswerTwin)
        {
            var rid = m.Topic["$iothub/twin/PATCH/properties/reported/?$rid=".Length..];
            if (JsonNode.Parse(payload) is JsonObject patch)
            {
                lock (_twinLock)
                {
                    JsonMergePatch.Apply(Reported, patch);
                }

                ReportedPatches.Enqueue(patch);
                await InjectAsync($"$iothub/twin/res/204/?$rid={rid}", [], MqttQualityOfServiceLevel.AtMostOnce).ConfigureAwait(false);
            }
            else
            {
                await InjectAsync($"$iothub/twin/res/400/?$rid={rid}", [], MqttQualityOfServiceLevel.AtMostOnce).ConfigureAwait(false);
            }
        }
        else if (m.Topic.StartsWith("$iothub/methods/res/", StringComparison.Ordinal))
        {
            var rest = m.Topic["$iothub/methods/res/".Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            var status = int.Parse(rest[..slash], System.Globalization.CultureInfo.InvariantCulture);
            var rid = rest[(slash + "/?$rid=".Length)..];
            if (_methodCalls.TryRemove(rid, out var tcs))
            {
                tcs.TrySetResult((status, Encoding.UTF8.GetString(payload)));
            }
        }
    }

    /// <summary>Publishes a message from the broker to whoever subscribed.</summary>
    public Task InjectAsync(string topic, byte[] payload, MqttQualityOfServiceLevel qos = MqttQualityOfServiceLevel.AtLeastOnce)
    {
        var msg = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(qos).Build();
        return Server.InjectApplicationMessage(new InjectedMqttApplicationMessage(msg) { SenderClientId = "broker" });
    }

    /// <summary>Routes a message to the module's input, with a property bag as edgeHub writes it (sender ids included).</summary>
    public Task SendInputAsync(string input, byte[] body, IEnumerable<KeyValuePair<string, string?>>? properties = null, string senderModule = "sender")
    {
        var bag = new List<KeyValuePair<string, string?>>(properties ?? []) { new("$.cdid", DeviceId), new("$.cmid", senderModule) };
        return InjectAsync($"devices/{DeviceId}/modules/{ModuleId}/inputs/{input}/{PropertyBag.Encode(bag)}", body);
    }

    /// <summary>Sets the whole desired document (no notification; the client sees it on its next GET).</summary>
    public void SetDesired(JsonObject desired, long version)
    {
        lock (_twinLock)
        {
            Desired = (JsonObject)desired.DeepClone();
            DesiredVersion = version;
        }
    }

    /// <summary>Applies a desired patch and notifies the client with <c>$version</c>; <paramref name="versionStep"/> &gt; 1 simulates a missed patch.</summary>
    public Task PatchDesiredAsync(JsonObject patch, int versionStep = 1)
    {
        long version;
        lock (_twinLock)
        {
            JsonMergePatch.Apply(Desired, patch);
            DesiredVersion += versionStep;
            version = DesiredVersion;
        }

        var body = (JsonObject)patch.DeepClone();
        body["$version"] = version;
        return InjectAsync($"$iothub/twin/PATCH/properties/desired/?$version={version}", Encoding.UTF8.GetBytes(body.ToJsonString()));
    }

    /// <summary>Invokes a direct method as edgeHub does and waits for the response.</summary>
    public async Task<(int Status, string Payload)> InvokeMethodAsync(string name, string? payload, TimeSpan timeout)
    {
        var rid = Guid.NewGuid().ToString("N");
        var tcs = new TaskCompletionSource<(int, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        _methodCalls[rid] = tcs;
        await InjectAsync($"$iothub/methods/POST/{name}/?$rid={rid}", payload is null ? [] : Encoding.UTF8.GetBytes(payload)).ConfigureAwait(false);
        return await tcs.Task.WaitAsync(timeout, TimeProvider.System).ConfigureAwait(false);
    }

    /// <summary>Polls <paramref name="condition"/> (every 10 ms, real time) until true or <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = TimeProvider.System.GetUtcNow() + timeout;
        while (!condition())
        {
            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(10), TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        Certificates.Dispose();
    }
}
