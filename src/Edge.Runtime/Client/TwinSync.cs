using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Edge.Protocol;
using Edge.Runtime.Diagnostics;
using Edge.Runtime.Mqtt;
using Edge.Runtime.Twins;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Edge.Runtime.Client;

/// <summary>
/// The module twin: desired properties (the cached last-known-good copy at start, a full GET after each connect, patches in
/// version order with a full GET on a gap) handed to the module's handler, and reported properties (merged while offline,
/// sent once connected; kept for the next attempt when a PATCH fails). Twin work runs one item at a time on its own loop.
/// </summary>
internal sealed class TwinSync : IDisposable
{
    private static readonly JsonSerializerOptions RelaxedJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly EdgeHubConnection _connection;
    private readonly DesiredStore _desiredStore;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly ConcurrentDictionary<string, TaskCompletionSource<(int Status, byte[] Body)>> _requests = new(StringComparer.Ordinal);
    private readonly Channel<TwinWork> _queue = Channel.CreateBounded<TwinWork>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly SemaphoreSlim _reportLock = new(1, 1);
    private readonly Lock _reportedGate = new();
    private Func<DesiredPropertiesArguments, CancellationToken, Task<DesiredPropertiesResult>>? _desiredHandler;
    private JsonObject _pendingReported = [];
    private JsonObject? _currentDesired;
    private long? _desiredVersion;
    private bool _desiredFromCache;
    private long _ridCounter;

