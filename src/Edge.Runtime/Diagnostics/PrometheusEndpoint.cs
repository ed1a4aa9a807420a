using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Edge.Runtime.Diagnostics;

/// <summary>
/// Serves <see cref="PrometheusExporter"/>'s text on <c>GET /metrics</c>, port <c>MetricsPort</c> (IoT Edge's metrics-collector
/// scrapes <c>http://{module}:{port}/metrics</c>; the deployment templates set 9600, the port edgeHub and edgeAgent use).
/// </summary>
internal sealed class PrometheusEndpoint(int port, PrometheusExporter exporter, ILogger<PrometheusEndpoint> logger) : BackgroundService
{
    public int Port { get; private set; } = port;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var server = new TcpListener(IPAddress.Any, Port);
        server.Start();
        Port = ((IPEndPoint)server.LocalEndpoint).Port;
        Log.MetricsListening(logger, Port);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var socket = await server.AcceptTcpClientAsync(stoppingToken).ConfigureAwait(false);
                _ = Task.Run(() => ServeAsync(socket, stoppingToken), stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            server.Stop();
        }
    }

    /// <summary>The exposition text.</summary>
    internal string Render() => exporter.Render();

    private async Task ServeAsync(TcpClient socket, CancellationToken ct)
    {
        using var _ = socket;
        try
        {
            var stream = socket.GetStream();
            var buffer = new byte[4096];
            var read = await stream.ReadAsync(buffer, ct).ConfigureAwait(false);
            var request = Encoding.ASCII.GetString(buffer, 0, read);
            var ok = request.StartsWith("GET /metrics", StringComparison.Ordinal);
            var body = ok ? Render() : "not found; try GET /metrics\n";
            var bytes = Encoding.UTF8.GetBytes(body);
            var head = $"HTTP/1.1 {(ok ? "200 OK" : "404 Not Found")}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head), ct).ConfigureAwait(false);
            await stream.WriteAsync(bytes, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            Log.MetricsError(logger, ex.Message);
        }
    }
}
