using System.Buffers;

namespace Edge.Protocol.Mqtt;

/// <summary>Handles one packet; <paramref name="body"/> is valid only until the call returns (copy before awaiting). False stops reading.</summary>
public delegate ValueTask<bool> PacketHandler(byte header, ReadOnlySpan<byte> body);

/// <summary>Why <see cref="MqttPacketReader.RunAsync"/> returned.</summary>
public enum ReadEnd
{
    /// <summary>The peer closed the stream.</summary>
    Closed,

    /// <summary>The handler returned false.</summary>
    Stopped,

    /// <summary>A fixed header with a fifth length byte: not MQTT.</summary>
    Malformed,

    /// <summary>A packet over the size limit (<see cref="MqttPacketReader.LastHeader"/> and <see cref="MqttPacketReader.LastLength"/> say which).</summary>
    TooLarge,
}

/// <summary>
/// The receive side of one MQTT connection (client or hub): packets are parsed straight from a pooled read buffer, several per
/// TLS record or one across many reads, and handed to the handler one at a time.
/// </summary>
public sealed class MqttPacketReader(Stream stream, int maxPacketBytes, Action onBytesRead)
{
    private const int BufferSize = 32 * 1024;
    private const int MinReadSpace = 16 * 1024;

    /// <summary>The fixed-header byte of the packet that ended the loop with <see cref="ReadEnd.TooLarge"/>.</summary>
    public byte LastHeader { get; private set; }

    /// <summary>The remaining length of the packet that ended the loop with <see cref="ReadEnd.TooLarge"/>.</summary>
    public int LastLength { get; private set; }

    /// <summary>Reads until the stream ends, the handler says stop or the peer breaks the framing; stream errors propagate.</summary>
    public async Task<ReadEnd> RunAsync(PacketHandler handle)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        int start = 0, end = 0;
        try
        {
            while (true)
            {
                while (true)
                {
                    var status = MqttCodec.TryReadFixedHeader(buffer.AsSpan(start, end - start), out var header, out var remaining, out var headerLength);
                    if (status == HeaderStatus.NeedMore)
                    {
                        break;
                    }

                    if (status == HeaderStatus.Malformed)
                    {
                        return ReadEnd.Malformed;
                    }

                    if (remaining > maxPacketBytes)
                    {
                        (LastHeader, LastLength) = (header, remaining);
                        return ReadEnd.TooLarge;
                    }

                    var total = headerLength + remaining;
                    if (end - start < total)
                    {
                        if (total > buffer.Length)
                        {
                            var larger = ArrayPool<byte>.Shared.Rent(total);
                            buffer.AsSpan(start, end - start).CopyTo(larger);
                            ArrayPool<byte>.Shared.Return(buffer);
                            buffer = larger;
                            end -= start;
                            start = 0;
                        }
                        else if (start + total > buffer.Length)
                        {
                            buffer.AsSpan(start, end - start).CopyTo(buffer);
                            end -= start;
                            start = 0;
                        }

                        break;
                    }

                    var handled = handle(header, buffer.AsSpan(start + headerLength, remaining));
                    start += total;
                    if (!(handled.IsCompletedSuccessfully ? handled.Result : await handled.ConfigureAwait(false)))
                    {
                        return ReadEnd.Stopped;
                    }
                }

                if (start == end)
                {
                    start = end = 0;
                    if (buffer.Length > 4 * BufferSize)
                    {
                        // A large packet has been handled: go back to a normal-sized buffer.
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
                    }
                }
                else if (buffer.Length - end < MinReadSpace && start > 0)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }

                var n = await stream.ReadAsync(buffer.AsMemory(end)).ConfigureAwait(false);
                if (n == 0)
                {
                    return ReadEnd.Closed;
                }

                end += n;
                onBytesRead();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
