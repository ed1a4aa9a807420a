namespace Edge.Protocol.Tests;

/// <summary>IoT Hub topic names: the inbound telemetry templates edgeHub accepts, and the twin/method query values.</summary>
public sealed class IoTHubTopicsTests
{
    [Theory]
    [InlineData("devices/d/modules/m/messages/events/", "d", "m", 0)]
    [InlineData("devices/d/modules/m/messages/events", "d", "m", 0)]
    [InlineData("devices/d/modules/m/messages/events/%24.on=o&a=1/", "d", "m", 2)]
    [InlineData("devices/d/modules/m/messages/events/%24.on=o&a=1", "d", "m", 2)]
    [InlineData("devices/d/messages/events/a=1/", "d", null, 1)]
    [InlineData("devices/d/messages/events", "d", null, 0)]
    public void TryParseTelemetry_InboundTemplates_Parsed(string topic, string device, string? module, int props)
    {
        IoTHubTopics.TryParseTelemetry(topic, out var parsed, out var badBag).ShouldBeTrue();
        badBag.ShouldBeFalse();
        parsed!.DeviceId.ShouldBe(device);
        parsed.ModuleId.ShouldBe(module);
        parsed.Properties.Count.ShouldBe(props);
    }

    [Fact]
    public void TryParseTelemetry_Bag_KeysUnescapedInWireOrder()
    {
        IoTHubTopics.TryParseTelemetry("devices/d/modules/m/messages/events/%24.on=out&k%20ey=v%2F1&flag", out var parsed, out _).ShouldBeTrue();

        parsed!.Properties.ShouldBe([new("$.on", "out"), new("k ey", "v/1"), new("flag", null)]);
    }

    [Theory]
    [InlineData("devices/d/modules/m/messages/events/a=1/b=2/", false)]
    [InlineData("devices/d/modules/m/inputs/x/", false)]
    [InlineData("devices/d/messages/devicebound/", false)]
    [InlineData("devices//messages/events/", false)]
    [InlineData("devices/d/modules/m/messages/events/a=1=2/", true)]
    public void TryParseTelemetry_OtherTopics_Rejected(string topic, bool badBag)
    {
        IoTHubTopics.TryParseTelemetry(topic, out _, out var bad).ShouldBeFalse();
        bad.ShouldBe(badBag);
    }

    [Theory]
    [InlineData("$iothub/twin/GET/?$rid=42", "$rid", "42")]
    [InlineData("$iothub/twin/PATCH/properties/reported/?$rid=a%20b&$version=3", "$version", "3")]
    [InlineData("$iothub/twin/PATCH/properties/reported/?$rid=a%20b&$version=3", "$rid", "a b")]
    [InlineData("$iothub/twin/GET/", "$rid", null)]
    [InlineData("$iothub/twin/GET/?$version=1", "$rid", null)]
    public void QueryValue_Cases_ValueOrNull(string topic, string key, string? expected) =>
        IoTHubTopics.QueryValue(topic, key).ShouldBe(expected);

    [Fact]
    public void SystemToWire_RoundTripsWithWireToSystem_ExceptWhatIsNotForwarded()
    {
        foreach (var (wire, name) in IoTHubTopics.WireToSystem)
        {
            if (name == "outputName")
            {
                IoTHubTopics.SystemToWire.ContainsKey(name).ShouldBeFalse("$.on is not forwarded to a module input");
                continue;
            }

            if (IoTHubTopics.SystemToWire.TryGetValue(name, out var back))
            {
                back.ShouldBe(wire);
            }
        }

        IoTHubTopics.ModuleInput("d", "m", "in", "a=1").ShouldBe("devices/d/modules/m/inputs/in/a=1");
    }
}
