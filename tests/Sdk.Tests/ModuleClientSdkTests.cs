using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Edge.Hub;
using Microsoft.Azure.Devices.Client;
using Microsoft.Azure.Devices.Client.Transport.Mqtt;
using Microsoft.Azure.Devices.Shared;
using Microsoft.Extensions.Logging.Abstractions;

namespace Sdk.Tests;

/// <summary>
/// A module on the real Azure IoT device SDK, over MQTT (Mqtt_Tcp_Only), against the simulator. The SDK dials port 8883
/// whatever the connection string says, so eng/sdk-test.sh runs these tests in a private network namespace.
/// </summary>
public sealed class ModuleClientSdkTests : IAsyncLifetime
{
    private const string Module = "sdkmodule";
    private readonly string _dir = Directory.CreateTempSubdirectory("edge-sdk-test-").FullName;
    private EdgeHubSimulator _sim = null!;
    private X509Certificate2 _ca = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var deployment = new JsonObject
        {
            ["$edgeHub"] = new JsonObject
            {
                ["properties.desired"] = new JsonObject
                {
                    ["schemaVersion"] = "1.1",
                    ["routes"] = new JsonObject { ["up"] = $"FROM /messages/modules/{Module}/* INTO $upstream" },
                    ["storeAndForwardConfiguration"] = new JsonObject { ["timeToLiveSecs"] = 7200 },
                },
            },
            [Module] = new JsonObject { ["properties.desired"] = new JsonObject { ["setting"] = "initial" } },
        };
        _sim = await EdgeHubSimulator.StartAsync(
            new SimulatorOptions { StateDirectory = _dir, DeviceId = "dev1", MqttPort = 8883, Deployment = deployment },
            NullLoggerFactory.Instance,
            TimeProvider.System,
            Ct);
        _ca = X509CertificateLoader.LoadCertificateFromFile(_sim.CaCertificatePath);
    }

    public async ValueTask DisposeAsync()
    {
        await _sim.DisposeAsync();
        _ca.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task DeviceSdk_ModuleOverMqtt_TwinsMessagesAndMethods()
    {
        using var client = Create();
        await client.OpenAsync(Ct);

        // Twin get: the deployment's desired properties.
        var twin = await client.GetTwinAsync(Ct);
        ((string)twin.Properties.Desired["setting"]).ShouldBe("initial");

        // Reported patch, and null deletes.
        await client.UpdateReportedPropertiesAsync(new TwinCollection("""{"fps":15,"gone":1}"""), Ct);
        await client.UpdateReportedPropertiesAsync(new TwinCollection("""{"gone":null}"""), Ct);
        var reported = (await _sim.GetModuleTwinAsync(Module, Ct))["reported"]!.AsObject();
        reported["fps"]!.GetValue<int>().ShouldBe(15);
        reported.ContainsKey("gone").ShouldBeFalse();

        // Desired-patch callback.
        var desired = new TaskCompletionSource<TwinCollection>(TaskCreationOptions.RunContinuationsAsynchronously);
        await client.SetDesiredPropertyUpdateCallbackAsync((patch, _) => { desired.TrySetResult(patch); return Task.CompletedTask; }, null, Ct);
        await _sim.PatchModuleDesiredAsync(Module, new JsonObject { ["setting"] = "changed" }, Ct);
        ((string)(await desired.Task.WaitAsync(TimeSpan.FromSeconds(15), Ct))["setting"]).ShouldBe("changed");

        // SendEventAsync to an output, routed upstream with its properties.
        var upstream = _sim.ReadUpstreamAsync(Ct).GetAsyncEnumerator(Ct);
        using var message = new Message(Encoding.UTF8.GetBytes("""{"n":1}""")) { ContentType = "application/json", ContentEncoding = "utf-8" };
        message.Properties["kind"] = "sdk";
        await client.SendEventAsync("out1", message, Ct);
        (await upstream.MoveNextAsync()).ShouldBeTrue();
        upstream.Current.OutputName.ShouldBe("out1");
        upstream.Current.Properties["kind"].ShouldBe("sdk");
        Encoding.UTF8.GetString(upstream.Current.Body.Span).ShouldBe("""{"n":1}""");

        // SendEventAsync with no output: the source is /messages/modules/{module}.
        using var plain = new Message(Encoding.UTF8.GetBytes("plain"));
        await client.SendEventAsync(plain, Ct);
        (await upstream.MoveNextAsync()).ShouldBeTrue();
        upstream.Current.OutputName.ShouldBeNull();
        upstream.Current.SourceModuleId.ShouldBe(Module);

        // Direct methods: 200 from a handler, 501 with none.
        await client.SetMethodHandlerAsync("ping", (request, _) => Task.FromResult(new MethodResponse(Encoding.UTF8.GetBytes("""{"pong":true}"""), 200)), null, Ct);

        // The hub answers 404 at once while it does not yet list the subscription (seen here: the SDK's handler call had
        // returned but an immediate invocation got 404 in 1 run of 4), so wait for the hub to list it.
        await EventuallyAsync(() => _sim.GetStatus().Clients.Any(c => c.ClientId.EndsWith("/" + Module, StringComparison.Ordinal) && c.MethodsSubscribed));
        var (status, payload) = await _sim.InvokeMethodAsync(Module, "ping", new JsonObject(), TimeSpan.FromSeconds(15), Ct);
        status.ShouldBe(200);
        payload!["pong"]!.GetValue<bool>().ShouldBeTrue();
        var (missing, _) = await _sim.InvokeMethodAsync(Module, "nosuch", new JsonObject(), TimeSpan.FromSeconds(15), Ct);
        missing.ShouldBe(501);

        await client.CloseAsync(Ct);

        // A new client after close (the SDK cannot reopen a closed instance) connects and reads its twin.
        using var again = Create();
        await again.OpenAsync(Ct);
        ((string)(await again.GetTwinAsync(Ct)).Properties.Desired["setting"]).ShouldBe("changed");
        await again.CloseAsync(Ct);
    }

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(15);
        while (!condition())
        {
            TimeProvider.System.GetUtcNow().ShouldBeLessThan(deadline, "the hub never listed the module's method subscription");
            await Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System, Ct);
        }
    }

    private ModuleClient Create()
    {
        var mqtt = new MqttTransportSettings(TransportType.Mqtt_Tcp_Only) { RemoteCertificateValidationCallback = ValidateAgainstHubCa };
        return ModuleClient.CreateFromConnectionString(_sim.GetModuleConnectionString(Module), new ITransportSettings[] { mqtt });
    }

    // Trust this hub's CA only (EdgeModuleCACertificateFile would install it into the user's root store for good).
    private bool ValidateAgainstHubCa(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var server = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var own = new X509Chain();
        own.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        own.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        own.ChainPolicy.CustomTrustStore.Add(_ca);
        return own.Build(server);
    }
}
