using System.Text.Json.Nodes;
using Edge.Runtime;
using Edge.Protocol;
using Edge.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using OpenCvSharp;

namespace CameraCapture.Tests;

/// <summary>The real module host (runtime ModuleClient, SQLite outbox, MQTT over TLS) against the test edgeHub broker.</summary>
public sealed class FrameThroughHubTests
{
    [Fact]
    public async Task Frame_ThroughHub_ArrivesWithPropertiesAndDecodesToTheCapturedImage()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("capture-hub");
        var images = Path.Combine(dir.Path, "images");
        Directory.CreateDirectory(images);
        using (var messi = Cv2.ImRead(Assets.Messi))
        {
            Cv2.ImWrite(Path.Combine(images, "messi.png"), messi).ShouldBeTrue();
        }

        await using var broker = await TestBroker.StartAsync(dir.Path, moduleId: "capture");
        broker.SetDesired(JsonNode.Parse("""{"cameras":[{"id":"pitch","source":"folder:IMAGES","fps":2,"jpegQuality":95}]}""".Replace("IMAGES", images, StringComparison.Ordinal))!.AsObject(), 2);

        var builder = EdgeModule.CreateBuilder([]);
        builder.Configuration.AddInMemoryCollection(broker.ModuleEnvironment(Path.Combine(dir.Path, "state")).Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)));
        builder.Services.AddCameraCapture(builder.Configuration);
        var logs = new FakeLogCollector();
        builder.Logging.AddProvider(new FakeLoggerProvider(logs));
        using var host = builder.Build();
        await host.StartAsync(ct);
        try
        {
            await TestBroker.WaitUntilAsync(() => broker.Events.Any(e => e.Topic.Contains("%24.on=frames", StringComparison.Ordinal)), TimeSpan.FromSeconds(20), "a frame on output 'frames'");
            var publish = broker.Events.First(e => e.Topic.Contains("%24.on=frames", StringComparison.Ordinal));
            publish.Topic.ShouldStartWith("devices/edge1/modules/capture/messages/events/");
            PropertyBag.TryDecode(publish.Topic["devices/edge1/modules/capture/messages/events/".Length..].TrimEnd('/'), out var bag).ShouldBeTrue();
            var props = bag.ToDictionary(p => p.Key, p => p.Value ?? "", StringComparer.Ordinal);
            props["$.ct"].ShouldBe("image/jpeg");
            props["cameraId"].ShouldBe("pitch");
            props["seq"].ShouldBe("1");
            props["width"].ShouldBe("548");
            props["height"].ShouldBe("342");
            props.ShouldContainKey("$.mid");
            props.ShouldContainKey("capturedAt");

            // The JPEG that arrived decodes to the captured image (lossy, so compared by PSNR).
            using var received = Cv2.ImDecode(publish.Payload, ImreadModes.Color);
            using var original = Cv2.ImRead(Assets.Messi);
            (received.Cols, received.Rows).ShouldBe((original.Cols, original.Rows));
            Cv2.PSNR(original, received).ShouldBeGreaterThan(30);

            // Direct methods and reported properties through the same connection.
            var (status, payload) = await broker.InvokeMethodAsync("getStatus", "{}", TimeSpan.FromSeconds(10));
            status.ShouldBe(200);
            JsonNode.Parse(payload)!["cameras"]!["pitch"]!["source"]!.GetValue<string>().ShouldStartWith("folder:");
            var (snapStatus, snap) = await broker.InvokeMethodAsync("snapshot", """{"cameraId":"pitch","maxBytes":20000}""", TimeSpan.FromSeconds(10));
            snapStatus.ShouldBe(200);
            using var snapImage = Cv2.ImDecode(Convert.FromBase64String(JsonNode.Parse(snap)!["image"]!.GetValue<string>()), ImreadModes.Color);
            snapImage.Empty().ShouldBeFalse();
            await TestBroker.WaitUntilAsync(
                () => broker.ReportedPatches.Any(p => p["cameraStatus"]?["pitch"] is not null),
                TimeSpan.FromSeconds(20),
                "camera status in reported properties");
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }

        logs.GetSnapshot().ShouldContain(r => r.Message.Contains("Camera pitch opened", StringComparison.Ordinal), "the module's logs are collected");
        logs.GetSnapshot().Where(r => r.Level >= Microsoft.Extensions.Logging.LogLevel.Error).Select(r => $"{r.Category}: {r.Message} {r.Exception}").ShouldBeEmpty();
    }
}
