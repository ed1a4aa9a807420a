using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Edge.Runtime;
using Microsoft.Extensions.Logging;
using OpenCvSharp;
using Polly;
using Polly.Retry;

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
/// One camera: a connect loop (Polly retry with backoff and jitter) that opens the source and, for live sources, reads it
/// continuously on a dedicated thread keeping only the latest frame; a pacing loop (<see cref="PeriodicTimer"/> on the
/// <see cref="TimeProvider"/>) that takes frames at the target rate (a live frame the moment it is due, a pull source's frame on
/// each tick), tracks health, applies the motion gate and encodes; and a send loop behind a bounded DropOldest channel, so capture
/// never waits for sending.
/// </summary>
internal sealed class CameraPipeline : IAsyncDisposable
{
    private const int ChannelCapacity = 2;

    private readonly PipelineContext _ctx;
    private readonly SourceSpec _spec;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<CapturedFrame> _frames;
    private readonly ResiliencePipeline _reconnect;
    private readonly SequenceStore _sequence;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _pacing = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly KeyValuePair<string, object?> _tag;

    // Frame buffers, handed over by swapping references under _latestGate (never copied): _latest is the newest frame the live
    // reader published and the pacing loop has not taken yet; _working is the frame the pacing loop processes (it only reads it,
    // so snapshots may copy it concurrently; a pull source decodes into it under the lock). _newest points at whichever of
    // _latest and _working holds the newest frame, for snapshots.
    private readonly Lock _latestGate = new();
    private Mat _latest = new();
    private Mat _working = new();
    private Mat _newest;
    private long _latestVersion;
    private long _consumedVersion;
    private DateTimeOffset _latestAt;

