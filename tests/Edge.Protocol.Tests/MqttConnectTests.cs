using System.Text;
using Edge.Protocol.Mqtt;

namespace Edge.Protocol.Tests;

/// <summary>CONNECT and SUBSCRIBE/UNSUBSCRIBE bodies as a server reads them.</summary>
public sealed class MqttConnectTests
{
    private static byte[] Str(string s) => [.. new byte[] { 0, (byte)Encoding.UTF8.GetByteCount(s) }, .. Encoding.UTF8.GetBytes(s)];

    [Fact]
    public void TryRead_UserAndPassword_FieldsRead()
    {
        byte[] body = [.. Str("MQTT"), 4, 0xC2, 0, 60, .. Str("d/m"), .. Str("hub/d/m/?api-version=1"), .. Str("SharedAccessSignature x")];

        MqttConnect.TryRead(body, out var connect, out var problem, out _).ShouldBe(ConnectStatus.Valid, problem);

        connect.ShouldBe(new MqttConnect("d/m", "hub/d/m/?api-version=1", "SharedAccessSignature x", CleanSession: true, KeepAliveSeconds: 60));
    }

    [Theory]
    [InlineData(new byte[] { 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4, 0x03, 0, 0, 0, 0 }, "bad CONNECT flags")]
    [InlineData(new byte[] { 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'X', 4, 0x02, 0, 0, 0, 0 }, "protocol name 'MQTX'")]
    [InlineData(new byte[] { 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4, 0x02, 0, 0, 0, 0, 9 }, "bytes after the CONNECT payload")]
    [InlineData(new byte[] { 0, 4, (byte)'M', (byte)'Q', (byte)'T', (byte)'T', 4, 0x42, 0, 0, 0, 0 }, "bad CONNECT flags")]
    public void TryRead_Malformed_SaysWhat(byte[] body, string why)
    {
        MqttConnect.TryRead(body, out var connect, out var problem, out _).ShouldBe(ConnectStatus.Malformed);
        connect.ShouldBeNull();
        problem.ShouldBe(why);
    }

    [Fact]
    public void TryRead_Mqtt31_UnsupportedLevel()
    {
        byte[] body = [.. Str("MQIsdp"), 3, 0x02, 0, 0, .. Str("c")];

        MqttConnect.TryRead(body, out _, out _, out var level).ShouldBe(ConnectStatus.UnsupportedLevel);
        level.ShouldBe((byte)3);
    }

    [Fact]
    public void Subscribe_ReadThenSubAck_SpecLayout()
    {
        byte[] body = [0, 9, .. Str("a/#"), 1, .. Str("b"), 2];

        MqttSubscriptions.TryReadSubscribe(body, out var id, out var filters, out _).ShouldBeTrue();
        (id, filters.Count).ShouldBe(((ushort)9, 2));
        filters.ShouldBe([("a/#", (byte)1), ("b", (byte)2)]);
        var suback = new byte[MqttSubscriptions.SubAckLength(2)];
        MqttSubscriptions.WriteSubAck(suback, id, [1, 0x80]);
        suback.ShouldBe(new byte[] { 0x90, 4, 0, 9, 1, 0x80 });
        MqttSubscriptions.TryReadSubscribe([0, 9, .. Str("a"), 3], out _, out _, out var problem).ShouldBeFalse();
        problem.ShouldBe("bad SUBSCRIBE QoS");
    }

    [Fact]
    public void Unsubscribe_EmptyFilter_Malformed()
    {
        MqttSubscriptions.TryReadUnsubscribe([0, 10, .. Str("x"), .. Str("y")], out var id, out var filters, out _).ShouldBeTrue();
        (id, string.Join(",", filters)).ShouldBe(((ushort)10, "x,y"));
        MqttSubscriptions.TryReadUnsubscribe([0, 10, 0, 0], out _, out _, out var problem).ShouldBeFalse();
        problem.ShouldBe("bad UNSUBSCRIBE filter");
    }
}
