using System.Text.Json.Nodes;
using Edge.Runtime;
using Edge.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace CameraCapture.Tests;

/// <summary><c>cameras</c> as a map keyed by camera id (the array form still accepted).</summary>
public sealed class CameraMapTests : IAsyncDisposable
{
    private readonly Harness _h = new();

    public ValueTask DisposeAsync() => _h.DisposeAsync();

    [Fact]
    public void TryBind_CameraMap_IdsFromKeysInKeyOrder()
    {
        using var service = NewService();

        service.TryBind(Json("""{"cameras":{"door":{"source":"synthetic","fps":2},"yard":{"source":"synthetic:320x240","jpegQuality":70}}}"""), out var settings, out var errors)
            .ShouldBeTrue(string.Join("; ", errors));

        settings.Cameras.Select(c => (c.Id, c.Source, c.Fps, c.JpegQuality)).ShouldBe([("door", "synthetic", 2.0, 85), ("yard", "synthetic:320x240", 5.0, 70)]);
    }

    [Fact]
    public void TryBind_ArrayForm_StillAccepted()
    {
        using var service = NewService();

        service.TryBind(Json("""{"cameras":[{"id":"door","source":"synthetic"}]}"""), out var settings, out _).ShouldBeTrue();

        settings.Cameras.ShouldHaveSingleItem().Id.ShouldBe("door");
    }

    [Fact]
    public void TryBind_CameraMapInvalidValues_ErrorsNameTheCameraKey()
    {
        using var service = NewService();

        service.TryBind(Json("""{"cameras":{"door":{"source":"synthetic","fps":500},"yard":{"source":"ftp://x/y","jpegQuality":0}}}"""), out _, out var errors).ShouldBeFalse();

        errors.ShouldContain(e => e.StartsWith("cameras.door.fps:", StringComparison.Ordinal));
        errors.ShouldContain(e => e.StartsWith("cameras.yard.source:", StringComparison.Ordinal));
        errors.ShouldContain(e => e.StartsWith("cameras.yard.jpegQuality:", StringComparison.Ordinal));
        errors.ShouldNotContain(e => e.Contains("cameras[", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"cameras":{"door":{"id":"gate","source":"synthetic"}}}""", "cameras.door.id: '\"gate\"' differs from its key 'door'")]
    [InlineData("""{"cameras":{"door":5}}""", "cameras.door: must be an object")]
    [InlineData("""{"cameras":{"door":{"source":"synthetic","colour":"red"}}}""", "colour")]
    public void TryBind_CameraMapMalformedEntry_RejectedWithOneLine(string desired, string expected)
    {
        using var service = NewService();

        service.TryBind(Json(desired), out var settings, out var errors).ShouldBeFalse();

        errors.ShouldHaveSingleItem().ShouldContain(expected);
        settings.Cameras.ShouldBeEmpty("the last good (here: default) settings stay");
    }

    [Fact]
    public void TryBind_CameraMapEntryNull_CameraNotConfigured()
    {
        using var service = NewService();

        service.TryBind(Json("""{"cameras":{"door":{"source":"synthetic"},"yard":null}}"""), out var settings, out _).ShouldBeTrue();

        settings.Cameras.Select(c => c.Id).ShouldBe(["door"]);
    }

    /// <summary>The real module host and runtime (twin merge, MQTT over TLS) against the test edgeHub broker.</summary>
    [Fact]
    public async Task DesiredMergePatch_OneCameraOfTheMap_ChangesOnlyThatCamera()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory("capture-map");
        await using var broker = await TestBroker.StartAsync(dir.Path, moduleId: "capture");
        broker.SetDesired(Json("""{"cameras":{"door":{"source":"synthetic:160x120@5","fps":5},"yard":{"source":"synthetic:160x120@5","fps":5,"jpegQuality":60}}}"""), 2);

        var builder = EdgeModule.CreateBuilder([]);
        builder.Configuration.AddInMemoryCollection(broker.ModuleEnvironment(Path.Combine(dir.Path, "state")).Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)));
        builder.Services.AddCameraCapture(builder.Configuration);
        var logs = new FakeLogCollector();
        builder.Logging.AddProvider(new FakeLoggerProvider(logs));
        using var host = builder.Build();
        await host.StartAsync(ct);
        try
        {
            await TestBroker.WaitUntilAsync(() => Applied(broker, 2) is not null, TimeSpan.FromSeconds(20), "version 2 applied");

            await broker.PatchDesiredAsync(Json("""{"cameras":{"yard":{"fps":1}}}"""));
            await TestBroker.WaitUntilAsync(() => Applied(broker, 3) is not null, TimeSpan.FromSeconds(20), "the patch applied");

            var cameras = Applied(broker, 3)!["cameras"]!.AsArray().Select(c => c!.AsObject()).ToDictionary(c => c["id"]!.GetValue<string>());
            cameras["yard"]["fps"]!.GetValue<double>().ShouldBe(1);
            cameras["yard"]["jpegQuality"]!.GetValue<int>().ShouldBe(60, "the rest of yard's settings stay");
            cameras["door"]["fps"]!.GetValue<double>().ShouldBe(5);
            cameras["door"]["source"]!.GetValue<string>().ShouldBe("synthetic:160x120@5");
            logs.GetSnapshot().ShouldContain(r => r.Message.Contains("2 camera(s) (0 added, 1 changed, 0 removed)", StringComparison.Ordinal));

            // null in the map removes one camera and keeps the other.
            await broker.PatchDesiredAsync(Json("""{"cameras":{"yard":null}}"""));
            await TestBroker.WaitUntilAsync(() => Applied(broker, 4) is not null, TimeSpan.FromSeconds(20), "the removal applied");
            Applied(broker, 4)!["cameras"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()).ShouldBe(["door"]);
        }
        finally
        {
            await host.StopAsync(ct);
        }
    }

    private static JsonObject? Applied(TestBroker broker, long version) =>
        broker.ReportedPatches.LastOrDefault(p => p["lastDesiredVersion"]?.GetValue<long>() == version && p["lastDesiredStatus"]?["code"]?.GetValue<int>() == 200 && p["cameras"] is not null);

    private static JsonObject Json(string json) => JsonNode.Parse(json)!.AsObject();

    private CaptureService NewService() => new(
        _h.Client,
        _h.Factory,
        _h.Metrics,
        _h.Time,
        Options.Create(new EdgeModuleOptions { StateDirectory = _h.StateDirectory }),
        new CaptureDefaults(new CaptureSettings(), []),
        new FakeLogger<CaptureService>());
}