    // Live sources: the reader signals each new frame, so a frame that is due is taken the moment it arrives instead of at the
    // next timer tick (lower latency, and the frame rate is not bounded by the timer's resolution). Pacing-loop state only.
    private readonly Channel<bool> _frameArrived = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true, SingleWriter = true });
    private DateTimeOffset _nextDue;

    // The pull source in use by the pacing loop (null while (re)connecting) and the signal that it failed.
    private readonly Lock _sourceGate = new();
    private IFrameSource? _pullSource;
    private long _pullOpenedAt;
    private TaskCompletionSource? _pullLost;
    private bool _ended;
    private long _skippedBase;
    private long _readErrorsSeen;

    private volatile CameraSettings _settings;
    private Task _run = Task.CompletedTask;
    private long _lastSeq;
    private DateTimeOffset? _lastQueuedAt;
    private bool _sendFailing;
    private long _queued;
    private int _disposed;
    private long _handled;

    public CameraPipeline(CameraSettings settings, PipelineContext context)
    {
        _settings = settings;
        _newest = _latest;
        _ctx = context;
        _logger = context.Logger;
        _time = context.TimeProvider;
        _spec = SourceSpec.TryParse(settings.Source, out var spec, out var error)
            ? spec
            : throw new ArgumentException(error, nameof(settings));
        _tag = new("camera", settings.Id);
        Health = new CameraHealth(settings.Id, _time) { Debounce = context.HealthDebounce };
        ApplyHealthSettings(settings);
        _sequence = new SequenceStore(context.SequenceDirectory, settings.Id);
        _frames = Channel.CreateBounded<CapturedFrame>(
            new BoundedChannelOptions(ChannelCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = true },
            _ =>
            {
                Counters.OnDroppedStale();
                _ctx.Metrics.FramesDropped.Add(1, _tag, new("reason", "stale"));
            });
        _reconnect = BuildReconnectPipeline(settings);
    }

    public string Id => _settings.Id;

    public CameraSettings Settings => _settings;

    public CameraHealth Health { get; }

    public CameraCounters Counters { get; } = new();

    /// <summary>Completes when the source has opened for the first time.</summary>
    public Task FirstOpened => _opened.Task;

    /// <summary>Completes when the pacing timer exists (tests advance fake time only after this).</summary>
    public Task PacingStarted => _pacing.Task;

    /// <summary>The sequence number of the last frame accepted by the outbox (0 before the first).</summary>
    public long LastSeq => Interlocked.Read(ref _lastSeq);

    /// <summary>True when every frame queued for sending was sent, refused or dropped as stale.</summary>
    public bool Idle => Interlocked.Read(ref _handled) + Counters.DroppedStale >= Interlocked.Read(ref _queued);

    /// <summary>Whether a change from <paramref name="current"/> to <paramref name="next"/> needs the source reopened.</summary>
    public static bool RequiresRestart(CameraSettings current, CameraSettings next) =>
        current.Source != next.Source || current.Loop != next.Loop || current.ReconnectMaxDelaySeconds != next.ReconnectMaxDelaySeconds ||
        current.StallTimeoutSeconds != next.StallTimeoutSeconds;

    public void Start()
    {
        Log.CameraStarting(_logger, Id, _spec.ToString(), _settings.Fps, _settings.Transport);
        var ct = _stop.Token;
        var connect = Task.Run(() => ConnectLoopAsync(ct), CancellationToken.None);
        var pace = Task.Run(() => PaceLoopAsync(ct), CancellationToken.None);
        var send = Task.Run(() => SendLoopAsync(ct), CancellationToken.None);
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
        DateTimeOffset at;
        lock (_latestGate)
        {
            // A failed decode may have emptied the buffer (FFmpeg releases it at the end of a file).
            if (_latestVersion == 0 || _newest.Empty())
            {
                return null;
            }

            _newest.CopyTo(copy);
            at = _latestAt;
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
        _latest.Dispose();
        _working.Dispose();
        _stop.Dispose();
        Log.CameraStopped(_logger, Id);
    }

    private void ApplyHealthSettings(CameraSettings s)
    {
        Health.StallTimeout = TimeSpan.FromSeconds(s.StallTimeoutSeconds);
        Health.FrozenTimeout = TimeSpan.FromSeconds(s.FrozenTimeoutSeconds);
    }

    private ResiliencePipeline BuildReconnectPipeline(CameraSettings settings)
    {
        var maxDelay = TimeSpan.FromSeconds(settings.ReconnectMaxDelaySeconds);
        return new ResiliencePipelineBuilder { Name = "camera-source", InstanceName = settings.Id, TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<SourceOpenException>(),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = maxDelay,

                // A permanent error (missing file, unsupported codec) will not heal quickly: retry at the slowest rate.
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    args.Outcome.Exception is SourceOpenException { Permanent: true } ? maxDelay : null),
                OnRetry = args =>
                {
                    var ex = args.Outcome.Exception as SourceOpenException;
                    var message = ex?.Message ?? "unknown error";
                    Health.OnOpenFailed(message, ex?.Permanent ?? false, args.AttemptNumber + 1);
                    Counters.OnReconnect();
                    _ctx.Metrics.Reconnects.Add(1, _tag);
                    Log.SourceOpenFailed(_logger, Id, args.AttemptNumber + 1, args.RetryDelay, message);
                    return default;
                },
            })
            .Build();
    }

    private IFrameSource OpenOnce()
    {
        try
        {
            return _ctx.SourceFactory.Open(_spec, _settings, _time);
        }
        catch (SourceOpenException)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new SourceOpenException($"opening {_spec} failed: {ex.Message}", ex);
        }
    }

    private async Task ConnectLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            IFrameSource source;
            try
            {
                source = await _reconnect.ExecuteAsync(static (self, _) => ValueTask.FromResult(self.OpenOnce()), this, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }

            Health.OnOpened();
            Log.SourceOpened(_logger, Id, _spec.ToString(), source.IsLive);
            string lostReason;
            if (source.IsLive)
            {
                _opened.TrySetResult();
                lostReason = await Task.Factory.StartNew(() => ReadLive(source, ct), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
                    .ConfigureAwait(false);
                source.Dispose();
            }
            else
            {
                var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                lock (_sourceGate)
                {
                    _pullLost = lost;
                    _pullOpenedAt = _time.GetTimestamp();
                    _ended = false;
                    _skippedBase = Counters.Skipped;
                    _readErrorsSeen = 0;
                    _pullSource = source;
                }

                _opened.TrySetResult();

                try
                {
                    await lost.Task.WaitAsync(ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }

                lock (_sourceGate)
                {
                    _pullSource = null;
                    _pullLost = null;
                    source.Dispose();
                }

                lostReason = source.LastError ?? "the source failed";
            }

            if (ct.IsCancellationRequested)
            {
                return;
            }

            Health.OnSourceLost(lostReason);
            Log.SourceLost(_logger, Id, lostReason);
        }
    }

    /// <summary>The live reader: decodes every frame as it arrives and keeps only the latest. Returns why it stopped.</summary>
    private string ReadLive(IFrameSource source, CancellationToken ct)
    {
        var frame = new Mat();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                ReadStatus status;
                try
                {
                    status = source.Read(TimeSpan.Zero, frame);
                }
                catch (Exception ex)
                {
                    return $"reading failed: {ex.Message}";
                }

                if (status != ReadStatus.Frame)
                {
                    return source.LastError ?? "the source stopped delivering frames";
                }

                lock (_latestGate)
                {
                    if (_latestVersion != _consumedVersion)
                    {
                        // The previous frame was never taken by the pacing loop: the camera is faster than the target rate.
                        Counters.AddSkipped(1);
                    }

                    // Swap rather than copy: the decoder writes the next frame into the buffer the pacer no longer needs.
                    (_latest, frame) = (frame, _latest);
                    _newest = _latest;
                    _latestVersion++;
                    _latestAt = _time.GetUtcNow();
                }

                _frameArrived.Writer.TryWrite(true);
            }
        }
        finally
        {
            frame.Dispose();
        }

        return "stopped";
    }

    private async Task PaceLoopAsync(CancellationToken ct)
    {
        using var motion = new MotionGate();
        using var fingerprint = new FrameFingerprint();
        using var encoder = new FrameEncoder();
        var period = Period(_settings);
        using var timer = new PeriodicTimer(period, _time);
        _nextDue = _time.GetUtcNow() + period;
        _pacing.TrySetResult();
        Task<bool>? tick = null;
        Task<bool>? arrived = null;
        try
        {
            while (true)
            {
                // Wake on the timer (pull sources, health) or on a new frame of a live source.
                tick ??= timer.WaitForNextTickAsync(ct).AsTask();
                arrived ??= _frameArrived.Reader.WaitToReadAsync(ct).AsTask();
                await Task.WhenAny(tick, arrived).ConfigureAwait(false);

                var ticked = tick.IsCompleted;
                if (ticked)
                {
                    if (!await tick.ConfigureAwait(false))
                    {
                        break;
                    }

                    tick = null;
                }

                if (arrived.IsCompleted)
                {
                    await arrived.ConfigureAwait(false);
                    arrived = null;
                    _frameArrived.Reader.TryRead(out _);
                }

                var settings = _settings;
                var desired = Period(settings);
                if (ticked && timer.Period != desired)
                {
                    timer.Period = desired;
                }

                try
                {
                    var now = _time.GetUtcNow();
                    if (TakeFrame(now, desired))
                    {
                        var frame = _working;
                        Counters.OnCaptured();
                        _ctx.Metrics.FramesCaptured.Add(1, _tag);
                        Health.OnFrame(fingerprint.SameAsPrevious(frame));
                        Process(frame, now, settings, motion, encoder);
                    }

                    if (Health.Evaluate() is { } change)
                    {
                        await PublishHealthAsync(change, ct).ConfigureAwait(false);
                    }
                }
                catch (OpenCVException ex)
                {
                    // A frame that cannot be processed (e.g. a corrupt decode) is counted and skipped; the camera keeps running.
                    Counters.OnReadErrors(1);
                    Health.OnWarning(ex.Message);
                    Log.SourceWarning(_logger, Id, ex.Message);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A bug or an unexpected native failure must not stop this camera (or any other): log it loudly, keep ticking.
                    Counters.OnReadErrors(1);
                    Health.OnWarning(ex.Message);
                    Log.PipelineFaulted(_logger, Id, ex);
                }
                finally
                {
                    if (ticked)
                    {
                        Counters.Tick();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }

    private static TimeSpan Period(CameraSettings s) => TimeSpan.FromSeconds(1.0 / s.Fps);

    /// <summary>
    /// Takes this tick's frame into <see cref="_working"/>: the next frame of a pull source, or the newest unread frame of a live
    /// one once it is due (at most one frame per <paramref name="period"/> on average).
    /// </summary>
    private bool TakeFrame(DateTimeOffset now, TimeSpan period)
    {
        lock (_sourceGate)
        {
            if (_pullSource is { } pull)
            {
                ReadStatus status;
                lock (_latestGate)
                {
                    // One buffer per pull camera: the source writes the frame where the pacing loop reads it.
                    status = pull.Read(_time.GetElapsedTime(_pullOpenedAt), _working);
                    if (status == ReadStatus.Frame)
                    {
                        _newest = _working;
                        _latestVersion++;
                        _consumedVersion = _latestVersion;
                        _latestAt = now;
                    }
                }

                Counters.SetSkipped(_skippedBase + pull.SkippedFrames);
                if (pull.ReadErrors > _readErrorsSeen)
                {
                    Counters.OnReadErrors(pull.ReadErrors - _readErrorsSeen);
                    _readErrorsSeen = pull.ReadErrors;
                    var warning = pull.LastError ?? "a frame could not be read";
                    Health.OnWarning(warning);
                    Log.SourceWarning(_logger, Id, warning);
                }

                switch (status)
                {
                    case ReadStatus.Frame:
                        return true;
                    case ReadStatus.EndOfStream:
                        if (!_ended)
                        {
                            _ended = true;
                            Health.OnWarning("end of file reached (loop is off)");
                            Log.EndOfStream(_logger, Id);
                        }

                        return false;
                    case ReadStatus.Failed:
                        _pullSource = null;
                        _pullLost?.TrySetResult();
                        return false;
                    default:
                        return false;
                }
            }
        }

        // A frame arriving slightly before its slot (timer rounding, camera jitter) still counts as due.
        var tolerance = TimeSpan.FromTicks(Math.Min(period.Ticks / 4, TimeSpan.TicksPerMillisecond * 5));
        lock (_latestGate)
        {
            if (_latestVersion == _consumedVersion || now < _nextDue - tolerance)
            {
                return false;
            }

            (_working, _latest) = (_latest, _working);
            _newest = _working;
            _consumedVersion = _latestVersion;
        }

        // The next slot; after a long gap (no frames, a slow tick) start again from now rather than catching up in a burst.
        _nextDue = _nextDue + period > now ? _nextDue + period : now;
        return true;
    }

    private void Process(Mat frame, DateTimeOffset now, CameraSettings s, MotionGate motion, FrameEncoder encoder)
    {
        var keepAlive = false;
        double? score = null;
        if (s.Motion.Enabled)
        {
            score = motion.Score(frame, s.Motion.PixelDelta);
            if (score < s.Motion.Threshold)
            {
                if (_lastQueuedAt is { } last && now - last < TimeSpan.FromSeconds(s.Motion.KeepAliveSeconds))
                {
                    Counters.OnGated();
                    _ctx.Metrics.FramesDropped.Add(1, _tag, new("reason", "motion"));
                    return;
                }

                keepAlive = true;
            }
        }

        var size = FrameEncoder.TargetSize(frame.Size(), s.Width, s.Height);
        var budget = s.Transport == FrameTransport.Inline ? _ctx.InlineBudgetBytes : int.MaxValue;
        var jpeg = encoder.Encode(frame, size, s.JpegQuality, budget);
        if (jpeg is null)
        {
            Counters.OnDroppedOversize();
            _ctx.Metrics.FramesDropped.Add(1, _tag, new("reason", "oversize"));
            Log.FrameTooLarge(_logger, Id);
            return;
        }

        if (jpeg.Reductions > 0)
        {
            Counters.OnResizedToFit();
        }

        if (keepAlive)
        {
            Counters.OnKeepAlive();
        }

        _lastQueuedAt = now;
        Interlocked.Increment(ref _queued);
        _frames.Writer.TryWrite(new CapturedFrame(jpeg, now, keepAlive, score, s.Transport));
    }

    private async Task PublishHealthAsync(HealthEvent change, CancellationToken ct)
    {
        if (change.State is CameraState.Streaming or CameraState.Starting)
        {
            Log.HealthRecovered(_logger, Id, change.PreviousState, change.State);
        }
        else
        {
            Log.HealthChanged(_logger, Id, change.PreviousState, change.State, change.Reason);
        }

        try
        {
            await _ctx.PublishHealth(change, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.HealthSendFailed(_logger, Id, ex);
        }
    }

    private async Task SendLoopAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var item in _frames.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                var seq = _sequence.Next();
                var messageId = Guid.CreateVersion7(item.CapturedAt).ToString();
                try
                {
                    var (message, bytes) = await BuildMessageAsync(item, seq, messageId, ct).ConfigureAwait(false);
                    var result = await _ctx.SendFrame(message, ct).ConfigureAwait(false);
                    if (result.IsAccepted)
                    {
                        Counters.OnSent(bytes);
                        _ctx.Metrics.FramesSent.Add(1, _tag);
                        _ctx.Metrics.FrameBytes.Record(bytes, _tag);
                        Interlocked.Exchange(ref _lastSeq, seq);
                        _sendFailing = false;
                    }
                    else
                    {
                        Counters.OnRejected();
                        _ctx.Metrics.FramesDropped.Add(1, _tag, new("reason", "rejected"));
                        if (!_sendFailing)
                        {
                            _sendFailing = true;
                            Log.SendRejected(_logger, Id, seq, messageId, result.Status);
                        }
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Counters.OnSendError();
                    _ctx.Metrics.FramesDropped.Add(1, _tag, new("reason", "error"));
                    if (!_sendFailing)
                    {
                        _sendFailing = true;
                        Log.SendFailed(_logger, Id, seq, messageId, ex);
                    }
                }
                finally
                {
                    Interlocked.Increment(ref _handled);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task<(EdgeMessage Message, long Bytes)> BuildMessageAsync(CapturedFrame item, long seq, string messageId, CancellationToken ct)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["cameraId"] = Id,
            ["seq"] = seq.ToString(CultureInfo.InvariantCulture),
            ["capturedAt"] = item.CapturedAt.UtcDateTime.ToString("o", CultureInfo.InvariantCulture),
            ["width"] = item.Jpeg.Width.ToString(CultureInfo.InvariantCulture),
            ["height"] = item.Jpeg.Height.ToString(CultureInfo.InvariantCulture),
        };
        if (item.KeepAlive)
        {
            properties["keepAlive"] = "true";
        }

        if (item.MotionScore is { } score)
        {
            properties["motionScore"] = score.ToString("0.####", CultureInfo.InvariantCulture);
        }

        if (item.Transport == FrameTransport.Inline)
        {
            return (new EdgeMessage
            {
                Body = item.Jpeg.Bytes,
                ContentType = "image/jpeg",
                MessageId = messageId,
                CreationTime = item.CapturedAt,
                Properties = properties,
            }, item.Jpeg.Bytes.Length);
        }

        var stored = await _ctx.FrameStore.WriteAsync(Id, seq, item.Jpeg.Bytes, ct).ConfigureAwait(false);
        properties["frameRef"] = stored.Path;
        properties["frameSize"] = stored.Size.ToString(CultureInfo.InvariantCulture);
        properties["frameSha256"] = stored.Sha256;
        var body = new JsonObject
        {
            ["frameRef"] = stored.Path,
            ["frameSize"] = stored.Size,
            ["frameSha256"] = stored.Sha256,
            ["contentType"] = "image/jpeg",
        };
        return (new EdgeMessage
        {
            Body = System.Text.Encoding.UTF8.GetBytes(body.ToJsonString()),
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            MessageId = messageId,
            CreationTime = item.CapturedAt,
            Properties = properties,
        }, stored.Size);
    }
}
