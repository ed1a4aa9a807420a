using Edge.Protocol.Mqtt;

namespace Edge.Hub.Heads.Mqtt;

/// <summary>
/// The PUBACKs of one publisher's connection, held until their messages are stored and sent in arrival order (a PUBACK means
/// "stored"), several in one write when a group commit completes many. A failed store sends no PUBACK for it nor for later
/// ones: <paramref name="storeFailed"/> closes the connection and the client resends after reconnecting.
/// </summary>
internal sealed class HeldPubAcks(MqttPacketWriter writer, Action<Exception> storeFailed)
{
    private readonly Lock _lock = new();
    private readonly Queue<(ushort Id, Task Stored)> _acks = new();
    private Action? _drain;
    private bool _watching;

    /// <summary>Queues the PUBACK of <paramref name="packetId"/> behind the earlier ones; returns how many are waiting.</summary>
    public int Queue(ushort packetId, Task stored)
    {
        int count;
        lock (_lock)
        {
            _acks.Enqueue((packetId, stored));
            count = _acks.Count;
        }

        Drain();
        return count;
    }

    private void OnHeadStored()
    {
        lock (_lock)
        {
            _watching = false;
        }

        Drain();
    }

    /// <summary>Sends the PUBACKs at the head of the queue whose messages are stored (in one write); watches the first that is not.</summary>
    private void Drain()
    {
        Task? watch = null;
        Exception? failure = null;
        var sent = false;
        lock (_lock)
        {
            if (_watching)
            {
                return;
            }

            while (_acks.TryPeek(out var head))
            {
                if (!head.Stored.IsCompleted)
                {
                    _watching = true;
                    watch = head.Stored;
                    break;
                }

                _acks.Dequeue();
                if (!head.Stored.IsCompletedSuccessfully)
                {
                    failure = head.Stored.Exception?.GetBaseException() ?? new OperationCanceledException("store cancelled");
                    break;
                }

                if (writer.Queue(4, head.Id, static (span, id) => MqttCodec.WritePubAck(span, id)) != QueueResult.Queued)
                {
                    return;
                }

                sent = true;
            }
        }

        if (sent)
        {
            writer.Flush();
        }

        if (failure is not null)
        {
            storeFailed(failure);
            return;
        }

        watch?.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_drain ??= OnHeadStored);
    }

    /// <summary>The connection ended: nobody waits for these PUBACKs any more; observe failed stores (no unobserved task exceptions).</summary>
    public void Forget()
    {
        lock (_lock)
        {
            while (_acks.TryDequeue(out var a))
            {
                _ = a.Stored.ContinueWith(static f => _ = f.Exception, CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }
}
