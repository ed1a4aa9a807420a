using System.Text.Json.Nodes;
using Edge.Runtime.Auth;
using Edge.Protocol;
using Edge.TestSupport;
using Microsoft.Extensions.Configuration;
using MQTTnet.Protocol;

namespace Edge.Runtime.Tests;

public sealed class WorkloadTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("runtime-workload");
    private TestBroker _broker = null!;
    private FakeWorkloadApi _workload = null!;

    public async ValueTask InitializeAsync()
    {
        _broker = await TestBroker.StartAsync(_dir.Path);
        _workload = new FakeWorkloadApi(Path.Combine(_dir.Path, "workload.sock"), _broker.SharedKey, _broker.Certificates.CaPem);
    }

    public async ValueTask DisposeAsync()
    {
        await _workload.DisposeAsync();
        await _broker.DisposeAsync();
        _dir.Dispose();
    }

    private IConfiguration EdgeEnvironment() => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["IOTEDGE_WORKLOADURI"] = _workload.Uri,
        ["IOTEDGE_DEVICEID"] = _broker.DeviceId,
        ["IOTEDGE_MODULEID"] = _broker.ModuleId,
        ["IOTEDGE_MODULEGENERATIONID"] = "gen 1",
        ["IOTEDGE_IOTHUBHOSTNAME"] = _broker.HubHostName,
        ["IOTEDGE_GATEWAYHOSTNAME"] = "localhost",
        ["IOTEDGE_AUTHSCHEME"] = "sasToken",
        ["EdgeHubPort"] = _broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
    }).Build();

    [Fact]
    public async Task WorkloadSign_SpecRequest_TokenVerifiesWithModuleKey()
    {
        var settings = EdgeHubSettings.FromConfiguration(EdgeEnvironment());
        var token = await settings.Tokens.GetTokenAsync(DateTimeOffset.FromUnixTimeSeconds(1767225600), TestContext.Current.CancellationToken);
        token.Resource.ShouldBe("testhub.azure-devices.net%2Fdevices%2Fedge1%2Fmodules%2Fmod1");
        token.ExpiresAtUnixSeconds.ShouldBe(1767225600);
        token.IsSignedWith(_broker.SharedKey).ShouldBeTrue();

        var request = _workload.Requests.Single();
        request.Method.ShouldBe("POST");
        request.PathAndQuery.ShouldBe("/modules/mod1/genid/gen%201/sign?api-version=2018-06-28");
        var body = JsonNode.Parse(request.Body)!.AsObject();
        body["keyId"]!.GetValue<string>().ShouldBe("primary");
        body["algo"]!.GetValue<string>().ShouldBe("HMACSHA256");
        Convert.FromBase64String(body["data"]!.GetValue<string>()).ShouldBe(System.Text.Encoding.UTF8.GetBytes("testhub.azure-devices.net%2Fdevices%2Fedge1%2Fmodules%2Fmod1\n1767225600"));
    }

    [Fact]
    public async Task WorkloadSign_ServerError_ThrowsWithStatus()
    {
        _workload.FailWith = 403;
        var settings = EdgeHubSettings.FromConfiguration(EdgeEnvironment());
        var ex = await Should.ThrowAsync<WorkloadException>(async () => await settings.Tokens.GetTokenAsync(DateTimeOffset.FromUnixTimeSeconds(1767225600), TestContext.Current.CancellationToken));
        ex.Status.ShouldBe(403);
        ex.Message.ShouldContain("injected failure");
    }

    [Fact]
    public async Task Connect_IotEdgeEnvironment_TrustBundleAndSignedTokenAccepted()
    {
        var config = EdgeEnvironment();
        await using var h = ClientHarness.Create(_broker, Path.Combine(_dir.Path, "state"), adjust: _ => EdgeHubSettings.FromConfiguration(config));
        await h.StartAndWaitConnectedAsync();
        _broker.Connects.Single().Result.ShouldBe(MqttConnectReasonCode.Success);
        _workload.Requests.ShouldContain(r => r.PathAndQuery == "/trust-bundle?api-version=2018-06-28");
        SasToken.TryParse(_broker.Connects.Single().Password, out var t, out _).ShouldBeTrue();
        t!.IsSignedWith(_broker.SharedKey).ShouldBeTrue();
    }
}
