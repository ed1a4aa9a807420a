using Edge.Hub.IoTHub;
using Edge.Hub.Security;
using Edge.Hub.Storage;

namespace Edge.Hub.Tests;

/// <summary>Pure parsing and authorization rules of the hub, table-driven (topic parsing and merge patch: tests/Edge.Protocol.Tests).</summary>
public sealed class ParsingTests
{
    [Theory]
    [InlineData("hub/dev1/mod1/?api-version=2020-09-30", "dev1", "mod1", "")]
    [InlineData("gw/dev1/mod1/?api-version=2021-04-12&DeviceClientType=x%2F1", "dev1", "mod1", "")]
    [InlineData("hub/dev1/?api-version=2020-09-30", "dev1", null, "")]
    [InlineData("hub/dev1/mod1/api-version=2020-09-30", "dev1", "mod1", "")]
    [InlineData("hub/dev1/mod1/?DeviceClientType=x", null, null, "missing-api-version")]
    [InlineData("hub/dev1/mod1/?api-version=", null, null, "missing-api-version")]
    [InlineData("hub/dev1/mod1", null, null, "missing-api-version")]
    [InlineData("hub//mod1/?api-version=1", null, null, "bad-username")]
    [InlineData("hub/a/b/c/?api-version=1", null, null, "bad-username")]
    [InlineData("", null, null, "bad-username")]
    public void TryParseUsername_Cases_IdentityOrReason(string username, string? device, string? module, string reason)
    {
        var ok = ConnectAuthenticator.TryParseUsername(username, out var id, out var why);
        ok.ShouldBe(reason.Length == 0);
        why.ShouldBe(reason);
        if (ok)
        {
            id.DeviceId.ShouldBe(device);
            id.ModuleId.ShouldBe(module);
        }
    }

    [Theory]
    [InlineData("devices/d/modules/m/#", true)]
    [InlineData("devices/d/modules/m/inputs/x", true)]
    [InlineData("$iothub/twin/res/#", true)]
    [InlineData("$iothub/twin/PATCH/properties/desired/#", true)]
    [InlineData("$iothub/methods/POST/#", true)]
    [InlineData("devices/d/modules/other/#", false)]
    [InlineData("devices/d/modules/#", false)]
    [InlineData("devices/#", false)]
    [InlineData("#", false)]
    [InlineData("$iothub/#", false)]
    [InlineData("devices/d/messages/devicebound/#", false)]
    public void IsAllowedFilter_Module_OnlyItsOwnTopics(string filter, bool allowed) =>
        IoTHubProtocol.IsAllowedFilter(new ClientIdentity("d", "m"), filter).ShouldBe(allowed);

    [Fact]
    public void IsAllowedFilter_Device_C2dOnly() =>
        IoTHubProtocol.IsAllowedFilter(new ClientIdentity("d", null), "devices/d/messages/devicebound/#").ShouldBeTrue();

    [Fact]
    public void ETag_ChangesWithDesiredVersionOnly()
    {
        var twin = new TwinDocument();
        var before = twin.ETag;
        twin.ReportedVersion++;
        twin.ETag.ShouldBe(before);
        twin.DesiredVersion++;
        twin.ETag.ShouldNotBe(before);
    }
}
