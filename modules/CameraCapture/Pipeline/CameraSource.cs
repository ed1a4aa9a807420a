using Microsoft.Extensions.Logging;
using OpenCvSharp;
using Polly;
using Polly.Retry;

namespace CameraCapture;

/// <summary>
/// A camera's source: a connect loop (Polly retry with backoff and jitter; a permanent error retries at the slowest rate)
/// that opens it and, for a live source, reads it continuously on a dedicated thread (the grabber) keeping only the latest
/// frame in <see cref="LatestFrame"/>; a pull source (file, folder, synthetic) is read by the pacing loop through
/// <see cref="TryReadPull"/> instead. Reports opens, losses and read errors to the camera's health and counters.
/// </summary>
internal sealed class CameraSource
{
    private readonly SourceSpec _spec;
    private readonly Func<CameraSettings> _settings;
    private readonly PipelineContext _ctx;
    private readonly CameraHealth _health;
    private readonly CameraCounters _counters;
    private readonly LatestFrame _frames;
    private readonly Action _frameArrived;
    private readonly KeyValuePair<string, object?> _tag;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _reconnect;
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // The pull source in use by the pacing loop (null while (re)connecting) and the signal that it failed.
    private readonly Lock _sourceGate = new();
    private IFrameSource? _pullSource;
    private long _pullOpenedAt;
    private TaskCompletionSource? _pullLost;
    private bool _ended;
    private long _skippedBase;
    private long _readErrorsSeen;

    /// <param name="spec">What to open.</param>
    /// <param name="settings">The camera's current settings (read at each open).</param>
    /// <param name="initial">The settings at start: the reconnect backoff is fixed for the source's life.</param>
    /// <param name="context">The module's time, source factory, logger and metrics.</param>
    /// <param name="health">Told of opens, failures, losses and warnings.</param>
    /// <param name="counters">Reconnects, skipped frames, read errors.</param>
    /// <param name="frames">Where a live source's frames go.</param>
    /// <param name="frameArrived">Called after each live frame (wakes the pacing loop).</param>
    public CameraSource(SourceSpec spec, Func<CameraSettings> settings, CameraSettings initial, PipelineContext context, CameraHealth health, CameraCounters counters, LatestFrame frames, Action frameArrived)
    {
        _spec = spec;
        _settings = settings;
        _ctx = context;
        _health = health;
        _counters = counters;
        _frames = frames;
        _frameArrived = frameArrived;
        _logger = context.Logger;
        _time = context.TimeProvider;
        _tag = new("camera", initial.Id);
        _reconnect = BuildReconnectPipeline(initial);
    }

    private string Id => _settings().Id;

    /// <summary>Completes when the source has opened for the first time.</summary>
    public Task FirstOpened => _opened.Task;

    /// <summary>Opens the source, reads it (live) or lends it to the pacing loop (pull), and reopens it when lost, until <paramref name="ct"/>.</summary>
    public async Task RunAsync(CancellationToken ct)
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

            _health.OnOpened();
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
                    _skippedBase = _counters.Skipped;
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

            _health.OnSourceLost(lostReason);
            Log.SourceLost(_logger, Id, lostReason);
        }
    }

    /// <summary>
    /// For the pacing loop: reads the pull source's next frame into <see cref="LatestFrame.Working"/>. Null when there is no
    /// pull source (a live source, or reconnecting); otherwise whether a frame was read.
    /// </summary>
    public bool? TryReadPull(DateTimeOffset now)
    {
        lock (_sourceGate)
        {
            if (_pullSource is not { } pull)
            {
                return null;
            }

            var status = _frames.ReadInto(pull, _time.GetElapsedTime(_pullOpenedAt), now);
            _counters.SetSkipped(_skippedBase + pull.SkippedFrames);
            if (pull.ReadErrors > _readErrorsSeen)
            {
                _counters.OnReadErrors(pull.ReadErrors - _readErrorsSeen);
                _readErrorsSeen = pull.ReadErrors;
                var warning = pull.LastError ?? "a frame could not be read";
                _health.OnWarning(warning);
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
                        _health.OnWarning("end of file reached (loop is off)");
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
                    _health.OnOpenFailed(message, ex?.Permanent ?? false, args.AttemptNumber + 1);
                    _counters.OnReconnect();
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
            return _ctx.SourceFactory.Open(_spec, _settings(), _time);
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

    /// <summary>The grabber: decodes every frame as it arrives and keeps only the latest. Returns why it stopped.</summary>
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

                // Swap rather than copy: the decoder writes the next frame into the buffer the pacer no longer needs.
                if (_frames.Publish(ref frame))
                {
                    // The previous frame was never taken by the pacing loop: the camera is faster than the target rate.
                    _counters.AddSkipped(1);
                }

                _frameArrived();
            }
        }
        finally
        {
            frame.Dispose();
        }

        return "stopped";
    }
}
