using Edge.Deployment.IoTHub;
using Microsoft.AspNetCore.Http;

namespace Edge.Deployment.Tests.IoTHub;

/// <summary>The monitor against a fake simulator feed: recent list, SSE parsing, reconnect after the stream ends, bad events skipped.</summary>
public sealed class UpstreamMonitorTests
{
    private static readonly IoTHubConnectionString Connection = new("sim.azure-devices.net", "iothubowner", "c2VjcmV0");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GetRecentAsync_Array_ParsedEvents()
    {
        await using var hub = await FakeIoTHub.StartAsync();
        hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 200, """
            [{"sourceModuleId":"Inference","outputName":"detections","body":{"faces":1},"properties":{"seq":"7"},"systemProperties":{"contentType":"application/json"},"enqueuedAt":"2026-11-25T12:00:00Z"},
             {"sourceModuleId":"CameraCapture","outputName":"health","body":"ok","properties":{},"systemProperties":{},"enqueuedAt":"2026-11-25T12:00:01Z"}]
            """);
        using var client = new IoTHubServiceClient(Connection, new IoTHubServiceClientOptions { Endpoint = hub.Endpoint });

        var events = await new UpstreamMonitor(client).GetRecentAsync(Ct);

        events.Count.ShouldBe(2);
        events[0].Format().ShouldBe("""2026-11-25T12:00:00Z Inference/detections {"faces":1} {"seq":"7"}""");
        events[1].Format().ShouldBe("2026-11-25T12:00:01Z CameraCapture/health ok");
        hub.Requests.Single().Path.ShouldBe("/simulator/upstream");
        hub.Requests.Single().Headers["Authorization"].ShouldStartWith("SharedAccessSignature sr=sim.azure-devices.net&sig=");
    }

    [Fact]
    public async Task StreamAsync_StreamEndsAndReopens_AllEventsInOrderBadOneSkipped()
    {
        await using var hub = await FakeIoTHub.StartAsync();
        var connections = 0;
        hub.Respond = async (r, ctx) =>
        {
            r.Path.ShouldBe("/simulator/upstream/stream");
            r.Headers["Accept"].ShouldBe("text/event-stream");
            ctx.Response.ContentType = "text/event-stream";
            if (Interlocked.Increment(ref connections) == 1)
            {
                await ctx.Response.WriteAsync(": keep-alive\n\nevent: upstream\ndata: {\"sourceModuleId\":\"Inference\",\"outputName\":\"detections\",\"body\":{\"n\":1}}\n\n", Ct);
                await ctx.Response.WriteAsync("data: not json\n\n", Ct);
                await ctx.Response.WriteAsync("event: upstream\ndata: {\"sourceModuleId\":\"Inference\",\n", Ct);
                await ctx.Response.WriteAsync("data: \"outputName\":\"detections\",\"body\":{\"n\":2}}\n\n", Ct);
            }
            else
            {
                await ctx.Response.WriteAsync("data: {\"sourceModuleId\":\"CameraCapture\",\"outputName\":\"health\",\"body\":\"ok\"}\n\n", Ct);
                await Task.Delay(TimeSpan.FromSeconds(30), TimeProvider.System, ctx.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        };
        using var client = new IoTHubServiceClient(Connection, new IoTHubServiceClientOptions { Endpoint = hub.Endpoint });
        var monitor = new UpstreamMonitor(client) { InitialReconnectDelay = TimeSpan.FromMilliseconds(10) };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(20));

        var seen = new List<UpstreamEvent>();
        await foreach (var e in monitor.StreamAsync(cts.Token))
        {
            seen.Add(e);
            if (seen.Count == 3)
            {
                break;
            }
        }

        seen.Select(e => e.Body!.ToJsonString()).ShouldBe(["""{"n":1}""", """{"n":2}""", "\"ok\""]);
        connections.ShouldBe(2);
    }

    [Fact]
    public async Task StreamAsync_FeedMissing_HubErrorSurfaces()
    {
        await using var hub = await FakeIoTHub.StartAsync();
        hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 404, """{"Message":"no such endpoint"}""");
        using var client = new IoTHubServiceClient(Connection, new IoTHubServiceClientOptions { Endpoint = hub.Endpoint });
        var ex = await Should.ThrowAsync<IoTHubException>(async () =>
        {
            await foreach (var unused in new UpstreamMonitor(client).StreamAsync(Ct))
            {
            }
        });
        ex.StatusCode.ShouldBe(System.Net.HttpStatusCode.NotFound);
    }
}
