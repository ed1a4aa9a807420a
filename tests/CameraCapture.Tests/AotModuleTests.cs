using System.Text.Json.Nodes;
using Edge.Protocol;
using Edge.TestSupport;
using OpenCvSharp;

namespace CameraCapture.Tests;

/// <summary>CameraCapture published as Native AOT once per run (what the images ship), run as a real process.</summary>
public sealed class CameraCaptureAotFixture : IAsyncLifetime
{
    public string? Executable { get; private set; }

    public string? SkipReason { get; private set; }

    public async ValueTask InitializeAsync()
    {
        SkipReason = ModuleProcess.AotToolchainMissing();
        if (SkipReason is null)
        {
            Executable = await ModuleProcess.PublishAotAsync("modules/CameraCapture/CameraCapture.csproj", ["src/Edge.Runtime", "modules/CameraCapture"], TestContext.Current.CancellationToken);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Trimming breaks reflection silently at run time: the AOT binary is checked end to end against the TLS test broker.</summary>
public sealed class AotModuleTests(CameraCaptureAotFixture aot) : IClassFixture<CameraCaptureAotFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task CameraCaptureAot_SyntheticAndFolderCameras_SendDecodableJpegsAndValidateSettings()
    {
        Assert.SkipWhen(aot.SkipReason is not null, aot.SkipReason ?? "");
        using var dir = new TempDirectory("capture-aot");
        var images = Path.Combine(dir.Path, "images");
        Directory.CreateDirectory(images);
        using (var messi = Cv2.ImRead(Assets.Messi))
        {
            Cv2.ImWrite(Path.Combine(images, "messi.png"), messi).ShouldBeTrue();
        }

        await using var broker = await TestBroker.StartAsync(dir.Path, moduleId: "capture");
        broker.SetDesired(JsonNode.Parse("""
            {"cameras":[
              {"id":"synth","source":"synthetic:320x240@10","fps":5,"transport":"inline"},
              {"id":"pitch","source":"folder:IMAGES","fps":2,"jpegQuality":95,"motion":{"enabled":false}}]}
            """.Replace("IMAGES", images, StringComparison.Ordinal))!.AsObject(), 2);
        var env = broker.ModuleEnvironment(Path.Combine(dir.Path, "state"));
        env["RuntimeLogLevel"] = "warning";
        await using var p = ModuleProcess.Start(aot.Executable!, env);

        // Frames from both cameras, JPEGs that decode (the folder one to the captured image).
        try
        {
            await TestBroker.WaitUntilAsync(() => Frame(broker, "synth") is not null && Frame(broker, "pitch") is not null, Wait, "a frame from each camera");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "\n" + p.Output, ex);
        }

        var (synthProps, synthJpeg) = Frame(broker, "synth")!.Value;
        synthProps["$.ct"].ShouldBe("image/jpeg");
        (synthProps["width"], synthProps["height"]).ShouldBe(("320", "240"));
        using (var synth = Cv2.ImDecode(synthJpeg, ImreadModes.Color))
        {
            (synth.Cols, synth.Rows).ShouldBe((320, 240));
        }

        using (var received = Cv2.ImDecode(Frame(broker, "pitch")!.Value.Jpeg, ImreadModes.Color))
        using (var original = Cv2.ImRead(Assets.Messi))
        {
            (received.Cols, received.Rows).ShouldBe((original.Cols, original.Rows));
            Cv2.PSNR(original, received).ShouldBeGreaterThan(30);
        }

        // The applied settings are reported in their JSON form (camelCase enum values).
        await TestBroker.WaitUntilAsync(() => Reported(broker, 2) is not null, Wait, "the applied settings reported\n" + p.Output);
        var applied = Reported(broker, 2)!;
        applied["cameras"]![0]!["transport"]!.GetValue<string>().ShouldBe("inline");
        applied["cameras"]![1]!["jpegQuality"]!.GetValue<int>().ShouldBe(95);

        // Invalid patches are rejected with the path and the DataAnnotations message; the cameras keep running.
        await broker.PatchDesiredAsync(JsonNode.Parse("""{"cameras":[{"id":"synth","source":"synthetic:320x240@10","fps":500}]}""")!.AsObject());
        await TestBroker.WaitUntilAsync(() => Reported(broker, 3) is not null, Wait, "the rejection\n" + p.Output);
        Reported(broker, 3)!["lastDesiredStatus"]!["description"]!.GetValue<string>().ShouldBe("cameras[0].fps: The field Fps must be between 0.1 and 60.");
        await broker.PatchDesiredAsync(JsonNode.Parse("""{"cameras":[{"id":"bad id!","source":"synthetic:1x1"}]}""")!.AsObject());
        await TestBroker.WaitUntilAsync(() => Reported(broker, 4) is not null, Wait, "the second rejection\n" + p.Output);
        var problems = Reported(broker, 4)!["lastDesiredStatus"]!["description"]!.GetValue<string>();
        problems.ShouldContain("cameras[0].id: id must be 1-64 characters");
        problems.ShouldContain("cameras[0].source: synthetic", Case.Sensitive, problems);

        // Direct methods.
        var (status, payload) = await broker.InvokeMethodAsync("getStatus", "{}", Wait);
        status.ShouldBe(200, payload);
        JsonNode.Parse(payload)!["cameras"]!["synth"]!["source"]!.GetValue<string>().ShouldStartWith("synthetic");
        var (snapStatus, snap) = await broker.InvokeMethodAsync("snapshot", """{"cameraId":"pitch","maxBytes":20000}""", Wait);
        snapStatus.ShouldBe(200, snap);
        using (var snapImage = Cv2.ImDecode(Convert.FromBase64String(JsonNode.Parse(snap)!["image"]!.GetValue<string>()), ImreadModes.Color))
        {
            snapImage.Empty().ShouldBeFalse();
        }

        (await p.TerminateAsync(Wait)).ShouldBe(0, p.Output);
        p.Output.ShouldNotContain("fail:");
        p.Output.ShouldNotContain("crit:");
    }

    private static (Dictionary<string, string> Properties, byte[] Jpeg)? Frame(TestBroker broker, string camera)
    {
        const string prefix = "devices/edge1/modules/capture/messages/events/";
        foreach (var e in broker.Events.Where(e => e.Topic.Contains("%24.on=frames", StringComparison.Ordinal)))
        {
            PropertyBag.TryDecode(e.Topic[prefix.Length..].TrimEnd('/'), out var bag).ShouldBeTrue();
            var props = bag.ToDictionary(p => p.Key, p => p.Value ?? "", StringComparer.Ordinal);
            if (props.GetValueOrDefault("cameraId") == camera)
            {
                return (props, e.Payload);
            }
        }

        return null;
    }

    private static JsonObject? Reported(TestBroker broker, long version) =>
        broker.ReportedPatches.LastOrDefault(r => r["lastDesiredVersion"] is JsonValue v && v.GetValue<long>() == version);
}
