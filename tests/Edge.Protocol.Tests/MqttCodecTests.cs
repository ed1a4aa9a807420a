using System.Text;
using Edge.Protocol.Mqtt;

namespace Edge.Protocol.Tests;

/// <summary>The MQTT 3.1.1 codec, and the packet reader and writer over a real stream (a pipe-backed duplex is not needed: a
/// <see cref="MemoryStream"/> with reads of chosen sizes shows the framing).</summary>
public sealed class MqttCodecTests
{
    [Theory]
    [InlineData(0, 2)]
    [InlineData(127, 2)]
    [InlineData(128, 3)]
    [InlineData(16_383, 3)]
    [InlineData(16_384, 4)]
    [InlineData(2_097_151, 4)]
    [InlineData(2_097_152, 5)]
    [InlineData(MqttCodec.MaxRemainingLength, 5)]
    public void FixedHeader_WriteThenRead_RoundTrips(int remaining, int headerLength)
    {
        var buffer = new byte[5];

        MqttCodec.WriteFixedHeader(buffer, 0x32, remaining).ShouldBe(headerLength);
        MqttCodec.FixedHeaderLength(remaining).ShouldBe(headerLength);

        MqttCodec.TryReadFixedHeader(buffer, out var header, out var length, out var read).ShouldBe(HeaderStatus.Complete);
        (header, length, read).ShouldBe(((byte)0x32, remaining, headerLength));
        MqttCodec.TryReadFixedHeader(buffer.AsSpan(0, headerLength - 1), out _, out _, out _).ShouldBe(HeaderStatus.NeedMore);
    }

    [Fact]
    public void FixedHeader_FifthLengthByte_Malformed() =>
        MqttCodec.TryReadFixedHeader([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], out _, out _, out _).ShouldBe(HeaderStatus.Malformed);

    [Fact]
    public void WritePublish_Qos1_SpecLayout_FieldsReadBack()
    {
        var payload = "hi"u8.ToArray();
        var remaining = MqttCodec.PublishRemainingLength(3, MqttQos.AtLeastOnce, payload.Length);
        var packet = new byte[MqttCodec.FixedHeaderLength(remaining) + remaining];

        MqttCodec.WritePublish(packet, "a/b", MqttQos.AtLeastOnce, 0x0102, payload, remaining);

        packet.ShouldBe(new byte[] { 0x32, 9, 0, 3, (byte)'a', (byte)'/', (byte)'b', 1, 2, (byte)'h', (byte)'i' });
        var o = 0;
        var body = packet.AsSpan(2);
        MqttCodec.TryReadString(body, ref o, out var topic).ShouldBeTrue();
        MqttCodec.TryReadUInt16(body, ref o, out var id).ShouldBeTrue();
        (topic, id, Encoding.ASCII.GetString(body[o..])).ShouldBe(("a/b", (ushort)0x0102, "hi"));
    }

    [Fact]
    public void TryReadString_TruncatedOrInvalidUtf8_False()
    {
        var o = 0;
        MqttCodec.TryReadString([0, 5, (byte)'a'], ref o, out _).ShouldBeFalse();
        o = 0;
        MqttCodec.TryReadString([0, 1, 0xFF], ref o, out _).ShouldBeFalse();
    }

    [Fact]
    public async Task Reader_PacketsSplitAndCoalesced_HandledInOrderWithBodies()
    {
        // Three PUBACKs and a PINGRESP in one buffer, delivered one byte per read (a packet spread over many reads), then all at once.
        byte[] wire = [0x40, 2, 0, 1, 0x40, 2, 0, 2, 0xD0, 0, 0x40, 2, 0, 3];
        foreach (var chunk in new[] { 1, wire.Length })
        {
            var seen = new List<(byte, string)>();
            var reads = 0;
            var reader = new MqttPacketReader(new ChunkedStream(wire, chunk), 1024, () => reads++);

            var end = await reader.RunAsync((header, body) =>
            {
                seen.Add((header, Convert.ToHexString(body)));
                return new ValueTask<bool>(true);
            });

            end.ShouldBe(ReadEnd.Closed);
            seen.ShouldBe([((byte)0x40, "0001"), ((byte)0x40, "0002"), ((byte)0xD0, ""), ((byte)0x40, "0003")]);
            reads.ShouldBe(chunk == 1 ? wire.Length : 1);
        }
    }

    [Fact]
    public async Task Reader_OverLimit_TooLargeWithHeaderAndLength()
    {
        var reader = new MqttPacketReader(new ChunkedStream([0x30, 0x80, 0x01], 3), 100, () => { });

        (await reader.RunAsync((_, _) => new ValueTask<bool>(true))).ShouldBe(ReadEnd.TooLarge);
        (reader.LastHeader, reader.LastLength).ShouldBe(((byte)0x30, 128));
    }

    [Fact]
    public async Task Writer_QueuedPackets_OneWriteInOrder_FullPastBacklog_ClosedAfterClose()
    {
        var stream = new RecordingStream();
        var writer = new MqttPacketWriter(stream, maxBacklog: 8, _ => { });

        writer.Queue(4, (ushort)1, static (span, id) => MqttCodec.WritePubAck(span, id)).ShouldBe(QueueResult.Queued);
        writer.Queue(4, (ushort)2, static (span, id) => MqttCodec.WritePubAck(span, id)).ShouldBe(QueueResult.Queued);
        writer.Queue(4, (ushort)3, static (span, id) => MqttCodec.WritePubAck(span, id)).ShouldBe(QueueResult.Full);
        writer.Backlog.ShouldBe(8);
        writer.Flush();
        await writer.DrainAsync(TestContext.Current.CancellationToken);

        stream.Writes.ShouldBe([Convert.FromHexString("4002000140020002")]);
        writer.Close();
        writer.Queue(4, (ushort)4, static (span, id) => MqttCodec.WritePubAck(span, id)).ShouldBe(QueueResult.Closed);
    }

    /// <summary>A read-only stream that returns at most <c>chunk</c> bytes per read.</summary>
    private sealed class ChunkedStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(chunk, buffer.Length)], cancellationToken);
    }

    /// <summary>Records each write as one array.</summary>
    private sealed class RecordingStream : MemoryStream
    {
        public List<byte[]> Writes { get; } = [];

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes.Add(buffer.ToArray());
            return ValueTask.CompletedTask;
        }
    }
}
