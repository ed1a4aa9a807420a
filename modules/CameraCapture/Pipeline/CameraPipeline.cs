using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Edge.Runtime;
using Microsoft.Extensions.Logging;
using OpenCvSharp;

namespace CameraCapture;

/// <summary>A frame encoded by the pacing loop, waiting for the send loop.</summary>
internal sealed record CapturedFrame(EncodedJpeg Jpeg, DateTimeOffset CapturedAt, bool KeepAlive, double? MotionScore, FrameTransport Transport);

/// <summary>What a camera pipeline needs from the module: time, sources, storage and the two outputs.</summary>
internal sealed record PipelineContext(
    TimeProvider TimeProvider,
    IFrameSourceFactory SourceFactory,
    ILogger Logger,
    CaptureMetrics Metrics,
    string SequenceDirectory,
    FrameStore FrameStore,
    Func<EdgeMessage, CancellationToken, ValueTask<SendResult>> SendFrame,
    Func<HealthEvent, CancellationToken, Task> PublishHealth)
{
    /// <summary>Budget for an inline JPEG: the hub's 256 KB limit less room for properties and what edgeHub adds.</summary>
    public int InlineBudgetBytes { get; init; } = (256 * 1024) - 4096;

    /// <summary>Health debounce; changed live by settings.</summary>
    public TimeSpan HealthDebounce { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// One camera, wired from parts with one job each: <see cref="CameraSource"/> (connect loop with backoff; a live source read
/// on a dedicated grabber thread keeping only the latest frame in <see cref="LatestFrame"/>), <see cref="FramePacer"/> (takes
/// frames at the target rate), <see cref="CameraHealthMonitor"/> (health and its changes), <see cref="FrameProcessor"/> (motion
/// gate and encode), and <see cref="FrameSender"/> (message build and send) behind a bounded DropOldest channel, so capture
/// never waits for sending. This class starts and stops them and answers status and snapshot requests.
/// </summary>
internal sealed class CameraPipeline : IAsyncDisposable
{
    private const int ChannelCapacity = 2;

    private readonly SourceSpec _spec;
    private readonly ILogger _logger;
    private readonly SequenceStore _sequence;
    private readonly CancellationTokenSource _stop = new();
    private readonly LatestFrame _frames;
    private readonly CameraSource _source;
    private readonly FrameProcessor _processor;
    private readonly CameraHealthMonitor _healthMonitor;
    private readonly FramePacer _pacer;
    private readonly FrameSender _sender;
    private volatile CameraSettings _settings;
    private Task _run = Task.CompletedTask;
    private int _disposed;

    public CameraPipeline(CameraSettings settings, PipelineContext context)
    {
        _settings = settings;
        _logger = context.Logger;
        _spec = SourceSpec.TryParse(settings.Source, out var spec, out var error)
            ? spec
            : throw new ArgumentException(error, nameof(settings));
        var tag = new KeyValuePair<string, object?>("camera", settings.Id);
        Health = new CameraHealth(settings.Id, context.TimeProvider) { Debounce = context.HealthDebounce };
        ApplyHealthSettings(settings);
        _sequence = new SequenceStore(context.SequenceDirectory, settings.Id);
        var frames = Channel.CreateBounded<CapturedFrame>(
            new BoundedChannelOptions(ChannelCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
            _ =>
            {
                Counters.OnDroppedStale();
                context.Metrics.FramesDropped.Add(1, tag, new("reason", "stale"));
            });

        // Live sources: the grabber signals each new frame, so a frame that is due is taken the moment it arrives instead of at
        // the next timer tick (lower latency, and the frame rate is not bounded by the timer's resolution).
        var frameArrived = Channel.CreateBounded<bool>(
            new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true, SingleWriter = true });
        _frames = new LatestFrame(context.TimeProvider);
        _source = new CameraSource(_spec, () => _settings, settings, context, Health, Counters, _frames, () => frameArrived.Writer.TryWrite(true));
        _processor = new FrameProcessor(settings.Id, context, Counters, frames.Writer);
        _healthMonitor = new CameraHealthMonitor(settings.Id, Health, context);
        _pacer = new FramePacer(settings.Id, () => _settings, context, _source, _frames, frameArrived.Reader, _processor, _healthMonitor, Counters);
        _sender = new FrameSender(settings.Id, context, _sequence, new FrameMessage(settings.Id, context.FrameStore), Counters, frames.Reader);
    }

    public string Id => _settings.Id;

    public CameraSettings Settings => _settings;

    public CameraHealth Health { get; }

    public CameraCounters Counters { get; } = new();

    /// <summary>Completes when the source has opened for the first time.</summary>
    public Task FirstOpened => _source.FirstOpened;

    /// <summary>Completes when the pacing timer exists (tests advance fake time only after this).</summary>
    public Task PacingStarted => _pacer.Started;

    /// <summary>The sequence number of the last frame accepted by the outbox (0 before the first).</summary>
    public long LastSeq => _sender.LastSeq;

    /// <summary>True when every frame queued for sending was sent, refused or dropped as stale.</summary>
    public bool Idle => _sender.Handled + Counters.DroppedStale >= _processor.Queued;

    /// <summary>Whether a change from <paramref name="current"/> to <paramref name="next"/> needs the source reopened.</summary>
    public static bool RequiresRestart(CameraSettings current, CameraSettings next) =>
        current.Source != next.Source || current.Loop != next.Loop || current.ReconnectMaxDelaySeconds != next.ReconnectMaxDelaySeconds ||
        current.StallTimeoutSeconds != next.StallTimeoutSeconds;

    public void Start()
    {
        Log.CameraStarting(_logger, Id, _spec.ToString(), _settings.Fps, _settings.Transport);
        var ct = _stop.Token;
        var connect = Task.Run(() => _source.RunAsync(ct), CancellationToken.None);
        var pace = Task.Run(() => _pacer.RunAsync(ct), CancellationToken.None);
        var send = Task.Run(() => _sender.RunAsync(ct), CancellationToken.None);
        _run = Task.WhenAll(connect, pace, send);
    }

    /// <summary>Applies settings that do not need the source reopened (fps, size, quality, motion, transport, frozen timeout).</summary>
    public void Update(CameraSettings next)
    {
        _settings = next;
        ApplyHealthSettings(next);
    }

    /// <summary>Sets the health debounce (a module-wide setting).</summary>
    public void SetDebounce(TimeSpan debounce) => Health.Debounce = debounce;

    /// <summary>
    /// Encodes the latest frame (whether or not it was sent) within <paramref name="maxBytes"/>; null before the first frame.
    /// </summary>
    public (EncodedJpeg Jpeg, DateTimeOffset CapturedAt)? Snapshot(int maxBytes)
    {
        using var copy = new Mat();
        if (!_frames.TryCopyNewest(copy, out var at))
        {
            return null;
        }

        using var encoder = new FrameEncoder();
        var s = _settings;
        var jpeg = encoder.Encode(copy, FrameEncoder.TargetSize(copy.Size(), s.Width, s.Height), s.JpegQuality, maxBytes);
        return jpeg is null ? null : (jpeg, at);
    }

    /// <summary>State, error, counters and last sequence number, as reported.</summary>
    public JsonObject StatusJson() => new()
    {
        ["state"] = Health.State.ToString().ToLowerInvariant(),
        ["source"] = _spec.ToString(),
        ["error"] = Health.LastError,
        ["lastFrameAt"] = Health.LastFrameAt?.ToString("o", CultureInfo.InvariantCulture),
        ["lastSeq"] = LastSeq,
        ["counters"] = Counters.ToJson(),
    };

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // A live reader blocked in the driver returns at the latest after the source's read timeout.
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _run.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            Log.PipelineFaulted(_logger, Id, ex);
        }

        _sequence.Dispose();
        _processor.Dispose();
        _healthMonitor.Dispose();
        _frames.Dispose();
        _stop.Dispose();
        Log.CameraStopped(_logger, Id);
    }

    private void ApplyHealthSettings(CameraSettings s)
    {
        Health.StallTimeout = TimeSpan.FromSeconds(s.StallTimeoutSeconds);
        Health.FrozenTimeout = TimeSpan.FromSeconds(s.FrozenTimeoutSeconds);
    }
}