    public TwinSync(EdgeHubConnection connection, DesiredStore desiredStore, TimeSpan operationTimeout, TimeProvider time, ILogger logger)
    {
        _connection = connection;
        _desiredStore = desiredStore;
        _time = time;
        _logger = logger;
        _pipeline = new ResiliencePipelineBuilder { Name = "twin", TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<TwinException>(ex => ex.Status is 429 or >= 500).Handle<TimeoutRejectedException>(),
                MaxRetryAttempts = 3,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = TimeSpan.FromSeconds(10),
            })
            .AddTimeout(operationTimeout)
            .Build();
    }

    public void SetDesiredPropertiesHandler(Func<DesiredPropertiesArguments, CancellationToken, Task<DesiredPropertiesResult>> handler) =>
        _desiredHandler = handler;

    /// <summary>Merges a reported patch into what is waiting and sends it when connected.</summary>
    public async Task ReportPropertiesAsync(JsonObject patch, CancellationToken ct)
    {
        lock (_reportedGate)
        {
            TwinDocuments.MergeKeepingNulls(_pendingReported, patch);
        }

        if (_connection.State == ConnectionState.Connected)
        {
            await FlushReportedAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>After each connect: a full GET of the twin, then the reported properties waiting.</summary>
    public void OnConnected()
    {
        _queue.Writer.TryWrite(TwinWork.FullSync);
        _queue.Writer.TryWrite(TwinWork.FlushReported);
    }

    /// <summary>The connection is gone: requests waiting for an answer fail (503), their callers retry.</summary>
    public void OnDisconnected()
    {
        foreach (var (_, tcs) in _requests)
        {
            tcs.TrySetException(new TwinException(503, "disconnected"));
        }
    }

    /// <summary>A response on <c>$iothub/twin/res/…</c>: completes the request with that id.</summary>
    public void OnResponse(string topic, ReadOnlyMemory<byte> body)
    {
        if (Topics.TryParseTwinResponse(topic, out var status, out var rid, out _) && _requests.TryRemove(rid, out var tcs))
        {
            tcs.TrySetResult((status, body.Span.ToArray()));
        }
    }

    /// <summary>A desired patch: queued in order; acknowledged once applied.</summary>
    public ValueTask OnDesiredPatchAsync(string topic, ReadOnlyMemory<byte> body, MqttAck ack, CancellationToken ct) =>
        _queue.Writer.WriteAsync(new TwinWork(TwinWorkKind.Patch, Topics.DesiredPatchVersion(topic), body, ack), ct);

    /// <summary>No more twin work (the client stops).</summary>
    public void Complete() => _queue.Writer.TryComplete();

    /// <summary>At start, before connecting: the desired properties cached by the last run, if any, go to the handler.</summary>
    public async Task ApplyCachedDesiredAsync(CancellationToken ct)
    {
        (JsonObject Desired, long Version)? cached;
        try
        {
            cached = await _desiredStore.LoadAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonException or IOException)
        {
            Log.DesiredCacheUnreadable(_logger, _desiredStore.Path, ex.Message);
            return;
        }

        if (cached is not { } c)
        {
            return;
        }

        _desiredFromCache = true;
        if (_desiredHandler is { } handler)
        {
            try
            {
                var result = await handler(new DesiredPropertiesArguments(c.Desired, c.Version, FromCache: true), ct).ConfigureAwait(false);
                if (result.Accepted)
                {
                    Log.DesiredApplied(_logger, c.Version, true);
                }
                else
                {
                    Log.DesiredRejected(_logger, c.Version, result.Error ?? "rejected");
                }
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                Log.DesiredHandlerThrew(_logger, ex, c.Version);
            }
        }
    }

    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            await foreach (var work in _queue.Reader.ReadAllAsync(stop).ConfigureAwait(false))
            {
                try
                {
                    switch (work.Kind)
                    {
                        case TwinWorkKind.FullSync:
                            await FullSyncAsync(stop).ConfigureAwait(false);
                            break;
                        case TwinWorkKind.FlushReported:
                            await FlushReportedAsync(stop).ConfigureAwait(false);
                            break;
                        case TwinWorkKind.Patch:
                            await ApplyPatchAsync(work, stop).ConfigureAwait(false);
                            break;
                        default:
                            break;
                    }
                }
                catch (Exception ex) when (!stop.IsCancellationRequested)
                {
                    Log.TwinFailed(_logger, ClientErrors.Describe(ex));
                    if (work.Kind == TwinWorkKind.FullSync && _connection.State == ConnectionState.Connected)
                    {
                        _ = RetryFullSyncLaterAsync(stop);
                    }
                }
                finally
                {
                    work.Ack?.Complete(true);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    public void Dispose() => _reportLock.Dispose();

    private async Task RetryFullSyncLaterAsync(CancellationToken stop)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(30), _time, stop).ConfigureAwait(false);
            _queue.Writer.TryWrite(TwinWork.FullSync);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task FullSyncAsync(CancellationToken ct)
    {
        if (_connection.State != ConnectionState.Connected)
        {
            return;
        }

        var (status, body) = await _pipeline.ExecuteAsync(c => new ValueTask<(int, byte[])>(RequestAsync(Topics.TwinGet, [], c)), ct).ConfigureAwait(false);
        if (status != 200)
        {
            throw new TwinException(status, $"twin GET answered {status}");
        }

        var twin = JsonNode.Parse(body) as JsonObject ?? throw new TwinException(status, "twin GET body is not a JSON object");
        var desired = twin["desired"] as JsonObject ?? [];
        var version = desired["$version"] is JsonValue v && v.TryGetValue<long>(out var n) ? n : 0;
        var doc = TwinDocuments.StripMetadata((JsonObject)desired.DeepClone());
        if (_desiredVersion == version && !_desiredFromCache)
        {
            return;
        }

        await ApplyDesiredAsync(doc, version, ct).ConfigureAwait(false);
    }

    private async Task ApplyPatchAsync(TwinWork work, CancellationToken ct)
    {
        var patch = JsonNode.Parse(work.Body.Span) as JsonObject ?? throw new TwinException(400, "desired patch is not a JSON object");
        var version = work.Version ?? (patch["$version"] is JsonValue v && v.TryGetValue<long>(out var n) ? n : (long?)null);
        if (_currentDesired is null || _desiredVersion is null || version is null || version > _desiredVersion + 1)
        {
            Log.DesiredGap(_logger, version ?? -1, _desiredVersion ?? -1);
            await FullSyncAsync(ct).ConfigureAwait(false);
            return;
        }

        if (version <= _desiredVersion)
        {
            return;
        }

        var merged = (JsonObject)_currentDesired.DeepClone();
        JsonMergePatch.Apply(merged, TwinDocuments.StripMetadata(patch));
        await ApplyDesiredAsync(merged, version.Value, ct).ConfigureAwait(false);
    }

    private async Task ApplyDesiredAsync(JsonObject desired, long version, CancellationToken ct)
    {
        _currentDesired = desired;
        _desiredVersion = version;
        _desiredFromCache = false;
        DesiredPropertiesResult result;
        if (_desiredHandler is { } handler)
        {
            try
            {
                result = await handler(new DesiredPropertiesArguments((JsonObject)desired.DeepClone(), version, FromCache: false), ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                Log.DesiredHandlerThrew(_logger, ex, version);
                result = DesiredPropertiesResult.Rejected($"the module failed to apply the settings: {ex.Message}");
            }
        }
        else
        {
            result = DesiredPropertiesResult.Applied(null);
        }

        if (result.Accepted)
        {
            await _desiredStore.SaveAsync(desired, version, ct).ConfigureAwait(false);
            Log.DesiredApplied(_logger, version, false);
        }
        else
        {
            Log.DesiredRejected(_logger, version, result.Error ?? "rejected");
        }

        var report = result.Reported is null ? [] : (JsonObject)result.Reported.DeepClone();
        report["lastDesiredVersion"] = version;
        report["lastDesiredStatus"] = new JsonObject
        {
            ["code"] = result.Accepted ? 200 : 400,
            ["description"] = result.Accepted ? "" : result.Error ?? "rejected",
        };
        lock (_reportedGate)
        {
            TwinDocuments.MergeKeepingNulls(_pendingReported, report);
        }

        await FlushReportedAsync(ct).ConfigureAwait(false);
    }

    private async Task FlushReportedAsync(CancellationToken ct)
    {
        await _reportLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            JsonObject snapshot;
            lock (_reportedGate)
            {
                if (_pendingReported.Count == 0 || _connection.State != ConnectionState.Connected)
                {
                    return;
                }

                snapshot = _pendingReported;
                _pendingReported = [];
            }

            try
            {
                var payload = Encoding.UTF8.GetBytes(snapshot.ToJsonString(RelaxedJson));
                var (status, _) = await _pipeline.ExecuteAsync(c => new ValueTask<(int, byte[])>(RequestAsync(Topics.ReportedPatch, payload, c)), ct).ConfigureAwait(false);
                if (status is < 200 or >= 300)
                {
                    throw new TwinException(status, $"reported PATCH answered {status}");
                }
            }
            catch (Exception ex)
            {
                lock (_reportedGate)
                {
                    TwinDocuments.MergeKeepingNulls(snapshot, _pendingReported);
                    _pendingReported = snapshot;
                }

                if (ex is OperationCanceledException && ct.IsCancellationRequested)
                {
                    throw;
                }

                Log.TwinFailed(_logger, $"reported properties kept for the next attempt: {ClientErrors.Describe(ex)}");
            }
        }
        finally
        {
            _reportLock.Release();
        }
    }

    private async Task<(int Status, byte[] Body)> RequestAsync(Func<string, string> topic, byte[] payload, CancellationToken ct)
    {
        var rid = Interlocked.Increment(ref _ridCounter).ToString(CultureInfo.InvariantCulture);
        var tcs = new TaskCompletionSource<(int, byte[])>(TaskCreationOptions.RunContinuationsAsynchronously);
        _requests[rid] = tcs;
        try
        {
            // A QoS 0 publish: the answer on the response topic is the acknowledgement.
            if (!_connection.TryGetConnected(out var live))
            {
                throw new TwinException(503, "not connected to edgeHub");
            }

            await live.PublishAsync(topic(rid), payload, atLeastOnce: false, ct).ConfigureAwait(false);
            var (status, body) = await tcs.Task.WaitAsync(ct).ConfigureAwait(false);
            return (status, body);
        }
        finally
        {
            _requests.TryRemove(rid, out _);
        }
    }

    private enum TwinWorkKind
    {
        FullSync,
        FlushReported,
        Patch,
    }

    private sealed record TwinWork(TwinWorkKind Kind, long? Version, ReadOnlyMemory<byte> Body, MqttAck? Ack)
    {
        public static readonly TwinWork FullSync = new(TwinWorkKind.FullSync, null, default, null);
        public static readonly TwinWork FlushReported = new(TwinWorkKind.FlushReported, null, default, null);
    }
}
