using System.Security.Principal;
using System.Text;
using Azure.Messaging.EventHubs;
using Edge.Cli.Fleet;
using Edge.Deployment.IoTHub;
using Edge.TestSupport;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Encoding;
using Microsoft.Azure.Amqp.Framing;
using Microsoft.Azure.Amqp.Sasl;
using Microsoft.Azure.Amqp.Transport;

namespace Edge.Cli.Tests;

/// <summary>
/// <c>edge monitor --hub</c>'s first step against a fake IoT Hub AMQP endpoint on loopback (plain amqp://, real
/// Microsoft.Azure.Amqp on both sides): SASL PLAIN with the hub policy's SAS token, a receiver on the events path, and the
/// hub's <c>amqp:link:redirect</c> detach, from which the Event Hub-compatible connection string is derived; and the
/// event formatting on EventData built with the SDK's model factory (the read itself: <see cref="EventHubReadTests"/>).
/// </summary>
public sealed class EventHubEndpointTests
{
    private static readonly IoTHubConnectionString Hub =
        new("myhub.azure-devices.net", "service", Convert.ToBase64String(Encoding.UTF8.GetBytes("0123456789abcdef0123456789abcdef")));

    [Fact]
    public async Task ResolveAsync_HubRedirects_DerivesEventHubConnectionString()
    {
        var ct = TestContext.Current.CancellationToken;
        var port = LoopbackPort.Free();
        using var hub = new FakeIoTHubAmqp(port, "ihsuprodblres001dednamespace.servicebus.windows.net", "iothub-ehub-myhub-1234-abcdef");

        var endpoint = await EventHubEndpoint.ResolveAsync(Hub, new Uri($"amqp://127.0.0.1:{port}"), TimeProvider.System, ct);

        endpoint.NamespaceHost.ShouldBe("ihsuprodblres001dednamespace.servicebus.windows.net");
        endpoint.EventHubName.ShouldBe("iothub-ehub-myhub-1234-abcdef");
        endpoint.ConnectionString.ShouldBe(
            "Endpoint=sb://ihsuprodblres001dednamespace.servicebus.windows.net/;SharedAccessKeyName=service;"
            + $"SharedAccessKey={Hub.SharedAccessKey};EntityPath=iothub-ehub-myhub-1234-abcdef");
        hub.Identity.ShouldBe("service@sas.root.myhub");
        hub.Password.ShouldNotBeNull().ShouldStartWith("SharedAccessSignature sr=myhub.azure-devices.net%2Fmessages%2Fevents&sig=");
        hub.Password.ShouldEndWith("&skn=service");
        hub.SourceAddress.ShouldBe("/messages/events/$management");

        // The connection string is one Azure.Messaging.EventHubs accepts.
        var parsed = EventHubsConnectionStringProperties.Parse(endpoint.ConnectionString);
        parsed.FullyQualifiedNamespace.ShouldBe("ihsuprodblres001dednamespace.servicebus.windows.net");
        parsed.EventHubName.ShouldBe("iothub-ehub-myhub-1234-abcdef");
    }

    [Fact]
    public async Task ResolveAsync_HubRefusesLink_ThrowsIoTHubExceptionNamingTheCondition()
    {
        var ct = TestContext.Current.CancellationToken;
        var port = LoopbackPort.Free();
        using var hub = new FakeIoTHubAmqp(port, null, null);

        var ex = await Should.ThrowAsync<IoTHubException>(() => EventHubEndpoint.ResolveAsync(Hub, new Uri($"amqp://127.0.0.1:{port}"), TimeProvider.System, ct));

        ex.Message.ShouldContain("amqp:unauthorized-access");
    }

    [Fact]
    public async Task ResolveAsync_NothingListening_ThrowsIoTHubExceptionNamingTheEndpoint()
    {
        var port = LoopbackPort.Free();

        var ex = await Should.ThrowAsync<IoTHubException>(() => EventHubEndpoint.ResolveAsync(Hub, new Uri($"amqp://127.0.0.1:{port}"), TimeProvider.System, TestContext.Current.CancellationToken));

        ex.Message.ShouldContain($"127.0.0.1:{port}");
    }

    [Fact]
    public void FromRedirect_AddressWithoutEntity_ThrowsWithHint()
    {
        var ex = Should.Throw<IoTHubException>(() => EventHubEndpoint.FromRedirect("ns.servicebus.windows.net", "amqps://ns.servicebus.windows.net:5671/", Hub));

        ex.Message.ShouldContain("hub-level policy");
    }

    [Fact]
    public void ToUpstreamEvent_ModuleEvent_TakesIdsOutputAndJsonBody()
    {
        var enqueued = new DateTimeOffset(2026, 12, 8, 3, 40, 0, TimeSpan.Zero);
        var data = EventHubsModelFactory.EventData(
            new BinaryData("{\"camera\":\"cam1\",\"seq\":7}"u8.ToArray()),
            new Dictionary<string, object> { ["outputName"] = "detections", ["seq"] = 7L },
            new Dictionary<string, object>
            {
                ["iothub-connection-device-id"] = "edge-1",
                ["iothub-connection-module-id"] = "Inference",
            },
            offsetString: "0",
            enqueuedTime: enqueued);

        var e = EventHubEndpoint.ToUpstreamEvent(data);

        e.SourceModuleId.ShouldBe("Inference");
        e.OutputName.ShouldBe("detections");
        e.SystemProperties["iothub-connection-device-id"]!.GetValue<string>().ShouldBe("edge-1");
        e.Format().ShouldBe("2026-12-08T03:40:00.0000000+00:00 Inference/detections {\"camera\":\"cam1\",\"seq\":7} {\"outputName\":\"detections\",\"seq\":\"7\"}");
    }

