using System.Text;
using System.Text.Json.Nodes;
using Edge.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Edge.Hub.Tests;

/// <summary>The real module runtime (ModuleClient, durable outbox) against the simulator, configured the way `edge hub` prints it.</summary>
public sealed class ModuleClientRoundTripTests
{
    private static IHost BuildModule(EdgeHubSimulator sim, string module, string stateRoot)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["EdgeHubConnectionString"] = sim.GetModuleConnectionString(module),
            ["EdgeModuleCACertificateFile"] = sim.CaCertificatePath,
            ["EdgeHubPort"] = sim.MqttPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["StateDirectory"] = Path.Combine(stateRoot, module),
            ["RuntimeLogLevel"] = "warning",
        });
        builder.Services.AddEdgeModule(builder.Configuration);
        return builder.Build();
    }

    [Fact]
    public async Task ModuleClient_OutputToInputAndReportedProperties_RoundTripThroughSimulator()
    {
        await using var host = await HubTestHost.StartAsync(HubTestHost.Deployment(HubTestHost.Routes(
            ("m2m", "FROM /messages/modules/camera/outputs/frames INTO BrokeredEndpoint(\"/modules/inference/inputs/frames\")", null, null)),
            7200, "camera", "inference"));
        var modulesDir = Path.Combine(host.StateDirectory, "modules");
        using var camera = BuildModule(host.Sim, "camera", modulesDir);
        using var inference = BuildModule(host.Sim, "inference", modulesDir);
        var received = new TaskCompletionSource<InputMessageArguments>(TaskCreationOptions.RunContinuationsAsynchronously);
        var inferenceClient = inference.Services.GetRequiredService<IModuleClient>();
        inferenceClient.SetInputHandler("frames", (args, _) =>
        {
            received.TrySetResult(args);
            return Task.CompletedTask;
        });
        await inference.StartAsync(HubTestHost.Ct);
        await camera.StartAsync(HubTestHost.Ct);

        var cameraClient = camera.Services.GetRequiredService<IModuleClient>();
        await cameraClient.SendAsync("frames", new EdgeMessage
        {
            Body = Encoding.UTF8.GetBytes("{\"frame\":1}"),
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            Properties = new Dictionary<string, string> { ["camera"] = "front" },
        }, HubTestHost.Ct);

        var got = await received.Task.WaitAsync(HubTestHost.Wait, TimeProvider.System, HubTestHost.Ct);
        Encoding.UTF8.GetString(got.Message.Body.Span).ShouldBe("{\"frame\":1}");
        got.Message.Properties["camera"].ShouldBe("front");
        got.SenderModuleId.ShouldBe("camera");
        got.Message.ContentType.ShouldBe("application/json");

        await inferenceClient.ReportPropertiesAsync(new JsonObject { ["model"] = "blazeface" }, HubTestHost.Ct);
        await HubTestHost.EventuallyAsync(() =>
            host.Sim.GetModuleTwinAsync("inference", HubTestHost.Ct).GetAwaiter().GetResult()["reported"]?["model"]?.GetValue<string>() == "blazeface",
            "the reported property to reach the hub");

        await camera.StopAsync(HubTestHost.Ct);
        await inference.StopAsync(HubTestHost.Ct);
    }
}
