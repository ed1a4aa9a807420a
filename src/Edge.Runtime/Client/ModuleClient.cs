using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Edge.Protocol;
using Edge.Runtime.Diagnostics;
using Edge.Runtime.Mqtt;
using Edge.Runtime.Outbox;
using Edge.Runtime.Twins;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Edge.Runtime.Client;

/// <summary>
/// The edgeHub client: MQTT 3.1.1 over TLS (<see cref="MqttClientConnection"/>), SAS renewal, subscriptions, inputs with PUBACK
/// after the handler, twins, direct methods, and the outbox pump. One instance per process.
/// </summary>
internal sealed class ModuleClient : IModuleClient, IOutboxPublisher, IAsyncDisposable
{
    private static readonly JsonSerializerOptions RelaxedJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly Func<EdgeHubSettings> _settingsFactory;
    private readonly EdgeHubClientOptions _options;
    private readonly DurableOutbox _outbox;
    private readonly DesiredStore _desiredStore;
    private readonly TimeProvider _time;
    private readonly RuntimeMetrics _metrics;
    private readonly ILogger<ModuleClient> _logger;
    private readonly ConcurrentDictionary<string, Func<InputMessageArguments, CancellationToken, Task>> _inputs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Func<MethodRequestArguments, CancellationToken, Task<MethodResponse>>> _methods = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<(int Status, byte[] Body)>> _twinRequests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _unhandledInputsLogged = new(StringComparer.Ordinal);
    private readonly Channel<(InputMessageArguments Args, MqttAck Ack)> _inputQueue =
        Channel.CreateBounded<(InputMessageArguments, MqttAck)>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly Channel<TwinWork> _twinQueue = Channel.CreateBounded<TwinWork>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly SemaphoreSlim _reportLock = new(1, 1);
    private readonly object _reportedGate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ResiliencePipeline _connectPipeline;
    private readonly ResiliencePipeline _publishPipeline;
    private readonly ResiliencePipeline _twinPipeline;
    private Func<DesiredPropertiesArguments, CancellationToken, Task<DesiredPropertiesResult>>? _desiredHandler;
    private EdgeHubSettings? _settings;
    private MqttClientConnection? _connection;
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private JsonObject _pendingReported = [];
    private JsonObject? _currentDesired;
    private long? _desiredVersion;
    private bool _desiredFromCache;
    private long _ridCounter;
    private int _connectCount;
    private string? _lastCertificateError;
    private string? _eventsPrefix;
    private Task[] _workers = [];
    private volatile ConnectionState _state = ConnectionState.Disconnected;

