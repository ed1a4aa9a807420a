using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Edge.Runtime.Diagnostics;
using Edge.Runtime.Mqtt;
using Polly;
using Polly.Retry;
using Microsoft.Extensions.Logging;

namespace Edge.Runtime.Client;

/// <summary>
/// The module's connection to edgeHub: the connect loop (retries with backoff, SAS token renewal by reconnecting before the
/// token expires), TLS (the trust bundle checks the server certificate), the four subscriptions, and the connection state.
/// Every received PUBLISH goes to <c>onMessage</c> in arrival order; <c>onConnected</c> runs after each successful connect,
/// <c>onDisconnected</c> when the connection is lost or closed for renewal.
/// </summary>
internal sealed class EdgeHubConnection : IAsyncDisposable
{
    private readonly Func<EdgeHubSettings> _settings;
    private readonly EdgeHubClientOptions _options;
    private readonly Func<MqttIncomingMessage, ValueTask> _onMessage;
    private readonly Action _onConnected;
    private readonly Action _onDisconnected;
    private readonly CancellationToken _stopping;
    private readonly TimeProvider _time;
    private readonly RuntimeMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _connectPipeline;
    private MqttClientConnection? _connection;
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _connectCount;
    private string? _lastCertificateError;
    private volatile ConnectionState _state = ConnectionState.Disconnected;

    /// <param name="settings">The resolved settings (called when connecting).</param>
    /// <param name="options">Timeouts, keep-alive, token lifetime and renewal point, reconnect backoff.</param>
    /// <param name="onMessage">Every PUBLISH from edgeHub, one at a time; its PUBACK goes out once its ack is completed.</param>
    /// <param name="onConnected">After each successful connect (subscriptions granted).</param>
    /// <param name="onDisconnected">When the connection is lost or closed to renew the token.</param>
    /// <param name="stopping">Signalled when the client stops: no more reconnects.</param>
    /// <param name="time">The clock for backoff, renewal and keep-alive.</param>
    /// <param name="metrics">The connected gauge and the reconnect counter.</param>
    /// <param name="logger">Connection events (EventIds 1000-1006).</param>
    public EdgeHubConnection(
        Func<EdgeHubSettings> settings,
        EdgeHubClientOptions options,
        Func<MqttIncomingMessage, ValueTask> onMessage,
        Action onConnected,
        Action onDisconnected,
        CancellationToken stopping,
        TimeProvider time,
        RuntimeMetrics metrics,
        ILogger logger)
    {
        _settings = settings;
        _options = options;
        _onMessage = onMessage;
        _onConnected = onConnected;
        _onDisconnected = onDisconnected;
        _stopping = stopping;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _connectPipeline = new ResiliencePipelineBuilder { Name = "edgehub-connect", TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException || !_stopping.IsCancellationRequested),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.ReconnectDelay,
                MaxDelay = _options.ReconnectMaxDelay,
                OnRetry = a =>
                {
                    Log.ConnectFailed(_logger, a.AttemptNumber + 1, ClientErrors.Describe(a.Outcome.Exception));
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(_options.OperationTimeout)
            .Build();
    }

    public ConnectionState State => _state;

    public int ConnectCount => Volatile.Read(ref _connectCount);

    public string? LastCertificateError => _lastCertificateError;

    /// <summary>Completes once connected (at once when connected now).</summary>
    public Task WaitConnectedAsync(CancellationToken ct) => _connected.Task.WaitAsync(ct);

    /// <summary>The live connection, when the state is connected.</summary>
    public bool TryGetConnected(out MqttClientConnection connection)
    {
        connection = _connection!;
        return connection is not null && _state == ConnectionState.Connected;
    }

    /// <summary>Connects, renews before the token expires and reconnects after a loss, until <paramref name="stop"/>.</summary>
    public async Task RunAsync(CancellationToken stop)
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

    /// <summary>After the loop stopped: sends DISCONNECT if still connected and reports the state as disconnected.</summary>
    public async Task CloseAsync(CancellationToken ct)
    {
        if (_connection is { IsConnected: true } connection)
        {
            await connection.DisconnectAsync(ct).ConfigureAwait(false);
        }

        _state = ConnectionState.Disconnected;
        _metrics.SetConnected(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask<DateTimeOffset> ConnectOnceAsync(CancellationToken ct)
    {
        var s = _settings();
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
            connection = await MqttClientConnection.ConnectAsync(options, _onMessage, ct).ConfigureAwait(false);
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
        _onConnected();

        // Last, once the state says connected: a connection that closed meanwhile is marked disconnected at once (and redialled).
        _ = connection.Closed.ContinueWith(t => OnClosed(connection, t.Result), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
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

    private void OnClosed(MqttClientConnection source, string reason)
    {
        if (!ReferenceEquals(source, _connection))
        {
            return;
        }

        if (!_stopping.IsCancellationRequested && _state == ConnectionState.Connected)
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

        _state = _stopping.IsCancellationRequested ? ConnectionState.Disconnected : ConnectionState.Connecting;
        _metrics.SetConnected(false);
        _disconnected.TrySetResult();
        _onDisconnected();
    }
}
