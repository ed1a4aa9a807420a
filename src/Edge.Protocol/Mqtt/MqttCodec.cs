using System.Buffers.Binary;
using System.Text;

namespace Edge.Protocol.Mqtt;

/// <summary>Quality of service of a PUBLISH (QoS 2 is never used: edgeHub does not support it).</summary>
public enum MqttQos
{
    /// <summary>QoS 0: sent once, never acknowledged.</summary>
    AtMostOnce = 0,

    /// <summary>QoS 1: carries a packet id and is sent again until the receiver's PUBACK.</summary>
    AtLeastOnce = 1,
}

/// <summary>MQTT 3.1.1 control packet types (the high nibble of the fixed header).</summary>
public enum MqttPacketType
{
    Connect = 1,
    ConnAck = 2,
    Publish = 3,
    PubAck = 4,
    PubRec = 5,
    PubRel = 6,
    PubComp = 7,
    Subscribe = 8,
    SubAck = 9,
    Unsubscribe = 10,
    UnsubAck = 11,
    PingReq = 12,
    PingResp = 13,
    Disconnect = 14,
}

/// <summary>What <see cref="MqttCodec.TryReadFixedHeader"/> found.</summary>
public enum HeaderStatus
{
    /// <summary>A whole fixed header: its type byte, remaining length and size are set.</summary>
    Complete,

    /// <summary>Not enough bytes yet: read more and try again.</summary>
    NeedMore,

    /// <summary>A fifth remaining-length byte: not MQTT; close the connection.</summary>
    Malformed,
}

/// <summary>
/// MQTT 3.1.1 wire format: the fixed header (type, flags, remaining length as a 1–4 byte varint), 2-byte big-endian lengths and
/// packet ids, UTF-8 strings. Readers work on spans of one packet; writers append to a caller's buffer.
/// </summary>
public static class MqttCodec
{
    /// <summary>The largest remaining length the 4-byte varint can carry (268,435,455).</summary>
    public const int MaxRemainingLength = 268_435_455;

    /// <summary>Reads the fixed header at the start of <paramref name="data"/>.</summary>
    public static HeaderStatus TryReadFixedHeader(ReadOnlySpan<byte> data, out byte header, out int remainingLength, out int headerLength)
    {
        header = 0;
        remainingLength = 0;
        headerLength = 0;
        if (data.Length < 2)
        {
            return HeaderStatus.NeedMore;
        }

        header = data[0];
        var value = 0;
        var shift = 0;
        for (var i = 1; i <= 4; i++)
        {
            if (i >= data.Length)
            {
                return HeaderStatus.NeedMore;
            }

            var b = data[i];
            value |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                remainingLength = value;
                headerLength = i + 1;
                return HeaderStatus.Complete;
            }

            shift += 7;
        }

        // A fifth length byte: not MQTT.
        return HeaderStatus.Malformed;
    }

    /// <summary>The size of the fixed header for a packet with <paramref name="remainingLength"/> bytes after it.</summary>
    public static int FixedHeaderLength(int remainingLength) => remainingLength switch
    {
        < 128 => 2,
        < 16_384 => 3,
        < 2_097_152 => 4,
        _ => 5,
    };

    /// <summary>Writes the fixed header; returns its length.</summary>
    public static int WriteFixedHeader(Span<byte> destination, byte header, int remainingLength)
    {
        destination[0] = header;
        var i = 1;
        do
        {
            var b = (byte)(remainingLength & 0x7F);
            remainingLength >>= 7;
            if (remainingLength > 0)
            {
                b |= 0x80;
            }

            destination[i++] = b;
        }
        while (remainingLength > 0);
        return i;
    }

    /// <summary>Writes a length-prefixed UTF-8 string at <paramref name="offset"/>; returns the offset after it.</summary>
    public static int WriteString(Span<byte> destination, int offset, string value)
    {
        var n = Encoding.UTF8.GetBytes(value, destination[(offset + 2)..]);
        BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], (ushort)n);
        return offset + 2 + n;
    }

    /// <summary>The remaining length of a PUBLISH: the topic (<paramref name="topicBytes"/> of UTF-8), a packet id at QoS 1, the payload.</summary>
    public static int PublishRemainingLength(int topicBytes, MqttQos qos, int payloadLength) =>
        2 + topicBytes + (qos == MqttQos.AtLeastOnce ? 2 : 0) + payloadLength;

    /// <summary>Writes a whole PUBLISH (fixed header included; <paramref name="packetId"/> only at QoS 1), DUP and RETAIN off.</summary>
    public static void WritePublish(Span<byte> destination, string topic, MqttQos qos, ushort packetId, ReadOnlySpan<byte> payload, int remainingLength)
    {
        var o = WriteFixedHeader(destination, (byte)(0x30 | ((int)qos << 1)), remainingLength);
        o = WriteString(destination, o, topic);
        if (qos == MqttQos.AtLeastOnce)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[o..], packetId);
            o += 2;
        }

        payload.CopyTo(destination[o..]);
    }

    /// <summary>Writes a PUBACK (4 bytes).</summary>
    public static void WritePubAck(Span<byte> destination, ushort packetId)
    {
        destination[0] = 0x40;
        destination[1] = 2;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], packetId);
    }

    /// <summary>Reads a length-prefixed UTF-8 string at <paramref name="offset"/> and advances it; false when it does not fit or is not UTF-8.</summary>
    public static bool TryReadString(ReadOnlySpan<byte> packet, ref int offset, out string value)
    {
        value = "";
        if (!TryReadBinary(packet, ref offset, out var bytes))
        {
            return false;
        }

        try
        {
            value = StrictUtf8.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>Reads a length-prefixed byte field at <paramref name="offset"/> and advances it.</summary>
    public static bool TryReadBinary(ReadOnlySpan<byte> packet, ref int offset, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (packet.Length - offset < 2)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(packet[offset..]);
        if (packet.Length - offset - 2 < length)
        {
            return false;
        }

        value = packet.Slice(offset + 2, length);
        offset += 2 + length;
        return true;
    }

    /// <summary>Reads a big-endian 16-bit value (a packet id) at <paramref name="offset"/> and advances it; false when it does not fit.</summary>
    public static bool TryReadUInt16(ReadOnlySpan<byte> packet, ref int offset, out ushort value)
    {
        value = 0;
        if (packet.Length - offset < 2)
        {
            return false;
        }

        value = BinaryPrimitives.ReadUInt16BigEndian(packet[offset..]);
        offset += 2;
        return true;
    }

    /// <summary>UTF-8 that throws on invalid bytes (MQTT: a malformed string closes the connection).</summary>
    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
