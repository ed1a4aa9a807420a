using System.Globalization;
using System.Text.Json.Nodes;
using Edge.TestSupport;
using MQTTnet.Protocol;

namespace Edge.Runtime.Tests;

/// <summary>
/// A module published as Native AOT once per run (what the module images ship; see <see cref="ModuleProcess.PublishAotAsync"/>).
/// Trimming breaks reflection silently at run time, so the binary is run for real.
/// </summary>
public abstract class AotModuleFixture(string project, string[] inputs) : IAsyncLifetime
{
    public string? Executable { get; private set; }

    public string? SkipReason { get; private set; }

    public async ValueTask InitializeAsync()
    {
        SkipReason = ModuleProcess.AotToolchainMissing();
        if (SkipReason is null)
        {
            Executable = await ModuleProcess.PublishAotAsync(project, inputs, TestContext.Current.CancellationToken);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>LoadGen as Native AOT.</summary>
public sealed class LoadGenAotFixture() : AotModuleFixture("tests/LoadGen/LoadGen.csproj", ["src/Edge.Runtime", "tests/LoadGen"]);

public sealed class AotModuleTests(LoadGenAotFixture aot) : BrokerTestBase("runtime-aot"), IClassFixture<LoadGenAotFixture>
{
    [Fact]
    public async Task LoadGenAot_OverTls_ConnectsSendsAppliesDesiredAnswersMethodsAndStopsCleanly()
    {
        Assert.SkipWhen(aot.SkipReason is not null, aot.SkipReason ?? "");
        var ct = TestContext.Current.CancellationToken;
        var env = Broker.ModuleEnvironment(State);
        env["LoadGen__Rate"] = "100";
        env["LoadGen__Source"] = "aot";
        env["RuntimeLogLevel"] = "warning";
        await using var p = ModuleProcess.Start(aot.Executable!, env);

        // Connected over TLS (SAS), full twin read, the settings reported.
        await TestBroker.WaitUntilAsync(() => Broker.Connects.Any(c => c.Result == MqttConnectReasonCode.Success), Wait, "a TLS connect\n" + p.Output);
        await TestBroker.WaitUntilAsync(() => Reported(1) is not null, Wait, "the reported settings\n" + p.Output);
        Broker.Publishes.ShouldContain(m => m.Topic.StartsWith("$iothub/twin/GET/", StringComparison.Ordinal));
        Reported(1)!["loadGen"]!["properties"]!.AsArray().ShouldBeEmpty();

        // Sequence-numbered telemetry.
        await TestBroker.WaitUntilAsync(() => VerifyEvents().DistinctCount("aot") >= 50, Wait, "the first 50 messages\n" + p.Output);

        // A desired patch is validated (DataAnnotations over the source-generated metadata) and applied to what is sent next.
        await Broker.PatchDesiredAsync(new JsonObject { ["loadGen"] = new JsonObject { ["properties"] = new JsonArray(new JsonObject { ["name"] = "stage", ["value"] = "two" }) } });
        await TestBroker.WaitUntilAsync(() => Broker.Events.Any(e => e.Topic.Contains("stage=two", StringComparison.Ordinal)), Wait, "a message with the new property\n" + p.Output);
        await TestBroker.WaitUntilAsync(() => Reported(2) is not null, Wait, "the patch reported\n" + p.Output);
        Reported(2)!["lastDesiredStatus"]!["code"]!.GetValue<int>().ShouldBe(200);
        Reported(2)!["loadGen"]!["properties"]![0]!["name"]!.GetValue<string>().ShouldBe("stage");

        // An invalid one is rejected with the path and the DataAnnotations message; the last good settings stay.
        await Broker.PatchDesiredAsync(new JsonObject { ["loadGen"] = new JsonObject { ["properties"] = new JsonArray(new JsonObject { ["name"] = "", ["value"] = "x" }) } });
        await TestBroker.WaitUntilAsync(() => Reported(3) is not null, Wait, "the rejection\n" + p.Output);
        Reported(3)!["lastDesiredStatus"]!["code"]!.GetValue<int>().ShouldBe(400);
        Reported(3)!["lastDesiredStatus"]!["description"]!.GetValue<string>().ShouldBe("properties[0].name: The Name field is required.");
        await Broker.PatchDesiredAsync(new JsonObject { ["loadGen"] = new JsonObject { ["propertees"] = new JsonArray() } });
        await TestBroker.WaitUntilAsync(() => Reported(4) is not null, Wait, "the unknown-key rejection\n" + p.Output);
        Reported(4)!["lastDesiredStatus"]!["description"]!.GetValue<string>().ShouldContain("propertees");

        // Direct methods: a handled one and an unknown one.
        var (status, payload) = await Broker.InvokeMethodAsync("getStatus", null, Wait);
        status.ShouldBe(200, payload);
        var body = JsonNode.Parse(payload)!;
        body["source"]!.GetValue<string>().ShouldBe("aot");
        body["sent"]!.GetValue<long>().ShouldBeGreaterThanOrEqualTo(50);
        body["properties"]!.GetValue<int>().ShouldBe(1);
        (await Broker.InvokeMethodAsync("nope", "{}", Wait)).Status.ShouldBe(501);

        // SIGTERM: flushes what was accepted and exits 0; nothing lost or misordered.
        (await p.TerminateAsync(Wait)).ShouldBe(0, p.Output);
        var sent = long.Parse(File.ReadAllText(Path.Combine(State, "loadgen-aot.seq")), CultureInfo.InvariantCulture) - 1;
        var v = VerifyEvents();
        v.Expect("aot", 1, sent);
        var r = v.Report("aot");
        r.Passed.ShouldBeTrue(r.ToString());
        r.Duplicates.ShouldBe(0, r.ToString());
        p.Output.ShouldNotContain("fail:");
        p.Output.ShouldNotContain("crit:");
        ct.ThrowIfCancellationRequested();
    }

    /// <summary>The reported patch that answered desired version <paramref name="version"/>, once it reached the hub.</summary>
    private JsonObject? Reported(long version) =>
        Broker.ReportedPatches.LastOrDefault(r => r["lastDesiredVersion"] is JsonValue v && v.GetValue<long>() == version);
}

/// <summary>The Inference module as Native AOT (ONNX Runtime and OpenCvSharp through P/Invoke).</summary>
public sealed class InferenceAotFixture() : AotModuleFixture("modules/Inference/Inference.csproj", ["src/Edge.Runtime", "modules/Inference"]);

public sealed class InferenceAotTests(InferenceAotFixture aot) : BrokerTestBase("inference-aot"), IClassFixture<InferenceAotFixture>
{
    [Fact]
    public async Task InferenceAot_FrameOverTls_LoadsTheModelPublishesDetectionsValidatesSettingsAndStopsCleanly()
    {
        Assert.SkipWhen(aot.SkipReason is not null, aot.SkipReason ?? "");
        var env = Broker.ModuleEnvironment(State);
        env["RuntimeLogLevel"] = "warning";
        env["Inference__AnnotatedFps"] = "0";
        env["EDGE_ASSETS_DIR"] = Assets.Directory;
        await using var p = ModuleProcess.Start(aot.Executable!, env);
        await TestBroker.WaitUntilAsync(() => Reported(1) is not null, Wait, "the twin applied");

        // The BlazeFace model loads (ONNX Runtime through P/Invoke) and a JPEG frame from the input gives a detections message
        // (the first frame of a camera always does: the heartbeat is due).
        var jpeg = await File.ReadAllBytesAsync(Assets.Messi, TestContext.Current.CancellationToken);
        JsonNode? body = null;
        for (var attempt = 0; attempt < 60 && body is null; attempt++)
        {
            // Frames sent before the model is ready are dropped by design: resend until one is processed.
            await Broker.SendInputAsync("frames", jpeg, [new("cameraId", "cam1"), new("seq", attempt.ToString(CultureInfo.InvariantCulture)), new("width", "548"), new("height", "342")]);
            try
            {
                await TestBroker.WaitUntilAsync(() => Broker.Events.Any(e => e.Topic.Contains("detections", StringComparison.Ordinal)), TimeSpan.FromSeconds(1), "detections");
                body = JsonNode.Parse(Broker.Events.First(e => e.Topic.Contains("detections", StringComparison.Ordinal)).Payload);
            }
            catch (TimeoutException)
            {
            }
        }

        body.ShouldNotBeNull("no detections message\n" + p.Output);
        body["cameraId"]!.GetValue<string>().ShouldBe("cam1");
        body["detections"].ShouldBeOfType<JsonArray>();
        var (status, payload) = await Broker.InvokeMethodAsync("getStatus", null, Wait);
        status.ShouldBe(200, payload);
        JsonNode.Parse(payload)!["model"]!["status"]!.GetValue<string>().ShouldBe("ready");

        // Settings (enums as camelCase strings, DataAnnotations, IValidatableObject) over the source-generated metadata.
        await Broker.PatchDesiredAsync(new JsonObject { ["thresholds"] = new JsonObject { ["minScore"] = 1.5 } });
        await TestBroker.WaitUntilAsync(() => Reported(2) is not null, Wait, "the rejection\n" + p.Output);
        Reported(2)!["lastDesiredStatus"]!["description"]!.GetValue<string>().ShouldBe("thresholds.minScore: The field MinScore must be between 0 and 1.");
        await Broker.PatchDesiredAsync(new JsonObject { ["thresholds"] = new JsonObject { ["minScore"] = 0.6, ["minBoxArea"] = 0.5, ["maxBoxArea"] = 0.2 } });
        await TestBroker.WaitUntilAsync(() => Reported(3) is not null, Wait, "the second rejection\n" + p.Output);
        Reported(3)!["lastDesiredStatus"]!["description"]!.GetValue<string>().ShouldBe("thresholds.minBoxArea: minBoxArea must not exceed maxBoxArea");
        await Broker.PatchDesiredAsync(new JsonObject { ["thresholds"] = new JsonObject { ["minScore"] = 0.6, ["minBoxArea"] = 0, ["maxBoxArea"] = 1 } });
        await TestBroker.WaitUntilAsync(() => Reported(4) is not null, Wait, "the patch applied\n" + p.Output);
        Reported(4)!["lastDesiredStatus"]!["code"]!.GetValue<int>().ShouldBe(200);
        Reported(4)!["thresholds"]!["minScore"]!.GetValue<double>().ShouldBe(0.6);

        (await p.TerminateAsync(Wait)).ShouldBe(0, p.Output);
        p.Output.ShouldNotContain("fail:");
        p.Output.ShouldNotContain("crit:");
    }

    private JsonObject? Reported(long version) =>
        Broker.ReportedPatches.LastOrDefault(r => r["lastDesiredVersion"] is JsonValue v && v.GetValue<long>() == version);
}
