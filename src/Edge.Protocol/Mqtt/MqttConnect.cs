using System.Buffers.Binary;
using System.Text;

namespace Edge.Protocol.Mqtt;

/// <summary>What <see cref="MqttConnect.TryRead"/> made of a CONNECT packet.</summary>
public enum ConnectStatus
{
    /// <summary>A well-formed MQTT 3.1.1 CONNECT.</summary>
    Valid,

    /// <summary>Not a valid CONNECT: close the connection without a CONNACK.</summary>
    Malformed,

    /// <summary>Another protocol level (e.g. 3.1's <c>MQIsdp</c>): answer CONNACK 1 (unacceptable protocol version).</summary>
    UnsupportedLevel,
}

/// <summary>
/// The fields of an MQTT 3.1.1 CONNECT that a server acts on. A will message is validated and dropped (edgeHub allows one;
/// the modules never set it).
/// </summary>
/// <param name="ClientId">The client identifier.</param>
/// <param name="Username">The user name, if the flags say there is one.</param>
/// <param name="Password">The password as UTF-8 text (IoT Hub: a SAS token), if present.</param>
/// <param name="CleanSession">Whether the client asked for a clean session.</param>
/// <param name="KeepAliveSeconds">The keep-alive the client promised (0: none).</param>
public sealed record MqttConnect(string ClientId, string? Username, string? Password, bool CleanSession, ushort KeepAliveSeconds)
{
    /// <summary>
    /// Reads a CONNECT body (after the fixed header). On <see cref="ConnectStatus.Malformed"/>, <paramref name="problem"/> says
    /// what is wrong; on <see cref="ConnectStatus.UnsupportedLevel"/>, <paramref name="level"/> is the level asked for.
    /// </summary>
    public static ConnectStatus TryRead(ReadOnlySpan<byte> body, out MqttConnect? connect, out string problem, out byte level)
    {
        connect = null;
        problem = "";
        level = 0;
        var o = 0;
        if (!MqttCodec.TryReadString(body, ref o, out var protocol) || body.Length - o < 4)
        {
            return Malformed("bad CONNECT header", out problem);
        }

        level = body[o];
        var flags = body[o + 1];
        var keepAlive = BinaryPrimitives.ReadUInt16BigEndian(body[(o + 2)..]);
        o += 4;
        if (protocol is not ("MQTT" or "MQIsdp"))
        {
            return Malformed($"protocol name '{protocol}'", out problem);
        }

        if (protocol != "MQTT" || level != 4)
        {
            return ConnectStatus.UnsupportedLevel;
        }

        var clean = (flags & 0x02) != 0;
        var will = (flags & 0x04) != 0;
        var willQos = (flags >> 3) & 3;
        var willRetain = (flags & 0x20) != 0;
        var hasPassword = (flags & 0x40) != 0;
        var hasUser = (flags & 0x80) != 0;
        if ((flags & 0x01) != 0 || willQos == 3 || (!will && (willQos != 0 || willRetain)) || (hasPassword && !hasUser))
        {
            return Malformed("bad CONNECT flags", out problem);
        }

        if (!MqttCodec.TryReadString(body, ref o, out var clientId))
        {
            return Malformed("bad client id", out problem);
        }

        if (will && (!MqttCodec.TryReadString(body, ref o, out _) || !MqttCodec.TryReadBinary(body, ref o, out _)))
        {
            return Malformed("bad will", out problem);
        }

        string? username = null;
        string? password = null;
        if (hasUser && !MqttCodec.TryReadString(body, ref o, out username))
        {
            return Malformed("bad username", out problem);
        }

        if (hasPassword)
        {
            if (!MqttCodec.TryReadBinary(body, ref o, out var pw))
            {
                return Malformed("bad password", out problem);
            }

            password = Encoding.UTF8.GetString(pw);
        }

        if (o != body.Length)
        {
            return Malformed("bytes after the CONNECT payload", out problem);
        }

        connect = new MqttConnect(clientId, username, password, clean, keepAlive);
        return ConnectStatus.Valid;
    }

    private static ConnectStatus Malformed(string why, out string problem)
    {
        problem = why;
        return ConnectStatus.Malformed;
    }
}
