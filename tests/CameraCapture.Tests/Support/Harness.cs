using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace CameraCapture.Tests;

/// <summary>A camera pipeline on a <see cref="FakeTimeProvider"/> with recorded outputs and logs.</summary>
internal sealed class Harness : IAsyncDisposable
{
    private readonly List<CameraPipeline> _pipelines = [];

    public Harness(IFrameSourceFactory? factory = null)
    {
        Factory = factory ?? new FrameSourceFactory();
        Directory.CreateDirectory(StateDirectory);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    public FakeLogger Logger { get; } = new();

    public IFrameSourceFactory Factory { get; }

    public CaptureMetrics Metrics { get; } = new();

    public string StateDirectory { get; } = Path.Combine(Path.GetTempPath(), "capture-state-" + Guid.NewGuid().ToString("N")[..12]);

    public RecordingModuleClient Client { get; } = new();

    public List<HealthEvent> HealthEvents { get; } = [];

    public TimeSpan Debounce { get; set; } = TimeSpan.Zero;

    public PipelineContext Context() => new(
        Time,
        Factory,
        Logger,
        Metrics,
        Path.Combine(StateDirectory, "capture"),
        new FrameStore(Path.Combine(StateDirectory, "frames"), Time),
        (m, ct) => Client.SendAsync(CaptureService.FramesOutput, m, ct),
        (e, ct) =>
        {
            lock (HealthEvents)
            {
                HealthEvents.Add(e);
            }

            return Task.CompletedTask;
        })
    {
        HealthDebounce = Debounce,
    };

    /// <summary>Starts a pipeline and waits until its timer exists and (unless told not to) its source opened.</summary>
    public async Task<CameraPipeline> StartAsync(CameraSettings settings, bool waitOpen = true)
    {
        var pipeline = new CameraPipeline(settings, Context());
        _pipelines.Add(pipeline);
        pipeline.Start();
        await pipeline.PacingStarted.WaitAsync(TimeSpan.FromSeconds(10));
        if (waitOpen)
        {
            await pipeline.FirstOpened.WaitAsync(TimeSpan.FromSeconds(10));
        }

        return pipeline;
    }

    /// <summary>Advances fake time by one period per tick and waits for the pipeline to handle each tick.</summary>
    /// <remarks>Unless <paramref name="waitSent"/> is false it also waits for the frame to be sent, as real time would allow.</remarks>
    public async Task TickAsync(CameraPipeline pipeline, int ticks, bool waitSent = true)
    {
        var period = TimeSpan.FromSeconds(1.0 / pipeline.Settings.Fps);
        for (var i = 0; i < ticks; i++)
        {
            var target = pipeline.Counters.Ticks + 1;
            Time.Advance(period);
            await Eventually(() => pipeline.Counters.Ticks >= target, $"tick {target}");
            if (waitSent)
            {
                await Eventually(() => pipeline.Idle, $"frames of tick {target} sent");
            }
        }
    }

    /// <summary>Waits (real time, bounded) for a condition that another thread makes true.</summary>
    public static async Task Eventually(Func<bool> condition, string what, double seconds = 10)
    {
        var deadline = TimeProvider.System.GetTimestamp();
        while (!condition())
        {
            if (TimeProvider.System.GetElapsedTime(deadline).TotalSeconds > seconds)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(5), TimeProvider.System);
        }
    }

    public IReadOnlyList<string> Errors() => Logger.Collector.GetSnapshot().Where(r => r.Level >= LogLevel.Error).Select(r => r.Message).ToList();

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _pipelines)
        {
            await p.DisposeAsync();
        }

        Metrics.Dispose();
        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
