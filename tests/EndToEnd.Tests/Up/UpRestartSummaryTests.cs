using System.Globalization;
using System.Text.RegularExpressions;
using Edge.Cli.Commands;
using Edge.Cli.Commands.Up;
using Edge.TestSupport;
using EndToEnd.Tests.Harness;

namespace EndToEnd.Tests.Up;

/// <summary>
/// <c>edge up</c> with CameraCapture and then Inference killed once each (<c>kill -9</c> through the run's supervisor): the
/// summary's per-message figures (frames sent, inferred, dropped as stale, lost) must equal an independent count, by camera and
/// seq, of what reached <c>$upstream</c> (the run's frames-to-summary copy and the detections), not per-process counters.
/// </summary>
public sealed partial class UpRestartSummaryTests
{
    [Fact]
    public async Task Up_EachModuleKilledOnce_SummaryCountsPerMessageLikeUpstream()
    {
        using var state = new TempDirectory();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(5));
        var ct = timeout.Token;
        using var stop = new CancellationTokenSource();
        var output = new ConcurrentWriter();
        UpstreamCollector? collector = null;
        var run = new UpRun(
            new UpOptions
            {
                Build = false,
                Configuration = AppContext.BaseDirectory.Contains("/release", StringComparison.OrdinalIgnoreCase) ? "release" : "debug",
                Dashboard = false,
                MqttPort = 0,
                DashboardPort = 0,
                StateDirectory = state.Path,
            },
            output,
            output,
            TimeProvider.System) { HubStarted = async sim => collector = await UpstreamCollector.StartAsync(sim, ct) };
        var running = Task.Run(() => run.RunAsync(stop.Token), CancellationToken.None);
        try
        {
            await WaitForAsync(() => Detections(collector) >= 15, running, "detections to flow", ct);
            await KillAndAwaitMoreAsync(run, "CameraCapture", collector!, running, ct);
            await KillAndAwaitMoreAsync(run, "Inference", collector!, running, ct);
        }
        finally
        {
            await stop.CancelAsync();
        }

        var exit = await running.WaitAsync(TimeSpan.FromMinutes(2), TimeProvider.System, ct);
        await using var c = collector!;
        var text = output.Text;

        // The independent count: distinct seqs per camera at $upstream, and Inference's own log of the frames it dropped.
        var log = string.Concat(Directory.GetFiles(Path.Combine(state.Path, "logs"), "Inference.log*").Select(File.ReadAllText));
        var dropped = StaleDrop().Matches(log)
            .Select(m => (Camera: m.Groups[1].Value, Seq: long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))).ToHashSet();
        var cameras = c.Snapshot().Where(a => a.Source is not null).Select(a => a.Source!.Split('/')[2]).Distinct().ToList();
        long sent = 0, inferred = 0, stale = 0, lost = 0;
        foreach (var camera in cameras)
        {
            var frames = c.From($"CameraCapture/frames/{camera}").Select(a => a.Seq).ToHashSet();
            var detections = c.From($"Inference/detections/{camera}").Select(a => a.Seq).ToHashSet();
            detections.IsSubsetOf(frames).ShouldBeTrue($"{camera}: a detection for a frame the hub never accepted\n{text}");
            sent += frames.Count;
            inferred += detections.Count;
            stale += frames.Count(s => !detections.Contains(s) && dropped.Contains((camera, s)));
            lost += frames.Count(s => !detections.Contains(s) && !dropped.Contains((camera, s)));
        }

        Figure(text, @"frames sent by capture\s+([\d,]+)").ShouldBe(sent, text);
        Figure(text, @"frames inferred\s+([\d,]+)").ShouldBe(inferred, text);
        Figure(text, @"frames dropped as stale\s+([\d,]+)").ShouldBe(stale, text);
        Figure(text, @"messages lost\s+([\d,]+)").ShouldBe(lost, text);
        Regex.IsMatch(text, $@"detections at \$upstream\s+{inferred:N0} of {sent - stale:N0} expected").ShouldBeTrue(text);
        if (stale > 0)
        {
            Regex.IsMatch(text, @"frames dropped as stale[^\n]*\n\s+cam\S*\s+seq \d").ShouldBeTrue(text);
        }

        // Healthy exactly when nothing was lost (a frame Inference had accepted but not processed when it was killed is lost:
        // it acknowledges frames when it queues them).
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        var results = Directory.CreateDirectory(Path.Combine(Assets.RepoRoot, "artifacts", "test-results")).FullName;
        await File.WriteAllTextAsync(Path.Combine(results, "up-restart-summary.txt"), text, ct);
        exit.ShouldBe(lost == 0 ? 0 : 1, text);
        text.Contains("Healthy run.", StringComparison.Ordinal).ShouldBe(lost == 0, text);
        sent.ShouldBeGreaterThan(inferred / 2, text);
    }

    [GeneratedRegex(@"Frame dropped by the latest-frame queue \(SourceId ([^,]+), Seq (\d+)\)")]
    private static partial Regex StaleDrop();

    private static long Detections(UpstreamCollector? c) =>
        c is null ? 0 : c.Snapshot().Count(a => a.Source?.StartsWith("Inference/detections/", StringComparison.Ordinal) == true);

    private static async Task KillAndAwaitMoreAsync(UpRun run, string module, UpstreamCollector collector, Task<int> running, CancellationToken ct)
    {
        var supervisor = run.Supervisor!;
        var pid = supervisor.GetStatus().Single(m => m.ModuleId == module).Pid;
        await supervisor.KillAsync(module, ct);
        await WaitForAsync(() => supervisor.GetStatus().Single(m => m.ModuleId == module) is { RuntimeStatus: "running", Pid: { } p } && p != pid,
            running, $"{module} to be restarted", ct);

        // Detections of frames captured after the restart: the pipeline runs through the new process.
        var after = Detections(collector);
        await WaitForAsync(() => Detections(collector) >= after + 15, running, $"detections after {module} restarted", ct);
    }

    private static async Task WaitForAsync(Func<bool> condition, Task<int> running, string what, CancellationToken ct)
    {
        var deadline = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(90);
        while (!condition())
        {
            if (running.IsCompleted)
            {
                throw new InvalidOperationException($"edge up stopped (exit {await running}) while waiting for {what}");
            }

            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System, ct);
        }
    }

    private static long Figure(string text, string pattern) =>
        Regex.Match(text, pattern) is { Success: true } m
            ? long.Parse(m.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture)
            : throw new ShouldAssertException($"'{pattern}' not in the summary:\n{text}");
}
