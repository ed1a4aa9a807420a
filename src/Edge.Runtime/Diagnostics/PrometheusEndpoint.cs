using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Edge.Runtime.Diagnostics;

/// <summary>
/// Serves every instrument of the <c>Edge.Runtime</c> meter (and any meter whose name starts with <c>Edge.</c>, so modules
/// can add theirs) in Prometheus text format on <c>GET /metrics</c>, port <c>MetricsPort</c> (opt-in), as IoT Edge's
/// metrics-collector scrapes it.
/// </summary>
internal sealed class PrometheusEndpoint(int port, IMeterFactory? meterFactory, ILogger<PrometheusEndpoint> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<(string Name, string Labels), double> _values = new();
    private readonly ConcurrentDictionary<string, string> _types = new(StringComparer.Ordinal);
    private MeterListener? _listener;

    public int Port { get; private set; } = port;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                // Only this host's meters (created through its IMeterFactory): other instances in the process (tests) stay out.
                if (instrument.Meter.Name.StartsWith("Edge.", StringComparison.Ordinal) && (meterFactory is null || ReferenceEquals(instrument.Meter.Scope, meterFactory)))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();

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
            _listener.Dispose();
        }
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labels = new StringBuilder();
        foreach (var (k, v) in tags)
        {
            labels.Append(labels.Length == 0 ? "" : ",").Append(k).Append("=\"").Append(Convert.ToString(v, CultureInfo.InvariantCulture)?.Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
        }

        var key = (Sanitize(instrument.Name), labels.ToString());
        switch (instrument)
        {
            case Counter<long> or Counter<int> or Counter<double>:
                _types[key.Item1] = "counter";
                _values.AddOrUpdate(key, value, (_, old) => old + value);
                break;
            case Histogram<double> or Histogram<long>:
                _types[key.Item1 + "_sum"] = "counter";
                _types[key.Item1 + "_count"] = "counter";
                _values.AddOrUpdate((key.Item1 + "_sum", key.Item2), value, (_, old) => old + value);
                _values.AddOrUpdate((key.Item1 + "_count", key.Item2), 1, (_, old) => old + 1);
                break;
            default:
                _types[key.Item1] = "gauge";
                _values[key] = value;
                break;
        }
    }

    /// <summary>The exposition text.</summary>
    internal string Render()
    {
        _listener?.RecordObservableInstruments();
        var sb = new StringBuilder();
        foreach (var group in _values.GroupBy(kv => kv.Key.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.Append("# TYPE ").Append(group.Key).Append(' ').Append(_types.GetValueOrDefault(group.Key, "gauge")).Append('\n');
            foreach (var (key, value) in group.OrderBy(kv => kv.Key.Labels, StringComparer.Ordinal))
            {
                sb.Append(key.Name);
                if (key.Labels.Length > 0)
                {
                    sb.Append('{').Append(key.Labels).Append('}');
                }

                sb.Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        return sb.ToString();
    }

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

    private static string Sanitize(string name) => name.Replace('.', '_').Replace('-', '_');
}
