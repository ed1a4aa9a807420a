using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Messaging.EventHubs;
using Azure.Messaging.EventHubs.Consumer;
using Edge.Deployment.IoTHub;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Framing;
using Microsoft.Azure.Amqp.Sasl;
using Microsoft.Azure.Amqp.Transport;

namespace Edge.Cli.Fleet;

/// <summary>
/// IoT Hub's Event Hub-compatible endpoint, as the hub names it: an AMQP connection to the hub (TLS, port 5671, SASL PLAIN
/// with <c>{policy}@sas.root.{hub}</c> and a SAS token for <c>{host}/messages/events</c>) opens a receiver on
/// <c>/messages/events/$management</c>, and the hub answers with an <c>amqp:link:redirect</c> detach whose info names the
/// Event Hubs namespace host (<c>hostname</c>) and the event hub (<c>address</c>: amqps://host:5671/{name}/$management).
/// </summary>
/// <param name="NamespaceHost">The Event Hubs namespace host.</param>
/// <param name="EventHubName">The event hub name (the entity path).</param>
/// <param name="ConnectionString">The Event Hub-compatible connection string (with the hub policy's key).</param>
internal sealed record EventHubEndpoint(string NamespaceHost, string EventHubName, string ConnectionString)
{
    /// <summary>The AMQP error condition of IoT Hub's redirect.</summary>
    public const string RedirectCondition = "amqp:link:redirect";

    /// <summary>The connection string without its key, for messages.</summary>
    public override string ToString() => $"Endpoint=sb://{NamespaceHost}/;EntityPath={EventHubName};SharedAccessKey=***";

    /// <summary>The endpoint from a redirect's <c>hostname</c> and <c>address</c> and the hub's policy.</summary>
    public static EventHubEndpoint FromRedirect(string? hostname, string? address, IoTHubConnectionString hub)
    {
        string? name = null;
        if (Uri.TryCreate(address, UriKind.Absolute, out var uri))
        {
            name = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            hostname = string.IsNullOrWhiteSpace(hostname) ? uri.Host : hostname;
        }

        if (string.IsNullOrWhiteSpace(hostname) || string.IsNullOrWhiteSpace(name))
        {
            throw new IoTHubException($"IoT Hub's redirect named no Event Hubs endpoint (hostname '{hostname}', address '{address}'): check that the connection string is for a hub-level policy with service connect rights");
        }

        return new EventHubEndpoint(hostname, name,
            $"Endpoint=sb://{hostname}/;SharedAccessKeyName={hub.SharedAccessKeyName};SharedAccessKey={hub.SharedAccessKey};EntityPath={name}");
    }

