using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Edge.Deployment.IoTHub;

/// <summary>One message that reached <c>$upstream</c> on the simulator.</summary>
/// <param name="SourceModuleId">The module that sent it.</param>
/// <param name="OutputName">The module output it was sent on.</param>
/// <param name="Body">The body: JSON when it is JSON, else a JSON string.</param>
/// <param name="Properties">Application properties.</param>
/// <param name="SystemProperties">System properties.</param>
/// <param name="EnqueuedAt">When the hub accepted it, as the hub wrote it.</param>
public sealed record UpstreamEvent(
    string? SourceModuleId,
    string? OutputName,
    JsonNode? Body,
    JsonObject Properties,
    JsonObject SystemProperties,
    string? EnqueuedAt)
{
    /// <summary>Reads an event object; throws <see cref="JsonException"/> when it is not one.</summary>
    public static UpstreamEvent Parse(string json)
    {
        var o = JsonNode.Parse(json) as JsonObject ?? throw new JsonException("the event data is not a JSON object");
        return FromObject(o);
    }

    public static UpstreamEvent FromObject(JsonObject o) => new(
        Text(o["sourceModuleId"]),
        Text(o["outputName"]),
        o["body"]?.DeepClone(),
        o["properties"]?.DeepClone() as JsonObject ?? [],
        o["systemProperties"]?.DeepClone() as JsonObject ?? [],
        Text(o["enqueuedAt"]));

    /// <summary>One line: <c>enqueuedAt source/output body {properties}</c>.</summary>
    public string Format()
    {
        var sb = new StringBuilder();
        sb.Append(EnqueuedAt ?? "-").Append(' ').Append(SourceModuleId ?? "?").Append('/').Append(OutputName ?? "-").Append(' ');
        sb.Append(Body is null ? "null" : Body.GetValueKind() == JsonValueKind.String ? Body.GetValue<string>() : Body.ToJsonString());
        if (Properties.Count > 0)
        {
            sb.Append(' ').Append(Properties.ToJsonString());
        }

        return sb.ToString();
    }

    private static string? Text(JsonNode? n) => n?.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : n?.ToJsonString();
}

/// <summary>
/// Reads what reaches <c>$upstream</c> on the simulator: <c>GET /simulator/upstream</c> (recent messages) and the
/// Server-Sent-Events stream <c>GET /simulator/upstream/stream</c>, reconnecting with backoff when the stream drops.
/// (A real IoT Hub delivers device-to-cloud messages through its Event Hubs endpoint, which this tool does not speak.)
/// </summary>
public sealed class UpstreamMonitor
{
    private readonly IoTHubServiceClient _client;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>The first reconnect delay (doubled up to 30 s). Default 1 s.</summary>
    internal TimeSpan InitialReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    public UpstreamMonitor(IoTHubServiceClient client, TimeProvider? timeProvider = null, ILogger<UpstreamMonitor>? logger = null)
    {
        _client = client;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<UpstreamMonitor>.Instance;
    }

    /// <summary>The most recent upstream messages the simulator keeps (an array of events, or an object with an <c>events</c>/<c>messages</c>/<c>items</c> array).</summary>
    public async Task<IReadOnlyList<UpstreamEvent>> GetRecentAsync(CancellationToken ct)
    {
        using var response = await _client.GetStreamAsync("/simulator/upstream", "application/json", ct).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        var node = JsonNode.Parse(text);
        var array = node as JsonArray ?? (node as JsonObject)?.FirstOrDefault(p => p.Value is JsonArray).Value as JsonArray ?? [];
        return array.OfType<JsonObject>().Select(UpstreamEvent.FromObject).ToList();
    }

    /// <summary>Streams events as they arrive until cancelled; the stream is reopened (1 s doubling to 30 s) when it ends or fails.</summary>
    public async IAsyncEnumerable<UpstreamEvent> StreamAsync([EnumeratorCancellation] CancellationToken ct)
    {
        var delay = InitialReconnectDelay;
        while (!ct.IsCancellationRequested)
        {
            HttpResponseMessage? response = null;
            string reason;
            try
            {
                response = await _client.GetStreamAsync("/simulator/upstream/stream", "text/event-stream", ct).ConfigureAwait(false);
                reason = "the server closed it";
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException && !ct.IsCancellationRequested)
            {
                reason = ex.Message;
            }

            if (response is not null)
            {
                using (response)
                {
                    var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                    await using (stream.ConfigureAwait(false))
                    {
                        using var reader = new StreamReader(stream, Encoding.UTF8);
                        var data = new StringBuilder();
                        while (true)
                        {
                            string? line;
                            try
                            {
                                line = await reader.ReadLineAsync(ct).ConfigureAwait(false);
                            }
                            catch (IOException ex) when (!ct.IsCancellationRequested)
                            {
                                reason = ex.Message;
                                break;
                            }

                            if (line is null)
                            {
                                break;
                            }

                            if (line.Length == 0)
                            {
                                if (data.Length > 0)
                                {
                                    var ev = TryParse(data.ToString());
                                    data.Clear();
                                    if (ev is not null)
                                    {
                                        delay = InitialReconnectDelay;
                                        yield return ev;
                                    }
                                }

                                continue;
                            }

                            if (line.StartsWith("data:", StringComparison.Ordinal))
                            {
                                if (data.Length > 0)
                                {
                                    data.Append('\n');
                                }

                                data.Append(line.AsSpan(line.Length > 5 && line[5] == ' ' ? 6 : 5));
                            }
                        }
                    }
                }
            }

            if (ct.IsCancellationRequested)
            {
                yield break;
            }

            Log.StreamReconnecting(_logger, _client.BaseAddress.ToString(), reason, (long)delay.TotalMilliseconds);
            try
            {
                await Task.Delay(delay, _time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
        }
    }

    private UpstreamEvent? TryParse(string data)
    {
        try
        {
            return UpstreamEvent.Parse(data);
        }
        catch (JsonException ex)
        {
            Log.BadUpstreamEvent(_logger, ex.Message);
            return null;
        }
    }
}
