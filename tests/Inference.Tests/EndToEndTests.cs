using System.Text.Json.Nodes;
using Edge.Runtime;
using Edge.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Testing;

namespace Inference.Tests;

/// <summary>The module as it runs: the real host, ModuleClient over MQTT/TLS to the test edgeHub, the real BlazeFace model.</summary>
public sealed class EndToEndTests
{
    [Fact]
    public async Task Module_FrameOverMqtt_PublishesDetectionsAndAnswersMethodsAndTwin()
    {
        using var dir = new TempDirectory("inference-e2e");
        await using var broker = await TestBroker.StartAsync(Path.Combine(dir.Path, "broker"), moduleId: "inference");
        var collector = new FakeLogCollector();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(broker.ModuleEnvironment(Path.Combine(dir.Path, "state")).Select(kv => KeyValuePair.Create(kv.Key, (string?)kv.Value)))
        {
            ["Inference__AnnotatedFps"] = "0",
            ["Inference__HeartbeatSeconds"] = "0",
        }.Select(kv => KeyValuePair.Create(kv.Key.Replace("__", ":", StringComparison.Ordinal), kv.Value)));
        builder.Services.AddEdgeModule(builder.Configuration);
        builder.Services.AddInference(builder.Configuration);
        builder.Services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(new FakeLoggerProvider(collector));
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var models = host.Services.GetRequiredService<Models.ModelManager>();
            var client = host.Services.GetRequiredService<IModuleClient>();
            await TestBroker.WaitUntilAsync(() => models.Status.Status == "ready" && client.State == ConnectionState.Connected,
                TimeSpan.FromSeconds(30), "the model to load and the client to subscribe");

            using var frame = BlazeFaceTests.MegamindFrame100();
            await broker.SendInputAsync("frames", frame.ImEncode(".jpg"),
            [
                new("cameraId", "cam1"), new("seq", "100"), new("capturedAt", "2026-11-25T12:00:00Z"), new("width", "720"), new("height", "528"),
            ]);
            await TestBroker.WaitUntilAsync(() => broker.Events.Any(e => e.Topic.Contains("detections", StringComparison.Ordinal)), TimeSpan.FromSeconds(30), "a detections message");

            var published = broker.Events.First(e => e.Topic.Contains("detections", StringComparison.Ordinal));
            published.Topic.ShouldContain("cameraId=cam1");
            published.Topic.ShouldContain("seq=100");
            var body = JsonNode.Parse(published.Payload)!;
            var face = body["detections"]!.AsArray().ShouldHaveSingleItem()!;
            face["label"]!.GetValue<string>().ShouldBe("face");
            face["score"]!.GetValue<float>().ShouldBeGreaterThan(0.8f);
            (face["box"]!["x"]!.GetValue<float>() * 720).ShouldBe(420, 8);

            var (status, payload) = await broker.InvokeMethodAsync("getStatus", null, TimeSpan.FromSeconds(10));
            status.ShouldBe(200);
            JsonNode.Parse(payload)!["stats"]!["framesProcessed"]!.GetValue<long>().ShouldBe(1);

            await broker.PatchDesiredAsync(new JsonObject { ["thresholds"] = new JsonObject { ["minScore"] = 1.5 } });
            await TestBroker.WaitUntilAsync(() => broker.Reported.ToJsonString().Contains("thresholds.minScore", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the rejection to be reported");
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }

        collector.GetSnapshot().Where(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Error).ShouldBeEmpty();
    }
}
