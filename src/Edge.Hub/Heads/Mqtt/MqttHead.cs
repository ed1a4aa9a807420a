using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Edge.Hub.IoTHub;
using Edge.Hub.Security;
using Microsoft.Extensions.Logging;

namespace Edge.Hub.Heads.Mqtt;

/// <summary>
/// The MQTT protocol head: an MQTT 3.1.1 server over TLS on loopback. It speaks the wire protocol only (framing, CONNECT,
/// SUBSCRIBE, PUBLISH/PUBACK, keep-alive) and hands every client event to <see cref="IoTHubProtocol"/>, which applies IoT Hub's
/// rules (identity, topics, size). One <see cref="MqttConnection"/> per socket: a read loop that parses packets from a pooled
/// buffer and a single writer that coalesces queued packets into one TLS write.
/// </summary>
internal sealed class MqttHead : IProtocolHead
{
    private readonly CertificateAuthority _ca;
    private readonly ConcurrentDictionary<MqttConnection, bool> _connections = new();
    private Socket? _listener;
    private CancellationTokenSource? _stopping;
    private Task? _acceptLoop;
    private long _connectionIds;

    public MqttHead(CertificateAuthority ca, IoTHubProtocol iotHub, HubCounters counters, TimeProvider time, ILogger logger)
    {
        _ca = ca;
        IoTHub = iotHub;
        Counters = counters;
        Time = time;
        Logger = logger;
    }

    public string Name => "MQTT";

    public int Port { get; private set; }

    internal IoTHubProtocol IoTHub { get; }

    internal HubCounters Counters { get; }

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal SslServerAuthenticationOptions? SslOptions { get; private set; }

    public Task StartAsync(int port, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        SslOptions ??= new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(_ca.ServerCertificate, additionalCertificates: null, offline: true),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,
        };
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
            listener.Listen(128);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        _listener = listener;
        _stopping = new CancellationTokenSource();
        _acceptLoop = AcceptLoopAsync(listener, _stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync()
    {
        var listener = _listener;
        var stopping = _stopping;
        var acceptLoop = _acceptLoop;
        _listener = null;
        _stopping = null;
        _acceptLoop = null;
        if (listener is null)
        {
            return;
        }

        await stopping!.CancelAsync().ConfigureAwait(false);
        listener.Dispose();
        await acceptLoop!.ConfigureAwait(false);
        stopping.Dispose();
        var closing = _connections.Keys.ToList();
        foreach (var c in closing)
        {
            c.Abort("hub stopping");
        }

        await Task.WhenAll(closing.Select(c => c.Completion)).ConfigureAwait(false);

        // A stopped head keeps no sessions: after a restart every client subscribes again.
        IoTHub.HeadStopped();
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>A connection's loops ended.</summary>
    internal void Forget(MqttConnection connection) => _connections.TryRemove(connection, out _);

    private async Task AcceptLoopAsync(Socket listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException ||
                                       (ex is SocketException && ct.IsCancellationRequested))
            {
                return;
            }
            catch (SocketException)
            {
                // The peer reset before the accept completed: nothing to serve.
                continue;
            }

            socket.NoDelay = true;
            var connection = new MqttConnection(this, socket, Interlocked.Increment(ref _connectionIds));
            _connections[connection] = true;
            connection.Start();
        }
    }
}