    [Fact]
    public void ToUpstreamEvent_DeviceTextEvent_TakesDeviceIdAndStringBody()
    {
        var data = EventHubsModelFactory.EventData(
            new BinaryData("not json"u8.ToArray()),
            systemProperties: new Dictionary<string, object> { ["iothub-connection-device-id"] = "edge-1" },
            offsetString: "0");

        var e = EventHubEndpoint.ToUpstreamEvent(data);

        e.SourceModuleId.ShouldBe("edge-1");
        e.OutputName.ShouldBeNull();
        e.Body!.GetValue<string>().ShouldBe("not json");
    }

    /// <summary>
    /// IoT Hub's AMQP front door, as far as the redirect: SASL PLAIN (recorded), then every receiver link is attached and
    /// detached with <c>amqp:link:redirect</c> naming the Event Hubs endpoint (or, without one, <c>amqp:unauthorized-access</c>).
    /// </summary>
    private sealed class FakeIoTHubAmqp : IRuntimeProvider, ISaslPlainAuthenticator, IDisposable
    {
        private readonly AmqpSettings _settings;
        private readonly AmqpTransportListener _listener;
        private readonly string? _namespaceHost;
        private readonly string? _eventHub;

        public FakeIoTHubAmqp(int port, string? namespaceHost, string? eventHub)
        {
            _namespaceHost = namespaceHost;
            _eventHub = eventHub;
            var sasl = new SaslTransportProvider();
            sasl.Versions.Add(new AmqpVersion(new Version(1, 0, 0, 0)));
            sasl.AddHandler(new SaslPlainHandler(this));
            var amqp = new AmqpTransportProvider();
            amqp.Versions.Add(new AmqpVersion(new Version(1, 0, 0, 0)));
            _settings = new AmqpSettings { RuntimeProvider = this };
            _settings.TransportProviders.Add(sasl);
            _settings.TransportProviders.Add(amqp);
            var tcp = new TcpTransportSettings { Host = "127.0.0.1", Port = port };
            _listener = new AmqpTransportListener([tcp.CreateListener()], _settings);
            _listener.Listen(OnAccept);
        }

        public string? Identity { get; private set; }

        public string? Password { get; private set; }

        public string? SourceAddress { get; private set; }

        public void Dispose() => _listener.Close();

        private void OnAccept(TransportListener listener, TransportAsyncCallbackArgs args)
        {
            var connection = CreateConnection(args.Transport, (ProtocolHeader)args.UserToken, false, _settings, new AmqpConnectionSettings { ContainerId = "fake-iothub" });
            _ = connection.OpenAsync(CancellationToken.None);
        }

        public AmqpConnection CreateConnection(TransportBase transport, ProtocolHeader protocolHeader, bool isInitiator, AmqpSettings amqpSettings, AmqpConnectionSettings connectionSettings) =>
            new(transport, protocolHeader, isInitiator, amqpSettings, connectionSettings);

        public AmqpSession CreateSession(AmqpConnection connection, AmqpSessionSettings settings) => new(connection, settings, this);

        public AmqpLink CreateLink(AmqpSession session, AmqpLinkSettings settings) =>
            settings.Role == true ? new ReceivingAmqpLink(session, settings) : new SendingAmqpLink(session, settings);

        public IAsyncResult BeginOpenLink(AmqpLink link, TimeSpan timeout, AsyncCallback callback, object state)
        {
            SourceAddress = (link.Settings.Source as Source)?.Address?.ToString();
            var error = new Error { Condition = new AmqpSymbol("amqp:unauthorized-access"), Description = "no redirect configured" };
            if (_namespaceHost is not null)
            {
                var info = new Fields();
                info["hostname"] = _namespaceHost;
                info["network-host"] = _namespaceHost;
                info["port"] = 5671;
                info["address"] = $"amqps://{_namespaceHost}:5671/{_eventHub}/$management";
                error = new Error { Condition = new AmqpSymbol(EventHubEndpoint.RedirectCondition), Description = "redirect", Info = info };
            }

            var tcs = new TaskCompletionSource(state);
            tcs.SetException(new AmqpException(error));
            callback?.Invoke(tcs.Task);
            return tcs.Task;
        }

        public void EndOpenLink(IAsyncResult result) => ((Task)result).GetAwaiter().GetResult();

        public Task<IPrincipal> AuthenticateAsync(string identity, string password)
        {
            Identity = identity;
            Password = password;
            return Task.FromResult<IPrincipal>(new GenericPrincipal(new GenericIdentity(identity), []));
        }
    }
}
