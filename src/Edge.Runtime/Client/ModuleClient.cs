using System.Text.Json.Nodes;
using Edge.Runtime.Diagnostics;
using Edge.Runtime.Mqtt;
using Edge.Runtime.Outbox;
using Edge.Runtime.Twins;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Edge.Runtime.Client;

/// <summary>
/// The edgeHub client, one instance per process: <see cref="IModuleClient"/> over its parts, each with one job —
/// <see cref="EdgeHubConnection"/> (connect loop, TLS, SAS renewal, subscriptions), <see cref="InputDispatcher"/> (inputs, PUBACK
/// after the handler), <see cref="MethodDispatcher"/> (direct methods), <see cref="TwinSync"/> (desired and reported
/// properties), and the outbox (<see cref="DurableOutbox"/>, drained by an <see cref="OutboxPump"/> through
/// <see cref="OutboxPublisher"/>). This class routes each received PUBLISH by topic and starts and stops the parts.
/// </summary>
internal sealed class ModuleClient : IModuleClient, IAsyncDisposable
{
    private readonly Func<EdgeHubSettings> _settingsFactory;
    private readonly EdgeHubClientOptions _options;
    private readonly DurableOutbox _outbox;
    private readonly TimeProvider _time;
    private readonly RuntimeMetrics _metrics;
    private readonly ILogger<ModuleClient> _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly EdgeHubConnection _connection;
    private readonly InputDispatcher _inputs;
    private readonly MethodDispatcher _methods;
    private readonly TwinSync _twin;
    private readonly OutboxPublisher _publisher;
    private EdgeHubSettings? _settings;
    private Task[] _workers = [];

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
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _connection = new EdgeHubConnection(() => _settings!, _options, OnMessageAsync, OnConnected, OnDisconnected, _stop.Token, time, metrics, logger);
        _inputs = new InputDispatcher(metrics, logger);
        _methods = new MethodDispatcher(_connection, () => Identity.ModuleId, logger);
        _twin = new TwinSync(_connection, new DesiredStore(module.Value.StateDirectory), _options.OperationTimeout, time, logger);
        _publisher = new OutboxPublisher(_connection, () => _settings!.Identity, time);
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

    public ConnectionState State => _connection.State;

    internal DurableOutbox Outbox => _outbox;

    internal int ConnectCount => _connection.ConnectCount;

    internal string? LastCertificateError => _connection.LastCertificateError;

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
        _inputs.SetHandler(inputName, handler);
    }

    public void SetMethodHandler(string methodName, Func<MethodRequestArguments, CancellationToken, Task<MethodResponse>> handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(methodName);
        _methods.SetHandler(methodName, handler);
    }

    public void SetDesiredPropertiesHandler(Func<DesiredPropertiesArguments, CancellationToken, Task<DesiredPropertiesResult>> handler) =>
        _twin.SetDesiredPropertiesHandler(handler);

    public Task ReportPropertiesAsync(JsonObject patch, CancellationToken ct) => _twin.ReportPropertiesAsync(patch, ct);

    // ---------------------------------------------------------------- lifecycle

    /// <summary>Resolves settings (throws <see cref="EdgeConfigurationException"/>), applies cached desired properties, starts connecting.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        _settings ??= _settingsFactory();
        _outbox.EnsureOpen();
        await _twin.ApplyCachedDesiredAsync(ct).ConfigureAwait(false);
        var stop = _stop.Token;
        _workers =
        [
            Task.Run(() => _connection.RunAsync(stop), CancellationToken.None),
            Task.Run(() => _inputs.RunAsync(stop), CancellationToken.None),
            Task.Run(() => _twin.RunAsync(stop), CancellationToken.None),
            Task.Run(() => new OutboxPump(_outbox, _publisher, _metrics, _logger, _time).RunAsync(stop), CancellationToken.None),
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
        while (_connection.State == ConnectionState.Connected && _outbox.Count > 0 && _time.GetUtcNow() < deadline && !ct.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, ct).ConfigureAwait(false);
        }

        if (_outbox.Count > 0)
        {
            Log.ShutdownPending(_logger, _outbox.Count);
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _inputs.Complete();
        _twin.Complete();
        try
        {
            await Task.WhenAll(_workers).WaitAsync(TimeSpan.FromSeconds(10), _time, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }

        await _connection.CloseAsync(ct).ConfigureAwait(false);
        _workers = [];
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _twin.Dispose();
    }

    // ---------------------------------------------------------------- routing

    private void OnConnected() => _twin.OnConnected();

    private void OnDisconnected() => _twin.OnDisconnected();

    /// <summary>Every PUBLISH from edgeHub, one at a time in arrival order; its PUBACK goes out once <c>ack</c> is completed.</summary>
    private async ValueTask OnMessageAsync(MqttIncomingMessage m)
    {
        var topic = m.Topic;
        var ack = m.Ack;
        var body = (ReadOnlyMemory<byte>)m.Payload;
        var inputPrefix = Topics.InputPrefix(_settings!.Identity);
        if (topic.StartsWith(inputPrefix, StringComparison.Ordinal))
        {
            if (Topics.TryParseInput(topic, inputPrefix, body, out var args))
            {
                await _inputs.EnqueueAsync(args, ack, _stop.Token).ConfigureAwait(false);
                return;
            }

            Log.UnexpectedTopic(_logger, topic);
            ack.Complete(true);
        }
        else if (topic.StartsWith(Topics.TwinResponsePrefix, StringComparison.Ordinal))
        {
            ack.Complete(true);
            _twin.OnResponse(topic, body);
        }
        else if (topic.StartsWith(Topics.DesiredPatchPrefix, StringComparison.Ordinal))
        {
            await _twin.OnDesiredPatchAsync(topic, body, ack, _stop.Token).ConfigureAwait(false);
        }
        else if (topic.StartsWith(Topics.MethodPrefix, StringComparison.Ordinal))
        {
            ack.Complete(true);
            if (Topics.TryParseMethod(topic, out var name, out var rid))
            {
                _ = Task.Run(() => _methods.InvokeAsync(name, rid, body, _stop.Token), CancellationToken.None);
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
}
