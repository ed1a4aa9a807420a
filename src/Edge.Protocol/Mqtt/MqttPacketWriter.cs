using System.Buffers;

namespace Edge.Protocol.Mqtt;

/// <summary>Encodes one packet into exactly <c>destination.Length</c> bytes.</summary>
public delegate void PacketEncoder<TState>(Span<byte> destination, TState state);

/// <summary>What <see cref="MqttPacketWriter.Queue"/> did with a packet.</summary>
public enum QueueResult
{
    Queued,
    Closed,
    Full,
}

/// <summary>
/// The send side of one MQTT connection (client or hub). Packets are encoded straight into one pending buffer under a lock;
/// a single writer takes everything queued, writes it in one stream (TLS) write and repeats until nothing is left. The writer
/// runs inline in the caller that queued the first bytes until a write has to wait for the socket: no thread hand-off and
/// one TLS record for many packets under load.
/// </summary>
public sealed class MqttPacketWriter(Stream stream, int maxBacklog, Action<Exception> writeFailed)
{
    private const int BufferSize = 8 * 1024;
    private readonly Lock _lock = new();
    private byte[] _pending = ArrayPool<byte>.Shared.Rent(BufferSize);
    private int _pendingLength;
    private byte[]? _spare;
    private bool _writing;
    private bool _closed;
    private TaskCompletionSource? _drained;

    /// <summary>Bytes queued and not yet handed to the stream.</summary>
    public int Backlog
    {
        get
        {
            lock (_lock)
            {
                return _pendingLength;
            }
        }
    }

    /// <summary>Queues one packet and starts the writer (see <see cref="Queue"/>).</summary>
    public QueueResult Send<TState>(int length, TState state, PacketEncoder<TState> encode)
    {
        var result = Queue(length, state, encode);
        if (result == QueueResult.Queued)
        {
            Flush();
        }

        return result;
    }

    /// <summary>
    /// Queues one packet of <paramref name="length"/> bytes without starting the writer (call <see cref="Flush"/> after a batch):
    /// <see cref="QueueResult.Full"/> when the backlog would pass the limit (the peer is not reading).
    /// </summary>
    public QueueResult Queue<TState>(int length, TState state, PacketEncoder<TState> encode)
    {
        lock (_lock)
        {
            if (_closed)
            {
                return QueueResult.Closed;
            }

            if (_pendingLength > 0 && _pendingLength + length > maxBacklog)
            {
                return QueueResult.Full;
            }

            if (_pending.Length - _pendingLength < length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_pending.Length * 2, _pendingLength + length));
                _pending.AsSpan(0, _pendingLength).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_pending);
                _pending = larger;
            }

            encode(_pending.AsSpan(_pendingLength, length), state);
            _pendingLength += length;
            return QueueResult.Queued;
        }
    }

    /// <summary>Starts the writer if bytes are queued and it is not running (it then runs inline until a write has to wait).</summary>
    public void Flush()
    {
        lock (_lock)
        {
            if (_closed || _writing || _pendingLength == 0)
            {
                return;
            }

            _writing = true;
        }

        _ = WriteLoopAsync();
    }

    /// <summary>Completes once everything queued so far is written (or the writer closed).</summary>
    public Task DrainAsync(CancellationToken ct)
    {
        lock (_lock)
        {
            if (_closed || (!_writing && _pendingLength == 0))
            {
                return Task.CompletedTask;
            }

            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _drained.Task.WaitAsync(ct);
        }
    }

    /// <summary>Stops writing: queued bytes not yet written are dropped, later packets refused.</summary>
    public void Close()
    {
        lock (_lock)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            if (!_writing)
            {
                ReleaseBuffers();
            }
        }
    }

    private async Task WriteLoopAsync()
    {
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                int length;
                lock (_lock)
                {
                    if (buffer is not null)
                    {
                        if (_spare is null && buffer.Length <= 4 * BufferSize)
                        {
                            _spare = buffer;
                        }
                        else
                        {
                            ArrayPool<byte>.Shared.Return(buffer);
                        }

                        buffer = null;
                    }

                    if (_closed || _pendingLength == 0)
                    {
                        _writing = false;
                        if (_closed)
                        {
                            ReleaseBuffers();
                        }
                        else
                        {
                            _drained?.TrySetResult();
                            _drained = null;
                        }

                        return;
                    }

                    buffer = _pending;
                    length = _pendingLength;
                    _pending = _spare ?? ArrayPool<byte>.Shared.Rent(BufferSize);
                    _spare = null;
                    _pendingLength = 0;
                }

                await stream.WriteAsync(buffer.AsMemory(0, length)).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or NotSupportedException)
        {
            lock (_lock)
            {
                _writing = false;
                _closed = true;
                if (buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                ReleaseBuffers();
            }

            writeFailed(ex);
        }
    }

    /// <summary>Under the lock, once closed and no write is running: returns the buffers and wakes drain waiters.</summary>
    private void ReleaseBuffers()
    {
        if (_pending.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_pending);
            _pending = [];
        }

        if (_spare is not null)
        {
            ArrayPool<byte>.Shared.Return(_spare);
            _spare = null;
        }

        _pendingLength = 0;
        _drained?.TrySetResult();
        _drained = null;
    }
}