    /// <summary>
    /// Asks the hub for its Event Hub-compatible endpoint. <paramref name="amqpEndpoint"/> (tests only) overrides where the
    /// AMQP connection goes: <c>amqp://host:port</c> without TLS, <c>amqps://host:port</c> with; null: <c>amqps://{HostName}:5671</c>.
    /// </summary>
    public static async Task<EventHubEndpoint> ResolveAsync(IoTHubConnectionString hub, Uri? amqpEndpoint, TimeProvider time, CancellationToken ct)
    {
        var host = amqpEndpoint?.Host ?? hub.HostName;
        var port = amqpEndpoint is { Port: > 0 } ? amqpEndpoint.Port : 5671;
        var tls = amqpEndpoint is null || amqpEndpoint.Scheme == "amqps";
        var hubName = hub.HostName.Split('.')[0];
        var audience = $"{hub.HostName}/messages/events";

        var sasl = new SaslTransportProvider();
        sasl.Versions.Add(new AmqpVersion(new Version(1, 0, 0, 0)));
        sasl.AddHandler(new SaslPlainHandler
        {
            AuthenticationIdentity = $"{hub.SharedAccessKeyName}@sas.root.{hubName}",
            Password = SasToken(hub, audience, time.GetUtcNow().AddMinutes(5)),
        });
        var amqp = new AmqpTransportProvider();
        amqp.Versions.Add(new AmqpVersion(new Version(1, 0, 0, 0)));
        var settings = new AmqpSettings();
        settings.TransportProviders.Add(sasl);
        settings.TransportProviders.Add(amqp);

        TransportSettings transportSettings = new TcpTransportSettings { Host = host, Port = port };
        if (tls)
        {
            transportSettings = new TlsTransportSettings((TcpTransportSettings)transportSettings) { TargetHost = hub.HostName };
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var token = timeout.Token;
        AmqpConnection? connection = null;
        try
        {
            var transport = await new AmqpTransportInitiator(settings, transportSettings).ConnectAsync(token).ConfigureAwait(false);
            connection = new AmqpConnection(transport, settings, new AmqpConnectionSettings
            {
                ContainerId = Guid.NewGuid().ToString("N"),
                HostName = hub.HostName,
            });
            await connection.OpenAsync(token).ConfigureAwait(false);
            var session = connection.CreateSession(new AmqpSessionSettings());
            await session.OpenAsync(token).ConfigureAwait(false);
            var link = new ReceivingAmqpLink(new AmqpLinkSettings
            {
                LinkName = "edge-monitor-" + Guid.NewGuid().ToString("N"),
                Role = true,
                TotalLinkCredit = 1,
                AutoSendFlow = true,
                SettleType = SettleMode.SettleOnSend,
                Source = new Source { Address = "/messages/events/$management" },
                Target = new Target { Address = $"amqps://{hub.HostName}/messages/events" },
            });
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            link.Closed += (_, _) => closed.TrySetResult();
            link.AttachTo(session);
            try
            {
                await link.OpenAsync(token).ConfigureAwait(false);

                // Attached: the redirect comes as the detach that follows.
                await closed.Task.WaitAsync(token).ConfigureAwait(false);
                throw link.TerminalException ?? new IoTHubException("IoT Hub closed the events link without a redirect");
            }
            catch (AmqpException ex) when (ex.Error?.Condition.Value == RedirectCondition)
            {
                string? hostname = null;
                string? address = null;
                ex.Error.Info?.TryGetValue("hostname", out hostname);
                ex.Error.Info?.TryGetValue("address", out address);
                return FromRedirect(hostname, address, hub);
            }
            catch (AmqpException ex)
            {
                throw new IoTHubException($"IoT Hub refused the events link: {ex.Error?.Condition.Value} {ex.Error?.Description}", ex);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new IoTHubException($"IoT Hub did not answer on amqps://{host}:{port} in 30 s: check the host name and that port 5671 is open");
        }
        catch (Exception ex) when (ex is AmqpException or System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException or System.Security.Authentication.AuthenticationException)
        {
            throw new IoTHubException($"cannot reach IoT Hub's events endpoint at {host}:{port}: {ex.Message}", ex);
        }
        finally
        {
            connection?.SafeClose();
        }
    }

    /// <summary>A SAS token for <paramref name="resource"/>, signed with the policy's key.</summary>
    internal static string SasToken(IoTHubConnectionString hub, string resource, DateTimeOffset expiry)
    {
        var encoded = WebUtility.UrlEncode(resource);
        var se = expiry.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var sig = Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(hub.SharedAccessKey), Encoding.UTF8.GetBytes(encoded + "\n" + se)));
        return $"SharedAccessSignature sr={encoded}&sig={WebUtility.UrlEncode(sig)}&se={se}&skn={hub.SharedAccessKeyName}";
    }

    /// <summary>Reads every partition with Azure.Messaging.EventHubs: from the end, or from the earliest event with <paramref name="recent"/>.</summary>
    public async IAsyncEnumerable<UpstreamEvent> ReadAsync(string consumerGroup, bool recent, [EnumeratorCancellation] CancellationToken ct)
    {
        var consumer = new EventHubConsumerClient(consumerGroup, ConnectionString);
        await using (consumer.ConfigureAwait(false))
        {
            await foreach (var e in consumer.ReadEventsAsync(recent, cancellationToken: ct).ConfigureAwait(false))
            {
                if (e.Data is not null)
                {
                    yield return ToUpstreamEvent(e.Data);
                }
            }
        }
    }

    /// <summary>
    /// An event as the monitor prints it: the module (else device) id from <c>iothub-connection-module-id</c>/
    /// <c>iothub-connection-device-id</c>, the output name from the <c>outputName</c> property, the body as JSON when it is JSON.
    /// </summary>
    internal static UpstreamEvent ToUpstreamEvent(EventData data)
    {
        var system = new JsonObject();
        foreach (var (key, value) in data.SystemProperties)
        {
            if (Scalar(value) is { } text)
            {
                system[key] = text;
            }
        }

        var properties = new JsonObject();
        string? output = null;
        foreach (var (key, value) in data.Properties)
        {
            if (Scalar(value) is { } text)
            {
                properties[key] = text;
                if (key is "outputName" or "iothub-outputname")
                {
                    output = text;
                }
            }
        }

        var module = system["iothub-connection-module-id"]?.GetValue<string>() ?? system["iothub-connection-device-id"]?.GetValue<string>();
        var bytes = data.EventBody.ToArray();
        JsonNode? body;
        try
        {
            body = JsonNode.Parse(bytes);
        }
        catch (JsonException)
        {
            body = JsonValue.Create(Encoding.UTF8.GetString(bytes));
        }

        return new UpstreamEvent(module, output, body, properties, system, data.EnqueuedTime.ToString("O", CultureInfo.InvariantCulture));
    }

    private static string? Scalar(object? value) => value switch
    {
        null => null,
        string s => s,
        DateTime d => d.ToString("O", CultureInfo.InvariantCulture),
        DateTimeOffset d => d.ToString("O", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
