using System.Collections.Concurrent;
using System.Threading.Channels;
using Edge.Runtime.Diagnostics;
using Edge.Runtime.Mqtt;
using Microsoft.Extensions.Logging;

namespace Edge.Runtime.Client;

/// <summary>
/// Module inputs: messages from edgeHub go to the input's handler one at a time, in arrival order; each is acknowledged
/// (PUBACK) once its handler completed, or not acknowledged when it threw (edgeHub redelivers). An input without a handler is
/// acknowledged and logged once.
/// </summary>
internal sealed class InputDispatcher(RuntimeMetrics metrics, ILogger logger)
{
    private readonly ConcurrentDictionary<string, Func<InputMessageArguments, CancellationToken, Task>> _handlers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _unhandledLogged = new(StringComparer.Ordinal);
    private readonly Channel<(InputMessageArguments Args, MqttAck Ack)> _queue =
        Channel.CreateBounded<(InputMessageArguments, MqttAck)>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    public void SetHandler(string inputName, Func<InputMessageArguments, CancellationToken, Task> handler) => _handlers[inputName] = handler;

    /// <summary>Queues a received message (waits while 64 are queued: backpressure on the connection).</summary>
    public ValueTask EnqueueAsync(InputMessageArguments args, MqttAck ack, CancellationToken ct) => _queue.Writer.WriteAsync((args, ack), ct);

    /// <summary>No more messages (the client stops).</summary>
    public void Complete() => _queue.Writer.TryComplete();

    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            await foreach (var (args, ack) in _queue.Reader.ReadAllAsync(stop).ConfigureAwait(false))
            {
                if (!_handlers.TryGetValue(args.InputName, out var handler))
                {
                    if (_unhandledLogged.TryAdd(args.InputName, 0))
                    {
                        Log.InputUnhandled(logger, args.InputName, args.Message.MessageId);
                    }

                    metrics.Received.Add(1, new KeyValuePair<string, object?>("result", "unhandled"), new KeyValuePair<string, object?>("input", args.InputName));
                    ack.Complete(true);
                    continue;
                }

                try
                {
                    await handler(args, stop).ConfigureAwait(false);
                    metrics.Received.Add(1, new KeyValuePair<string, object?>("result", "handled"), new KeyValuePair<string, object?>("input", args.InputName));
                    ack.Complete(true);
                }
                catch (Exception ex) when (!stop.IsCancellationRequested)
                {
                    Log.InputHandlerFailed(logger, ex, args.InputName, args.Message.MessageId);
                    metrics.Received.Add(1, new KeyValuePair<string, object?>("result", "failed"), new KeyValuePair<string, object?>("input", args.InputName));
                    ack.Complete(false);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
