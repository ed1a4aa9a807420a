using System.Diagnostics;
using System.Text.Json.Nodes;
using Edge.TestSupport;
using EndToEnd.Tests.Harness;

namespace EndToEnd.Tests;

/// <summary>
/// The fleet commands a user runs against IoT Hub (`edge deploy`, `edge twin`, `edge method`), pointed at the simulator's
/// cloud API with its service connection string: the built `edge` binary as a child process, a real CameraCapture module.
/// </summary>
public sealed class FleetCommandsTests
{
    [Fact]
    public async Task DeployTwinMethod_AgainstSimulator_ReachTheModuleAndComeBack()
    {
        var ct = E2E.ScenarioToken(out var cts);
        using var _ = cts;
        await using var h = await SolutionHarness.StartAsync(ct);
        var deployment = new DeploymentBuilder()
            .Module("CameraCapture", ModuleKind.CameraCapture)
            .Desired("CameraCapture", Cameras(fps: 1));
        await h.DeployAsync(deployment, ct);
        await WaitReportedAsync(h, r => r["lastDesiredStatus"]?["code"]?.GetValue<int>() == 200, "the first deployment to be applied", ct);

        // deploy: a manifest with new module desired properties, through applyConfigurationContent.
        using var temp = new TempDirectory("edge-fleet");
        var manifest = Path.Combine(temp.Path, "deployment.json");
        var content = deployment.Desired("CameraCapture", Cameras(fps: 2)).Build();
        await File.WriteAllTextAsync(manifest, new JsonObject { ["modulesContent"] = content }.ToJsonString(), ct);
        var deploy = await EdgeAsync(h, ct, "deploy", manifest, "--device", h.Sim.DeviceId);
        deploy.ExitCode.ShouldBe(0, deploy.Output);
        var twin = await h.Sim.GetModuleTwinAsync("CameraCapture", ct);
        twin["desired"]!["cameras"]![0]!["fps"]!.GetValue<double>().ShouldBe(2);
        var deployed = twin["desired"]!["$version"]!.GetValue<long>();
        var reported = await WaitReportedAsync(h, r => r["lastDesiredVersion"]?.GetValue<long>() == deployed, "the deployed version to be applied", ct);
        reported["cameras"]![0]!["fps"]!.GetValue<double>().ShouldBe(2, "the module echoes what it applied");

        // twin set: ETag-aware PATCH of one key; the module applies it and reports it.
        var set = await EdgeAsync(h, ct, "twin", "set", h.Sim.DeviceId, "CameraCapture", "statusReportSeconds=7");
        set.ExitCode.ShouldBe(0, set.Output);
        var patched = (await h.Sim.GetModuleTwinAsync("CameraCapture", ct))["desired"]!["$version"]!.GetValue<long>();
        patched.ShouldBeGreaterThan(deployed);
        reported = await WaitReportedAsync(h, r => r["lastDesiredVersion"]?.GetValue<long>() == patched, "the twin set to be applied", ct);
        reported["lastDesiredStatus"]!["code"]!.GetValue<int>().ShouldBe(200);
        reported["statusReportSeconds"]!.GetValue<double>().ShouldBe(7);

        var get = await EdgeAsync(h, ct, "twin", "get", h.Sim.DeviceId, "CameraCapture");
        get.ExitCode.ShouldBe(0, get.Output);
        get.Output.ShouldContain("\"statusReportSeconds\"");

        // method invoke: a direct method round-trips to the module and back with its status and payload.
        var method = await EdgeAsync(h, ct, "method", "invoke", h.Sim.DeviceId, "CameraCapture", "getStatus", "--timeout", "10");
        method.ExitCode.ShouldBe(0, method.Output);
        method.Output.ShouldContain("200");
        method.Output.ShouldContain("cam1");

        var unknown = await EdgeAsync(h, ct, "method", "invoke", h.Sim.DeviceId, "CameraCapture", "noSuchMethod", "--timeout", "10");
        unknown.Output.ShouldContain("501");

        // A wrong key is refused by the simulator with IoT Hub's error shape, and the secret is never printed.
        var badKey = Convert.ToBase64String(new byte[32]);
        var refused = await RunEdgeAsync(ct, ["twin", "get", h.Sim.DeviceId, "CameraCapture"], h.Sim.ApiUri,
            $"HostName={h.Sim.HubHostName};SharedAccessKeyName=iothubowner;SharedAccessKey={badKey}");
        refused.ExitCode.ShouldBe(1, refused.Output);
        refused.Output.ShouldContain("401");
        refused.Output.ShouldNotContain(badKey);
    }

    private static JsonObject Cameras(double fps) => new()
    {
        ["cameras"] = new JsonArray(new JsonObject { ["id"] = "cam1", ["source"] = "synthetic", ["fps"] = fps, ["width"] = 320, ["height"] = 240 }),
    };

    private static async Task<JsonObject> WaitReportedAsync(SolutionHarness h, Func<JsonObject, bool> condition, string what, CancellationToken ct)
    {
        JsonObject? reported = null;
        await h.WaitForAsync(
            () =>
            {
                reported = h.Sim.GetModuleTwinAsync("CameraCapture", ct).GetAwaiter().GetResult()["reported"] as JsonObject;
                return reported is not null && condition(reported);
            },
            TimeSpan.FromSeconds(60),
            what,
            ct);
        return reported!;
    }

    private static Task<(int ExitCode, string Output)> EdgeAsync(SolutionHarness h, CancellationToken ct, params string[] args) =>
        RunEdgeAsync(ct, args, h.Sim.ApiUri, h.Sim.ServiceConnectionString);

    /// <summary>Runs the built CLI (<c>edge.dll</c> beside the tests) the way a user does, with the connection in the environment.</summary>
    private static async Task<(int ExitCode, string Output)> RunEdgeAsync(CancellationToken ct, string[] args, Uri endpoint, string connectionString)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "edge.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["IOTHUB_CONNECTION_STRING"] = connectionString;
        psi.Environment["IOTHUB_ENDPOINT"] = endpoint.ToString().TrimEnd('/');
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, await stdout + await stderr);
    }
}
