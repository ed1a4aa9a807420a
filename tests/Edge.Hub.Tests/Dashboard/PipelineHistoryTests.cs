using System.Globalization;
using System.Text;
using Edge.Hub.Dashboard;
using Microsoft.Extensions.Time.Testing;

namespace Edge.Hub.Tests.Dashboard;

public sealed class PipelineHistoryTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 14, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);

    [Fact]
    public void History_MessagesInTwoSeconds_RateAndLatencyPerSecondWithEmptySecondsZero()
    {
        var monitor = new PipelineMonitor(_time);
        Observe(monitor, Start.AddMilliseconds(100), latencyMs: 40);
        Observe(monitor, Start.AddMilliseconds(600), latencyMs: 60);
        Observe(monitor, Start.AddMilliseconds(900), latencyMs: 200);
        Observe(monitor, Start.AddSeconds(2).AddMilliseconds(10), latencyMs: 80);
        _time.Advance(TimeSpan.FromSeconds(3.5));

        var history = monitor.History();

        history.Count.ShouldBe(PipelineHistory.Seconds);
        history[^1].At.ShouldBe(Start.AddSeconds(2), "the last whole second");
        history.Select(p => p.At).ShouldBe(history.Select(p => p.At).Order(), "oldest first");
        history[^3].ShouldBe(new HistoryPoint(Start, 3, 60, 200));
        history[^2].ShouldBe(new HistoryPoint(Start.AddSeconds(1), 0, null, null));
        history[^1].ShouldBe(new HistoryPoint(Start.AddSeconds(2), 1, 80, 80));
        history.Take(PipelineHistory.Seconds - 3).ShouldAllBe(p => p.Messages == 0);
    }

    [Fact]
    public void History_OlderThanTheWindow_Forgotten()
    {
        var monitor = new PipelineMonitor(_time);
        Observe(monitor, Start, latencyMs: 40);
        _time.Advance(TimeSpan.FromSeconds(PipelineHistory.Seconds));
        Observe(monitor, _time.GetUtcNow(), latencyMs: 50); // lands in the same ring slot as the first
        _time.Advance(TimeSpan.FromSeconds(1));

        var history = monitor.History();

        history.Sum(p => p.Messages).ShouldBe(1);
        history[^1].LatencyP50Ms.ShouldBe(50);
    }

    private static void Observe(PipelineMonitor monitor, DateTimeOffset at, double latencyMs)
    {
        var captured = at.AddMilliseconds(-latencyMs).ToString("O", CultureInfo.InvariantCulture);
        monitor.Observe(new UpstreamMessage(
            "Inference",
            "detections",
            Encoding.UTF8.GetBytes("""{"detections":[{"label":"face","score":0.9}]}"""),
            new Dictionary<string, string> { ["cameraId"] = "cam1", ["seq"] = "1", ["capturedAt"] = captured },
            new Dictionary<string, string>(),
            at));
    }
}