    public ModuleClient(
        Func<EdgeHubSettings> settings,
        IOptions<EdgeHubClientOptions> options,
        IOptions<EdgeModuleOptions> module,
        DurableOutbox outbox,
        TimeProvider time,
        RuntimeMetrics metrics,
        ILogger<ModuleClient> logger)
    {
        _settingsFactory = settings;
        _options = options.Value;
        _outbox = outbox;
        _desiredStore = new DesiredStore(module.Value.StateDirectory);
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _connectPipeline = new ResiliencePipelineBuilder { Name = "edgehub-connect", TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException || !_stop.IsCancellationRequested),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.ReconnectDelay,
                MaxDelay = _options.ReconnectMaxDelay,
                OnRetry = a =>
                {
                    Log.ConnectFailed(_logger, a.AttemptNumber + 1, Describe(a.Outcome.Exception));
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(_options.OperationTimeout)
            .Build();
        _publishPipeline = new ResiliencePipelineBuilder { Name = "edgehub-publish", TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = 0.5,
                MinimumThroughput = 8,
                SamplingDuration = TimeSpan.FromSeconds(10),
                BreakDuration = TimeSpan.FromSeconds(2),
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
            })

            // No timeout strategy here: the connection closes itself when a PUBACK is not back within OperationTimeout.
            .Build();
        _twinPipeline = new ResiliencePipelineBuilder { Name = "twin", TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<TwinException>(ex => ex.Status is 429 or >= 500).Handle<TimeoutRejectedException>(),
                MaxRetryAttempts = 3,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = TimeSpan.FromSeconds(10),
            })
            .AddTimeout(_options.OperationTimeout)
            .Build();
    }

    /// <summary>This module's identity; resolved from configuration on first use (default when the configuration is invalid).</summary>
    public ModuleIdentity Identity
    {
        get
        {
            if (_settings is null)
            {
                try
                {
                    _settings = _settingsFactory();
                }
                catch (EdgeConfigurationException)
                {
                    return default;
                }
            }

            return _settings.Identity;
        }
    }

    public ConnectionState State => _state;

    internal DurableOutbox Outbox => _outbox;

    internal int ConnectCount => Volatile.Read(ref _connectCount);

    internal string? LastCertificateError => _lastCertificateError;

    // ---------------------------------------------------------------- public API

    public async ValueTask<SendResult> SendAsync(string outputName, EdgeMessage message, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputName);
        ArgumentNullException.ThrowIfNull(message);
        var mid = message.MessageId ?? Guid.NewGuid().ToString();
        var bag = Topics.OutputBag(outputName, message, mid);
        if (message.Body.Length + bag.Length > Topics.MaxMessageSize)
        {
            _metrics.Dropped.Add(1, new KeyValuePair<string, object?>("reason", "too_large"), new KeyValuePair<string, object?>("output", outputName));
            return new SendResult(SendStatus.RejectedTooLarge, 0);
        }

        return await _outbox.EnqueueAsync(outputName, bag, message.Body, mid, ct).ConfigureAwait(false);
    }

    public void SetInputHandler(string inputName, Func<InputMessageArguments, CancellationToken, Task> handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputName);
        _inputs[inputName] = handler;
    }

    public void SetMethodHandler(string methodName, Func<MethodRequestArguments, CancellationToken, Task<MethodResponse>> handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(methodName);
        _methods[methodName] = handler;
    }

    public void SetDesiredPropertiesHandler(Func<DesiredPropertiesArguments, CancellationToken, Task<DesiredPropertiesResult>> handler) =>
        _desiredHandler = handler;

    public async Task ReportPropertiesAsync(JsonObject patch, CancellationToken ct)
    {
        lock (_reportedGate)
        {
            TwinDocuments.MergeKeepingNulls(_pendingReported, patch);
        }

        if (_state == ConnectionState.Connected)
        {
            await FlushReportedAsync(ct).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- lifecycle

    /// <summary>Resolves settings (throws <see cref="EdgeConfigurationException"/>), applies cached desired properties, starts connecting.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        _settings ??= _settingsFactory();
        _outbox.EnsureOpen();
        await ApplyCachedDesiredAsync(ct).ConfigureAwait(false);
        var stop = _stop.Token;
        _workers =
        [
            Task.Run(() => ConnectionLoopAsync(stop), CancellationToken.None),
            Task.Run(() => InputLoopAsync(stop), CancellationToken.None),
            Task.Run(() => TwinLoopAsync(stop), CancellationToken.None),
            Task.Run(() => new OutboxPump(_outbox, this, _metrics, _logger, _time).RunAsync(stop), CancellationToken.None),
        ];
    }

    /// <summary>Gives the pump up to <see cref="EdgeHubClientOptions.ShutdownFlush"/> to drain, then closes.</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        if (_workers.Length == 0)
        {
            return;
        }

        var deadline = _time.GetUtcNow() + _options.ShutdownFlush;
        while (_state == ConnectionState.Connected && _outbox.Count > 0 && _time.GetUtcNow() < deadline && !ct.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, ct).ConfigureAwait(false);
        }

        if (_outbox.Count > 0)
        {
            Log.ShutdownPending(_logger, _outbox.Count);
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _inputQueue.Writer.TryComplete();
        _twinQueue.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_workers).WaitAsync(TimeSpan.FromSeconds(10), _time, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }

        if (_connection is { IsConnected: true } connection)
        {
            await connection.DisconnectAsync(ct).ConfigureAwait(false);
        }

        _state = ConnectionState.Disconnected;
        _metrics.SetConnected(false);
        _workers = [];
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (_connection is { } connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
        _reportLock.Dispose();
    }

    // ---------------------------------------------------------------- connection

    private async Task ConnectionLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            DateTimeOffset expiresAt;
            try
            {
                expiresAt = await _connectPipeline.ExecuteAsync(ConnectOnceAsync, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }

            var now = _time.GetUtcNow();
            var renewIn = TimeSpan.FromTicks((long)((expiresAt - now).Ticks * _options.RenewAt));
            var disconnected = _disconnected.Task;
            try
            {
                var renew = Task.Delay(renewIn < TimeSpan.Zero ? TimeSpan.Zero : renewIn, _time, stop);
                var first = await Task.WhenAny(disconnected, renew).ConfigureAwait(false);
                if (first == renew && !stop.IsCancellationRequested && !disconnected.IsCompleted)
                {
                    Log.RenewingToken(_logger, expiresAt);
                    MarkDisconnected();
                    if (_connection is { } connection)
                    {
                        await connection.DisconnectAsync(stop).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async ValueTask<DateTimeOffset> ConnectOnceAsync(CancellationToken ct)
    {
        var s = _settings!;
        _state = ConnectionState.Connecting;
        _lastCertificateError = null;
        var roots = await s.Trust.GetRootsAsync(ct).ConfigureAwait(false);
        var expiresAt = _time.GetUtcNow() + _options.TokenTtl;
        var token = await s.Tokens.GetTokenAsync(expiresAt, ct).ConfigureAwait(false);
        var clientId = s.Identity.ToString();
        var old = _connection;
        Log.Connecting(_logger, s.GatewayHostName, s.Port, clientId, s.Mode);

        var options = new MqttClientOptions
        {
            Host = s.GatewayHostName,
            Port = s.Port,
            ClientId = clientId,
            UserName = Topics.Username(s.GatewayHostName, s.Identity, _options.DeviceClientType),
            Password = token.ToString(),
            CleanSession = false,
            KeepAlive = _options.KeepAlive,
            ResponseTimeout = _options.OperationTimeout,
            ValidateServerCertificate = (_, certificate, _, errors) => ValidateServerCertificate(certificate, errors, roots),
            Time = _time,
        };

        MqttClientConnection connection;
        try
        {
            connection = await MqttClientConnection.ConnectAsync(options, OnMessageAsync, ct).ConfigureAwait(false);
        }
        catch (MqttConnectRefusedException ex)
        {
            Log.ConnectRefused(_logger, MqttConnectRefusedException.Describe(ex.Code), null);
            throw new EdgeHubConnectException(ex.Message, ex);
        }
        catch (Exception ex) when (_lastCertificateError is not null && ex is not OperationCanceledException)
        {
            throw new EdgeHubConnectException($"TLS handshake failed: {_lastCertificateError}", ex);
        }

        try
        {
            foreach (var filter in new[] { Topics.TwinResponses, Topics.DesiredPatches, Topics.Methods, Topics.Inputs(s.Identity) })
            {
                // Granted QoS 0 or 1 (edgeHub grants QoS 1 for a QoS 2 request); 0x80 is a refusal.
                var code = await connection.SubscribeAsync(filter, 1, ct).ConfigureAwait(false);
                if (code > 2)
                {
                    throw new EdgeHubConnectException($"SUBSCRIBE {filter} refused (SUBACK 0x{code:X2})");
                }
            }
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _connection = connection;

        // Already closed; not awaited: its dispatcher may still be handing a message to a full input queue.
        _ = old?.DisposeAsync().AsTask();

        _disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _state = ConnectionState.Connected;
        _metrics.SetConnected(true);
        if (Interlocked.Increment(ref _connectCount) > 1)
        {
            _metrics.Reconnects.Add(1);
        }

        Log.Connected(_logger, clientId, expiresAt);
        _connected.TrySetResult();
        _twinQueue.Writer.TryWrite(TwinWork.FullSync);
        _twinQueue.Writer.TryWrite(TwinWork.FlushReported);

        // Last, once the state says connected: a connection that closed meanwhile is marked disconnected at once (and redialled).
        _ = connection.Closed.ContinueWith(t => OnDisconnected(connection, t.Result), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return expiresAt;
    }

    private bool ValidateServerCertificate(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection? roots)
    {
        var error = Auth.ServerCertificateValidator.Validate(certificate, errors, roots);
        if (error is null)
        {
            return true;
        }

        _lastCertificateError = error;
        Log.CertificateRejected(_logger, error);
        return false;
    }

    private void OnDisconnected(MqttClientConnection source, string reason)
    {
        if (!ReferenceEquals(source, _connection))
        {
            return;
        }

        if (!_stop.IsCancellationRequested && _state == ConnectionState.Connected)
        {
            Log.Disconnected(_logger, reason);
        }

        MarkDisconnected();
    }

    private void MarkDisconnected()
    {
        if (_state == ConnectionState.Connected)
        {
            _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        _state = _stop.IsCancellationRequested ? ConnectionState.Disconnected : ConnectionState.Connecting;
        _metrics.SetConnected(false);
        _disconnected.TrySetResult();
        foreach (var (_, tcs) in _twinRequests)
        {
            tcs.TrySetException(new TwinException(503, "disconnected"));
        }
    }

    // ---------------------------------------------------------------- inbound

    /// <summary>Every PUBLISH from edgeHub, one at a time in arrival order; its PUBACK goes out once <c>ack</c> is completed.</summary>
    private async ValueTask OnMessageAsync(MqttIncomingMessage m)
    {
        var topic = m.Topic;
        var ack = m.Ack;
        var s = _settings!;
        var body = (ReadOnlyMemory<byte>)m.Payload;
        var inputPrefix = Topics.InputPrefix(s.Identity);
        if (topic.StartsWith(inputPrefix, StringComparison.Ordinal))
        {
            if (Topics.TryParseInput(topic, inputPrefix, body, out var args))
            {
                await _inputQueue.Writer.WriteAsync((args, ack), _stop.Token).ConfigureAwait(false);
                return;
            }

            Log.UnexpectedTopic(_logger, topic);
            ack.Complete(true);
        }
        else if (topic.StartsWith(Topics.TwinResponsePrefix, StringComparison.Ordinal))
        {
            ack.Complete(true);
            if (Topics.TryParseTwinResponse(topic, out var status, out var rid, out _) && _twinRequests.TryRemove(rid, out var tcs))
            {
                tcs.TrySetResult((status, body.Span.ToArray()));
            }
        }
        else if (topic.StartsWith(Topics.DesiredPatchPrefix, StringComparison.Ordinal))
        {
            await _twinQueue.Writer.WriteAsync(new TwinWork(TwinWorkKind.Patch, Topics.DesiredPatchVersion(topic), body, ack), _stop.Token).ConfigureAwait(false);
        }
        else if (topic.StartsWith(Topics.MethodPrefix, StringComparison.Ordinal))
        {
            ack.Complete(true);
            if (Topics.TryParseMethod(topic, out var name, out var rid))
            {
                _ = Task.Run(() => InvokeMethodAsync(name, rid, body, _stop.Token), CancellationToken.None);
            }
            else
            {
                Log.UnexpectedTopic(_logger, topic);
            }
        }
        else
        {
            Log.UnexpectedTopic(_logger, topic);
            ack.Complete(true);
        }
    }

    private async Task InputLoopAsync(CancellationToken stop)
    {
        try
        {
            await foreach (var (args, ack) in _inputQueue.Reader.ReadAllAsync(stop).ConfigureAwait(false))
            {
                if (!_inputs.TryGetValue(args.InputName, out var handler))
                {
                    if (_unhandledInputsLogged.TryAdd(args.InputName, 0))
                    {
                        Log.InputUnhandled(_logger, args.InputName, args.Message.MessageId);
                    }

                    _metrics.Received.Add(1, new KeyValuePair<string, object?>("result", "unhandled"), new KeyValuePair<string, object?>("input", args.InputName));
                    ack.Complete(true);
                    continue;
                }

                try
                {
                    await handler(args, stop).ConfigureAwait(false);
                    _metrics.Received.Add(1, new KeyValuePair<string, object?>("result", "handled"), new KeyValuePair<string, object?>("input", args.InputName));
                    ack.Complete(true);
                }
                catch (Exception ex) when (!stop.IsCancellationRequested)
                {
                    Log.InputHandlerFailed(_logger, ex, args.InputName, args.Message.MessageId);
                    _metrics.Received.Add(1, new KeyValuePair<string, object?>("result", "failed"), new KeyValuePair<string, object?>("input", args.InputName));
                    ack.Complete(false);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task InvokeMethodAsync(string name, string rid, ReadOnlyMemory<byte> payload, CancellationToken stop)
    {
        MethodResponse response;
        if (!_methods.TryGetValue(name, out var handler))
        {
            Log.MethodUnknown(_logger, name);
            response = MethodResponse.Error(501, $"Method '{name}' is not implemented by module '{Identity.ModuleId}'. Implemented: [{string.Join(", ", _methods.Keys.Order(StringComparer.Ordinal))}]");
        }
        else
        {
            try
            {
                response = await handler(new MethodRequestArguments(name, payload), stop).ConfigureAwait(false);
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                Log.MethodFailed(_logger, ex, name);
                response = MethodResponse.Error(500, $"Method '{name}' failed: {ex.Message}");
            }
        }

        var body = response.Payload is null ? [] : Encoding.UTF8.GetBytes(response.Payload.ToJsonString(RelaxedJson));
        try
        {
            await PublishRawAsync(Topics.MethodResponse(response.Status, rid), body, stop).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.TwinFailed(_logger, $"method response for {name}: {ex.Message}");
        }
    }

    // ---------------------------------------------------------------- twin

    private async Task ApplyCachedDesiredAsync(CancellationToken ct)
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

    private async Task TwinLoopAsync(CancellationToken stop)
    {
        try
        {
            await foreach (var work in _twinQueue.Reader.ReadAllAsync(stop).ConfigureAwait(false))
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
                    Log.TwinFailed(_logger, Describe(ex));
                    if (work.Kind == TwinWorkKind.FullSync && _state == ConnectionState.Connected)
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

    private async Task RetryFullSyncLaterAsync(CancellationToken stop)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(30), _time, stop).ConfigureAwait(false);
            _twinQueue.Writer.TryWrite(TwinWork.FullSync);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task FullSyncAsync(CancellationToken ct)
    {
        if (_state != ConnectionState.Connected)
        {
            return;
        }

        var (status, body) = await _twinPipeline.ExecuteAsync(c => new ValueTask<(int, byte[])>(TwinRequestAsync(Topics.TwinGet, [], c)), ct).ConfigureAwait(false);
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
                if (_pendingReported.Count == 0 || _state != ConnectionState.Connected)
                {
                    return;
                }

                snapshot = _pendingReported;
                _pendingReported = [];
            }

            try
            {
                var payload = Encoding.UTF8.GetBytes(snapshot.ToJsonString(RelaxedJson));
                var (status, _) = await _twinPipeline.ExecuteAsync(c => new ValueTask<(int, byte[])>(TwinRequestAsync(Topics.ReportedPatch, payload, c)), ct).ConfigureAwait(false);
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

                Log.TwinFailed(_logger, $"reported properties kept for the next attempt: {Describe(ex)}");
            }
        }
        finally
        {
            _reportLock.Release();
        }
    }

    private async Task<(int Status, byte[] Body)> TwinRequestAsync(Func<string, string> topic, byte[] payload, CancellationToken ct)
    {
        var rid = Interlocked.Increment(ref _ridCounter).ToString(CultureInfo.InvariantCulture);
        var tcs = new TaskCompletionSource<(int, byte[])>(TaskCreationOptions.RunContinuationsAsynchronously);
        _twinRequests[rid] = tcs;
        try
        {
            await PublishRawAsync(topic(rid), payload, ct).ConfigureAwait(false);
            var (status, body) = await tcs.Task.WaitAsync(ct).ConfigureAwait(false);
            return (status, body);
        }
        finally
        {
            _twinRequests.TryRemove(rid, out _);
        }
    }

    /// <summary>A QoS 0 publish (twin requests, method responses).</summary>
    private Task PublishRawAsync(string topic, byte[] payload, CancellationToken ct)
    {
        var connection = _connection;
        return connection is null || _state != ConnectionState.Connected
            ? throw new TwinException(503, "not connected to edgeHub")
            : connection.PublishAsync(topic, payload, atLeastOnce: false, ct);
    }

    // ---------------------------------------------------------------- outbox publisher

    Task IOutboxPublisher.WaitConnectedAsync(CancellationToken ct) => _connected.Task.WaitAsync(ct);

    Task IOutboxPublisher.PublishAsync(OutboxRecord record, CancellationToken ct)
    {
        var connection = _connection;
        if (connection is null || _state != ConnectionState.Connected)
        {
            return Task.FromException(new EdgeHubConnectException("not connected"));
        }

        var prefix = _eventsPrefix ??= Topics.EventsPrefix(_settings!.Identity);
        var topic = string.Concat(prefix, record.Bag, "/");
        return _publishPipeline.ExecuteAsync(
            static (s, c) => new ValueTask(s.connection.PublishAsync(s.topic, s.record.Body, atLeastOnce: true, c)), (connection, topic, record), ct).AsTask();
    }

    private static string Describe(Exception? ex) => ex switch
    {
        null => "unknown",
        TimeoutRejectedException => "timed out",
        BrokenCircuitException => "circuit open",
        EdgeHubConnectException e => e.Message,
        System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException => ex.Message,
        _ => ex.InnerException is { } inner ? $"{ex.Message} ({inner.Message})" : ex.Message,
    };

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

/// <summary>A refused or failed connection attempt.</summary>
internal sealed class EdgeHubConnectException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A twin request answered with an error status, or not answered.</summary>
internal sealed class TwinException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
