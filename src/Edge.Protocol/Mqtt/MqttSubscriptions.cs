using System.Buffers.Binary;

namespace Edge.Protocol.Mqtt;

/// <summary>SUBSCRIBE, SUBACK and UNSUBSCRIBE bodies (MQTT 3.1.1 §3.8–§3.10).</summary>
public static class MqttSubscriptions
{
    /// <summary>
    /// Reads a SUBSCRIBE body: its packet id and the topic filters with the QoS asked for each, in order; false (with the
    /// <paramref name="problem"/>) when it is malformed.
    /// </summary>
    public static bool TryReadSubscribe(ReadOnlySpan<byte> body, out ushort packetId, out List<(string Filter, byte Qos)> filters, out string problem)
    {
        filters = new List<(string, byte)>(1);
        var o = 0;
        if (!MqttCodec.TryReadUInt16(body, ref o, out packetId) || packetId == 0 || o == body.Length)
        {
            problem = "bad SUBSCRIBE";
            return false;
        }

        while (o < body.Length)
        {
            if (!MqttCodec.TryReadString(body, ref o, out var filter) || filter.Length == 0 || o == body.Length)
            {
                problem = "bad SUBSCRIBE filter";
                return false;
            }

            var qos = body[o++];
            if (qos > 2)
            {
                problem = "bad SUBSCRIBE QoS";
                return false;
            }

            filters.Add((filter, qos));
        }

        problem = "";
        return true;
    }

    /// <summary>Reads an UNSUBSCRIBE body: its packet id and topic filters; false (with the <paramref name="problem"/>) when malformed.</summary>
    public static bool TryReadUnsubscribe(ReadOnlySpan<byte> body, out ushort packetId, out List<string> filters, out string problem)
    {
        filters = new List<string>(1);
        var o = 0;
        if (!MqttCodec.TryReadUInt16(body, ref o, out packetId) || packetId == 0 || o == body.Length)
        {
            problem = "bad UNSUBSCRIBE";
            return false;
        }

        while (o < body.Length)
        {
            if (!MqttCodec.TryReadString(body, ref o, out var filter) || filter.Length == 0)
            {
                problem = "bad UNSUBSCRIBE filter";
                return false;
            }

            filters.Add(filter);
        }

        problem = "";
        return true;
    }

    /// <summary>The size of a SUBACK with <paramref name="count"/> return codes, fixed header included.</summary>
    public static int SubAckLength(int count) => MqttCodec.FixedHeaderLength(2 + count) + 2 + count;

    /// <summary>Writes a whole SUBACK: the packet id, then one return code per filter (0–2 the granted QoS, 0x80 refused).</summary>
    public static void WriteSubAck(Span<byte> destination, ushort packetId, IReadOnlyList<byte> codes)
    {
        var w = MqttCodec.WriteFixedHeader(destination, 0x90, 2 + codes.Count);
        BinaryPrimitives.WriteUInt16BigEndian(destination[w..], packetId);
        w += 2;
        foreach (var code in codes)
        {
            destination[w++] = code;
        }
    }
}
