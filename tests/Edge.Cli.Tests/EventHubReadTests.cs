using System.Collections.Concurrent;
using System.Security.Principal;
using Edge.Cli.Fleet;
using Edge.TestSupport;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Encoding;
using Microsoft.Azure.Amqp.Framing;
using Microsoft.Azure.Amqp.Sasl;
using Microsoft.Azure.Amqp.Transport;

namespace Edge.Cli.Tests;

/// <summary>
/// <c>edge monitor --hub</c>'s read: Azure.Messaging.EventHubs against a minimal fake Event Hubs endpoint on loopback
/// (plain AMQP through the SDK's development-emulator connection string): CBS put-token, the management READ of the
/// partition ids, and a partition receiver that delivers one IoT Hub-shaped event.
/// </summary>
public sealed class EventHubReadTests
{
    [Fact]
    public async Task ReadAsync_FakeEventHub_YieldsTheHubEventWithIdsAndOutput()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(60));
        var port = LoopbackPort.Free();
        using var eventHub = new FakeEventHub(port, "iothub-ehub-myhub");
        var endpoint = new EventHubEndpoint("127.0.0.1", "iothub-ehub-myhub",
            $"Endpoint=sb://127.0.0.1:{port}/;SharedAccessKeyName=service;SharedAccessKey=a2V5;EntityPath=iothub-ehub-myhub;UseDevelopmentEmulator=true");

        UpstreamEventHolder? first = null;
        await foreach (var e in endpoint.ReadAsync("$Default", recent: false, cts.Token))
        {
            first = new UpstreamEventHolder(e);
            break;
        }

        var read = first.ShouldNotBeNull().Event;
        read.SourceModuleId.ShouldBe("Inference");
        read.OutputName.ShouldBe("detections");
        read.Body!.ToJsonString().ShouldBe("{\"seq\":1}");
        read.SystemProperties["iothub-connection-device-id"]!.GetValue<string>().ShouldBe("edge-1");
        eventHub.ReceiverFilters.ShouldContain(f => f.Contains("@latest", StringComparison.Ordinal)); // from the end of each partition
        eventHub.CbsAudiences.ShouldContain(a => a.Contains("iothub-ehub-myhub", StringComparison.Ordinal));
        eventHub.ReceiverSources.ShouldContain("/iothub-ehub-myhub/ConsumerGroups/$Default/Partitions/0");
    }

    private sealed record UpstreamEventHolder(Edge.Deployment.IoTHub.UpstreamEvent Event);

    /// <summary>The MSSBCBS mechanism the Event Hubs client asks for: authentication follows through CBS.</summary>
    private sealed class CbsSaslHandler : SaslHandler
    {
        public CbsSaslHandler() => Mechanism = "MSSBCBS";

        public override SaslHandler Clone() => new CbsSaslHandler();

        public override void OnChallenge(SaslChallenge challenge) => throw new NotSupportedException();

        public override void OnResponse(SaslResponse response) => throw new NotSupportedException();

        protected override void OnStart(SaslInit init, bool isClient) => Negotiator.CompleteNegotiation(SaslCode.Ok, null);
    }

    private sealed class FakeEventHub : IRuntimeProvider, ISaslPlainAuthenticator, IDisposable
    {
        private readonly AmqpSettings _settings;
        private readonly AmqpTransportListener _listener;
        private readonly string _name;
        private readonly ConcurrentDictionary<(AmqpConnection, string), TaskCompletionSource<SendingAmqpLink>> _replyLinks = new();

        public FakeEventHub(int port, string name)
        {
            _name = name;
            var sasl = new SaslTransportProvider();
            sasl.Versions.Add(new AmqpVersion(new Version(1, 0, 0, 0)));
            sasl.AddHandler(new SaslPlainHandler(this));
            sasl.AddHandler(new SaslAnonymousHandler());
            sasl.AddHandler(new CbsSaslHandler());
            var amqp = new AmqpTransportProvider();
            amqp.Versions.Add(new AmqpVersion(new Version(1, 0, 0, 0)));
            _settings = new AmqpSettings { RuntimeProvider = this };
            _settings.TransportProviders.Add(sasl);
            _settings.TransportProviders.Add(amqp);
            _listener = new AmqpTransportListener([new TcpTransportSettings { Host = "127.0.0.1", Port = port }.CreateListener()], _settings);
            _listener.Listen(OnAccept);
        }

        public ConcurrentBag<string> CbsAudiences { get; } = [];

        public ConcurrentBag<string> ReceiverSources { get; } = [];

        public ConcurrentBag<string> ReceiverFilters { get; } = [];

        public void Dispose() => _listener.Close();

        private void OnAccept(TransportListener listener, TransportAsyncCallbackArgs args)
        {
            var connection = CreateConnection(args.Transport, (ProtocolHeader)args.UserToken, false, _settings, new AmqpConnectionSettings { ContainerId = "fake-eventhub" });
            _ = connection.OpenAsync(CancellationToken.None);
        }

        public AmqpConnection CreateConnection(TransportBase transport, ProtocolHeader protocolHeader, bool isInitiator, AmqpSettings amqpSettings, AmqpConnectionSettings connectionSettings) =>
            new(transport, protocolHeader, isInitiator, amqpSettings, connectionSettings);

        public AmqpSession CreateSession(AmqpConnection connection, AmqpSessionSettings settings) => new(connection, settings, this);

        public AmqpLink CreateLink(AmqpSession session, AmqpLinkSettings settings)
        {
            if (settings.Role == true)
            {
                settings.TotalLinkCredit = 100;
                settings.AutoSendFlow = true;
                return new ReceivingAmqpLink(session, settings);
            }

            return new SendingAmqpLink(session, settings);
        }

        public IAsyncResult BeginOpenLink(AmqpLink link, TimeSpan timeout, AsyncCallback callback, object state)
        {
            var connection = link.Session.Connection;
            if (link is ReceivingAmqpLink receiver)
            {
                var address = (receiver.Settings.Target as Target)?.Address?.ToString() ?? "";
                receiver.RegisterMessageListener(m => _ = ReplyAsync(connection, address, receiver, m));
            }
            else if (link is SendingAmqpLink sender)
            {
                var address = (sender.Settings.Source as Source)?.Address?.ToString() ?? "";
                if (address is "$cbs" or "$management")
                {
                    ReplyLink(connection, address).TrySetResult(sender);
                }
                else
                {
                    ReceiverSources.Add(address);
                    if ((sender.Settings.Source as Source)?.FilterSet is { } filters)
                    {
                        foreach (var filter in filters)
                        {
                            ReceiverFilters.Add((filter.Value as DescribedType)?.Value?.ToString() ?? "");
                        }
                    }

                    link.Opened += (_, _) => _ = SendEventAsync(sender);
                }
            }

            var tcs = new TaskCompletionSource(state);
            tcs.SetResult();
            callback?.Invoke(tcs.Task);
            return tcs.Task;
        }

        private TaskCompletionSource<SendingAmqpLink> ReplyLink(AmqpConnection connection, string address) =>
            _replyLinks.GetOrAdd((connection, address), _ => new TaskCompletionSource<SendingAmqpLink>(TaskCreationOptions.RunContinuationsAsynchronously));

        public void EndOpenLink(IAsyncResult result) => ((Task)result).GetAwaiter().GetResult();

        public Task<IPrincipal> AuthenticateAsync(string identity, string password) =>
            Task.FromResult<IPrincipal>(new GenericPrincipal(new GenericIdentity(identity), []));

        private async Task ReplyAsync(AmqpConnection connection, string address, ReceivingAmqpLink receiver, AmqpMessage request)
        {
            receiver.DisposeDelivery(request, true, AmqpConstants.AcceptedOutcome);
            AmqpMessage reply;
            if (address == "$cbs")
            {
                CbsAudiences.Add(request.ApplicationProperties.Map["name"]?.ToString() ?? "");
                reply = AmqpMessage.Create();
                reply.ApplicationProperties.Map["status-code"] = 202;
            }
            else
            {
                var map = new AmqpMap
                {
                    [new MapKey("name")] = _name,
                    [new MapKey("created_at")] = TimeProvider.System.GetUtcNow().UtcDateTime,
                    [new MapKey("partition_ids")] = new[] { "0" },
                };
                reply = AmqpMessage.Create(new AmqpValue { Value = map });
                reply.ApplicationProperties.Map["status-code"] = 200;
            }

            reply.Properties.CorrelationId = request.Properties.MessageId;
            var replyLink = await ReplyLink(connection, address).Task.ConfigureAwait(false);
            await replyLink.SendMessageAsync(reply, new ArraySegment<byte>(Guid.NewGuid().ToByteArray()), AmqpConstants.NullBinary, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }

        private static async Task SendEventAsync(SendingAmqpLink sender)
        {
            var message = AmqpMessage.Create(new Data { Value = new ArraySegment<byte>("{\"seq\":1}"u8.ToArray()) });
            message.MessageAnnotations.Map["x-opt-enqueued-time"] = TimeProvider.System.GetUtcNow().UtcDateTime;
            message.MessageAnnotations.Map["x-opt-sequence-number"] = 1L;
            message.MessageAnnotations.Map["x-opt-offset"] = "0";
            message.MessageAnnotations.Map["iothub-connection-device-id"] = "edge-1";
            message.MessageAnnotations.Map["iothub-connection-module-id"] = "Inference";
            message.ApplicationProperties.Map["outputName"] = "detections";
            await sender.SendMessageAsync(message, new ArraySegment<byte>(Guid.NewGuid().ToByteArray()), AmqpConstants.NullBinary, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
    }
}
