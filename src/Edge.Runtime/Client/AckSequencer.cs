using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using MQTTnet;

namespace Edge.Runtime.Client;

/// <summary>
/// Sends PUBACKs for one connection in the order the PUBLISHes arrived (MQTT 3.1.1 §4.6), each only once its work
/// completed. A slot completed with false (a failed input handler) is skipped: no PUBACK, so edgeHub redelivers it.
/// </summary>
internal sealed class AckSequencer
{
    private readonly Channel<(MqttApplicationMessageReceivedEventArgs Args, Task<bool> Done)> _queue =
        Channel.CreateUnbounded<(MqttApplicationMessageReceivedEventArgs, Task<bool>)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _cts = new();

    public AckSequencer(ILogger logger)
    {
        _ = logger;
        _ = Task.Run(RunAsync);
    }

    /// <summary>Reserves the next slot; complete the returned source with true to acknowledge.</summary>
    public TaskCompletionSource<bool> Enqueue(MqttApplicationMessageReceivedEventArgs e, bool needsAck)
    {
        var tcs = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (needsAck && !_queue.Writer.TryWrite((e, tcs.Task)))
        {
            tcs.TrySetResult(false);
        }

        return tcs;
    }

    /// <summary>Stops acknowledging (the connection is gone; edgeHub redelivers what was not acknowledged).</summary>
    public void Complete()
    {
        if (_queue.Writer.TryComplete())
        {
            _cts.Cancel();
        }
    }

    private async Task RunAsync()
    {
        try
        {
            await foreach (var (args, done) in _queue.Reader.ReadAllAsync(_cts.Token).ConfigureAwait(false))
            {
                if (await done.WaitAsync(_cts.Token).ConfigureAwait(false))
                {
                    await args.AcknowledgeAsync(_cts.Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception)
        {
            // Connection closed or cancelled: unacknowledged messages are redelivered by edgeHub.
        }
    }
}
