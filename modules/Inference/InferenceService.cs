// Over 500 lines, for now: the module's wiring (input handler, desired settings, methods, workers, reporting) in one hosted
// service. The frame path's parts already live in Processing/ and Models/; splitting the service (settings, reporting) waits
// for the tracking hook being added to it in the same session (issue 17 follow-up), so its public shape stays as it is.
using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Runtime;
using Inference.Events;
using Inference.Models;
using Inference.Processing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenCvSharp;

namespace Inference;

/// <summary>
/// Wires the inference pipeline to edgeHub: input <c>frames</c> enqueues into the latest-frame queue and returns at once
/// (its completion is the PUBACK); <see cref="InferenceOptions.Workers"/> loops decode, infer and send <c>detections</c> (and
/// rate-limited <c>annotated</c>) frames, frames of different cameras in parallel and each camera's frames one at a time, in order; desired <c>model</c>/<c>thresholds</c> are validated and applied live; methods <c>getStatus</c> and <c>reloadModel</c>.
/// </summary>
internal sealed class InferenceService : BackgroundService
{
    public const string FramesInput = "frames";
    public const string DetectionsOutput = "detections";
    public const string AnnotatedOutput = "annotated";

    private readonly IModuleClient _client;
    private readonly ModelManager _models;
    private readonly InferenceOptions _options;
    private readonly ModelSettings _defaultModel;
    private readonly ThresholdSettings _defaultThresholds;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly InferenceMetrics _metrics;
    private readonly FrameQueue _queue;
    private readonly EventPipeline? _events;
    private readonly LatencyWindow _latency = new();
    private readonly LatencyWindow _inferLatency = new();
    private readonly ConcurrentDictionary<string, long> _lastSeq = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (long Detections, long Annotated)> _lastSent = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private volatile ThresholdSettings _thresholds;
    private volatile bool _modelRequested;
    private long _received;
    private long _processed;
    private long _invalid;
    private long _duplicates;
    private long _failed;
    private long _sent;
    private long _sentDetections;
    private long _sentAnnotated;
    private long _noModel;

    public InferenceService(IModuleClient client, ModelManager models, InferenceOptions options, ModelSettings defaultModel,
        ThresholdSettings defaultThresholds, TimeProvider time, ILogger<InferenceService> log, InferenceMetrics metrics, EventPipeline? events = null)
    {
        _events = events;
        _client = client;
        _models = models;
        _options = options;
        _defaultModel = defaultModel;
        _defaultThresholds = defaultThresholds;
        _thresholds = defaultThresholds;
        _time = time;
        _log = log;
        _metrics = metrics;
        _queue = new FrameQueue(options.QueueCapacityPerCamera);
        _models.StatusChanged += OnModelStatus;
        client.SetInputHandler(FramesInput, OnFrameAsync);
        client.SetMethodHandler("getStatus", OnGetStatusAsync);
        client.SetMethodHandler("reloadModel", OnReloadModelAsync);
        client.SetDesiredPropertiesHandler(OnDesiredAsync);
    }

    /// <summary>The latest-frame queue.</summary>
    public FrameQueue Queue => _queue;

    /// <summary>Thresholds in force.</summary>
    public ThresholdSettings Thresholds => _thresholds;

    /// <summary>The most recent model apply started by a desired-properties change (tests await it).</summary>
    public Task<ModelStatus> ModelTask { get; private set; } = Task.FromResult(ModelStatus.None);

    public long FramesProcessed => Interlocked.Read(ref _processed);

    /// <summary>Worker loops <see cref="ExecuteAsync"/> runs (<see cref="InferenceOptions.Workers"/>, 0 resolved to the core count).</summary>
    public int Workers => _options.Workers > 0 ? _options.Workers : Math.Clamp(Environment.ProcessorCount, 1, 16);

    /// <summary>Test hook: runs on the worker after a frame is decoded, before inference (null in production).</summary>
    internal Func<QueuedFrame, CancellationToken, Task>? BeforeInferHook { get; set; }

    public long FramesInvalid => Interlocked.Read(ref _invalid);

    /// <summary>Loads the boot model (last good from the cache, else the configured default) unless the twin already asked for one.</summary>
    public async Task StartModelAsync(CancellationToken ct)
    {
        if (!_modelRequested)
        {
            await _models.StartAsync(_defaultModel, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Takes the next queued frame and processes it; false when none is waiting.</summary>
    public async Task<bool> ProcessNextAsync(CancellationToken ct)
    {
        if (!_queue.TryDequeue(out var frame))
        {
            return false;
        }

        await ProcessAsync(frame!, ct).ConfigureAwait(false);
        return true;
    }

    /// <summary>Statistics and state, as reported and returned by <c>getStatus</c>.</summary>
    public JsonObject StatusJson() => new()
    {
        ["model"] = _models.Status.ToJson(),
        ["thresholds"] = DesiredSettings.ToJson(_thresholds, InferenceSettingsJson.Default.ThresholdSettings),
        ["stats"] = StatsJson(),
        ["events"] = _events?.StatusJson(),
    };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await StartModelAsync(stoppingToken).ConfigureAwait(false);
        if (_events is not null)
        {
            await _events.RecoverAsync(stoppingToken).ConfigureAwait(false);
        }

        var summaries = _events?.RunSummariesAsync(stoppingToken) ?? Task.CompletedTask;
        var reporting = ReportLoopAsync(stoppingToken);
        var workers = new Task[Workers];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(() => WorkerAsync(stoppingToken), CancellationToken.None);
        }

        // A worker that fails unexpectedly fails the service at once (as the single loop did), not only at shutdown.
        var first = await Task.WhenAny(workers).ConfigureAwait(false);
        if (first.IsFaulted)
        {
            await first.ConfigureAwait(false);
        }

        await Task.WhenAll(workers).ConfigureAwait(false);
        await reporting.ConfigureAwait(false);
        await summaries.ConfigureAwait(false);
    }

    /// <summary>One worker: the queue never hands it a frame of a camera another worker holds (per-camera order is kept).</summary>
    private async Task WorkerAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var frame = await _queue.DequeueAsync(stoppingToken).ConfigureAwait(false);
                try
                {
                    await ProcessAsync(frame, stoppingToken).ConfigureAwait(false);
                }
                finally
                {
                    _queue.Complete(frame.CameraId);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal Task OnFrameAsync(InputMessageArguments args, CancellationToken ct)
    {
        var m = args.Message;
        Interlocked.Increment(ref _received);
        var camera = m.Properties.GetValueOrDefault(FrameProperties.CameraId) ?? args.SenderModuleId ?? "unknown";
        var seq = long.TryParse(m.Properties.GetValueOrDefault(FrameProperties.Seq), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : -1;
        var frameRef = m.Properties.GetValueOrDefault(FrameProperties.FrameRef);
        if (m.Body.IsEmpty && string.IsNullOrEmpty(frameRef))
        {
            Skip(camera, seq, m.MessageId, "invalid", "empty body and no frameRef property");
            return Task.CompletedTask;
        }

        // edgeHub redelivers after a lost PUBACK: the same camera/seq twice is processed once.
        if (seq >= 0 && _lastSeq.TryGetValue(camera, out var last) && last == seq)
        {
            Interlocked.Increment(ref _duplicates);
            _metrics.Frames.Add(1, new KeyValuePair<string, object?>("outcome", "duplicate"));
            return Task.CompletedTask;
        }

        if (seq >= 0)
        {
            _lastSeq[camera] = seq;
        }

        long? size = long.TryParse(m.Properties.GetValueOrDefault(FrameProperties.FrameSize), NumberStyles.Integer, CultureInfo.InvariantCulture, out var fs) ? fs : null;
        var frame = new QueuedFrame(camera, seq, m.Properties.GetValueOrDefault(FrameProperties.CapturedAt), m.Body, frameRef, size,
            m.Properties.GetValueOrDefault(FrameProperties.FrameSha256), _time.GetTimestamp(), Int(m, FrameProperties.Width), Int(m, FrameProperties.Height));
        if (_queue.Enqueue(frame) is { } dropped)
        {
            _metrics.Frames.Add(1, new KeyValuePair<string, object?>("outcome", "dropped"));
            Log.FrameDropped(_log, dropped.CameraId, dropped.Seq);
        }

        return Task.CompletedTask;
    }

    private static int Int(EdgeMessage m, string name) =>
        int.TryParse(m.Properties.GetValueOrDefault(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : 0;

    /// <summary>
    /// libjpeg can decode at 1/2, 1/4 or 1/8 scale (DCT scaling), several times faster than a full decode. When the frame size
    /// is known and the reduced image still covers the model input, decode reduced; full size when an annotated frame is due.
    /// </summary>
    private static int ReducedScale(QueuedFrame frame, LoadedModel model, bool fullSizeNeeded)
    {
        if (fullSizeNeeded || frame.Width == 0 || frame.Height == 0)
        {
            return 1;
        }

        var scale = 1;
        while (scale < 8 && frame.Width / (scale * 2) >= model.InputWidth && frame.Height / (scale * 2) >= model.InputHeight)
        {
            scale *= 2;
        }

        return scale;
    }

    internal async Task<DesiredPropertiesResult> OnDesiredAsync(DesiredPropertiesArguments args, CancellationToken ct)
    {
        var errors = new List<string>();
        if (!DesiredSettings.TryBind(args.Desired["thresholds"], _defaultThresholds, InferenceSettingsJson.Default.ThresholdSettings, out var thresholds, out var te))
        {
            errors.AddRange(te.Select(e => "thresholds." + e));
        }

        if (!DesiredSettings.TryBind(args.Desired["model"], _defaultModel, InferenceSettingsJson.Default.ModelSettings, out var model, out var me))
        {
            errors.AddRange(me.Select(e => "model." + e));
        }
        else if (!ModelUrlAcceptable(model, out var urlError))
        {
            errors.Add("model." + urlError);
        }

        var events = _events?.Settings;
        if (_events is not null && !EventPipeline.TryBind(args.Desired["events"], _events.Defaults, out events, out var ee))
        {
            errors.AddRange(ee.Select(e => "events." + e));
        }

        if (errors.Count > 0)
        {
            var reason = string.Join("; ", errors);
            Log.DesiredRejected(_log, reason);
            return DesiredPropertiesResult.Rejected(reason, StatusJson());
        }

        _thresholds = thresholds;
        _events?.Apply(events!);
        Log.ThresholdsApplied(_log, DesiredSettings.ToJson(thresholds, InferenceSettingsJson.Default.ThresholdSettings)!.ToJsonString());
        _modelRequested = true;
        ModelTask = _models.ApplyAsync(model, force: false, _stopping.Token);
        await Task.Yield();
        return DesiredPropertiesResult.Applied(StatusJson());
    }

    private static bool ModelUrlAcceptable(ModelSettings model, out string error)
    {
        var isHttp = model.Url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || model.Url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
        if (isHttp && model.Sha256 is null)
        {
            error = "sha256: required for http(s) model URLs";
            return false;
        }

        error = "";
        return true;
    }

    private Task<MethodResponse> OnGetStatusAsync(MethodRequestArguments args, CancellationToken ct) =>
        Task.FromResult(MethodResponse.Ok(StatusJson()));

    private async Task<MethodResponse> OnReloadModelAsync(MethodRequestArguments args, CancellationToken ct)
    {
        var status = await _models.ReloadAsync(ct).ConfigureAwait(false);
        return status.Status == "ready" ? MethodResponse.Ok(StatusJson()) : new MethodResponse(500, StatusJson());
    }

    private void OnModelStatus(ModelStatus status) => _ = ReportAsync(new JsonObject { ["model"] = status.ToJson() });

    private async Task ReportAsync(JsonObject patch)
    {
        try
        {
            await _client.ReportPropertiesAsync(patch, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.ReportFailed(_log, ex.Message);
        }
    }

    private async Task ReportLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_options.ReportIntervalSeconds), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                await ReportAsync(new JsonObject { ["stats"] = StatsJson() }).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private JsonObject StatsJson() => new()
    {
        ["framesReceived"] = Interlocked.Read(ref _received),
        ["framesProcessed"] = Interlocked.Read(ref _processed),
        ["framesDropped"] = _queue.Dropped,
        ["framesInvalid"] = Interlocked.Read(ref _invalid),
        ["framesDuplicate"] = Interlocked.Read(ref _duplicates),
        ["framesFailed"] = Interlocked.Read(ref _failed),
        ["messagesSent"] = Interlocked.Read(ref _sent),
        ["detectionsSent"] = Interlocked.Read(ref _sentDetections),
        ["annotatedSent"] = Interlocked.Read(ref _sentAnnotated),
        ["queued"] = _queue.Count,
        ["latencyP50Ms"] = _latency.Percentile(50),
        ["latencyP99Ms"] = _latency.Percentile(99),
        ["inferenceP50Ms"] = _inferLatency.Percentile(50),
        ["inferenceP99Ms"] = _inferLatency.Percentile(99),
    };

    private void Skip(string camera, long seq, string? messageId, string outcome, string reason)
    {
        Interlocked.Increment(ref _invalid);
        _metrics.Frames.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
        Log.FrameSkipped(_log, camera, seq, messageId, reason);
    }

    private async Task ProcessAsync(QueuedFrame frame, CancellationToken ct)
    {
        var model = _models.Acquire();
        if (model is null)
        {
            // Counted every time, logged for the first frame and then every 100th, so a missing model cannot flood the log.
            Interlocked.Increment(ref _invalid);
            _metrics.Frames.Add(1, new KeyValuePair<string, object?>("outcome", "no_model"));
            if (Interlocked.Increment(ref _noModel) % 100 == 1)
            {
                Log.FrameSkipped(_log, frame.CameraId, frame.Seq, null, "no model is loaded: " + (_models.Status.Error ?? _models.Status.Status));
            }

            return;
        }

        byte[]? rented = null;
        try
        {
            var started = Stopwatch.GetTimestamp();
            var jpeg = frame.Jpeg;
            if (frame.FrameRef is { } path)
            {
                (rented, var length, var error) = await ReadReferenceAsync(frame, path, _options.FrameRefRoot, ct).ConfigureAwait(false);
                if (error is not null)
                {
                    Skip(frame.CameraId, frame.Seq, null, "invalid", error);
                    return;
                }

                jpeg = rented.AsMemory(0, length);
            }

            var now = _time.GetTimestamp();
            var last = _lastSent.TryGetValue(frame.CameraId, out var l) ? l : (Detections: long.MinValue, Annotated: long.MinValue);
            var annotatedDue = _options.AnnotatedFps > 0 && (last.Annotated == long.MinValue || _time.GetElapsedTime(last.Annotated, now).TotalSeconds >= 1 / _options.AnnotatedFps);
            var reduce = _options.ReducedDecode ? ReducedScale(frame, model, annotatedDue) : 1;
            using var image = Cv2.ImDecode(jpeg.Span, reduce switch
            {
                2 => ImreadModes.ReducedColor2,
                4 => ImreadModes.ReducedColor4,
                8 => ImreadModes.ReducedColor8,
                _ => ImreadModes.Color,
            });
            if (image.Empty())
            {
                Skip(frame.CameraId, frame.Seq, null, "invalid", $"not a decodable image ({jpeg.Length} bytes)");
                return;
            }

            if (BeforeInferHook is { } hook)
            {
                await hook(frame, ct).ConfigureAwait(false);
            }

            var thresholds = _thresholds;
            var raw = new List<Detection>();
            var run = model.Infer(image, DetectionFilter.LowestMinScore(thresholds), (float?)thresholds.NmsIou ?? model.DefaultNmsIou, raw);
            var kept = DetectionFilter.Apply(raw, thresholds);
            var latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            _latency.Add(latency);
            _inferLatency.Add(run.TotalMilliseconds);
            _metrics.Latency.Record(latency);
            _metrics.Frames.Add(1, new KeyValuePair<string, object?>("outcome", "processed"));
            Interlocked.Increment(ref _processed);

            if (_events is not null)
            {
                await _events.OnFrameAsync(frame.CameraId, frame.Seq, frame.CapturedAt, frame.FrameRef, image, kept, ct).ConfigureAwait(false);
            }

            var heartbeatDue = _options.HeartbeatSeconds > 0 && (last.Detections == long.MinValue || _time.GetElapsedTime(last.Detections, now).TotalSeconds >= _options.HeartbeatSeconds);
            if (kept.Count > 0 || heartbeatDue)
            {
                var queueMs = _time.GetElapsedTime(frame.EnqueuedTimestamp, now).TotalMilliseconds;
                await SendDetectionsAsync(frame, model, image.Width * reduce, image.Height * reduce, kept, latency, queueMs, ct).ConfigureAwait(false);
                last.Detections = now;
            }

            if (annotatedDue)
            {
                await SendAnnotatedAsync(frame, image, kept, ct).ConfigureAwait(false);
                last.Annotated = now;
            }

            _lastSent[frame.CameraId] = last;
        }
        catch (Exception ex) when (ex is OpenCVException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or InvalidOperationException)
        {
            Interlocked.Increment(ref _failed);
            _metrics.Frames.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
            Log.InferenceFailed(_log, ex, frame.CameraId, frame.Seq);
        }
        finally
        {
            model.Release();
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static async Task<(byte[] Buffer, int Length, string? Error)> ReadReferenceAsync(QueuedFrame frame, string path, string root, CancellationToken ct)
    {
        if (!Path.IsPathFullyQualified(path))
        {
            return ([], 0, $"frame reference '{path}' is not an absolute path");
        }

        if (root.Length > 0 && !Path.GetFullPath(path).StartsWith(Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return ([], 0, $"frame reference {path} is outside FrameRefRoot {root}");
        }

        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return ([], 0, $"frame reference {path} cannot be read: {ex.Message}");
        }

        await using (file.ConfigureAwait(false))
        {
            var length = file.Length;
            if (frame.FrameSize is { } expected && expected != length)
            {
                return ([], 0, $"frame reference {path} is {length} bytes, expected {expected}");
            }

            if (length is 0 or > 64 * 1024 * 1024)
            {
                return ([], 0, $"frame reference {path} has an implausible size ({length} bytes)");
            }

            var buffer = ArrayPool<byte>.Shared.Rent((int)length);
            var read = 0;
            while (read < length)
            {
                var n = await file.ReadAsync(buffer.AsMemory(read, (int)length - read), ct).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            if (frame.FrameSha256 is { } sha)
            {
                Span<byte> hash = stackalloc byte[32];
                SHA256.HashData(buffer.AsSpan(0, read), hash);
                if (!Convert.ToHexStringLower(hash).Equals(sha, StringComparison.OrdinalIgnoreCase))
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return ([], 0, $"frame reference {path} fails its SHA-256 check (corrupt or replaced)");
                }
            }

            return (buffer, read, null);
        }
    }

    private async Task SendDetectionsAsync(QueuedFrame frame, LoadedModel model, int width, int height, List<Detection> kept, double latency, double queueMs, CancellationToken ct)
    {
        var bodies = kept.Select(d => new DetectionBody(d.Label, MathF.Round(d.Score, 4),
            new BoxBody(R(d.Box.X), R(d.Box.Y), R(d.Box.W), R(d.Box.H)),
            d.Keypoints?.Select(k => new PointBody(R(k.X), R(k.Y))).ToList())).ToList();
        var message = new DetectionsMessage(frame.CameraId, frame.Seq, frame.CapturedAt, _time.GetUtcNow(), model.Settings.Name, model.Settings.Version,
            Math.Round(latency, 2), Math.Round(queueMs, 2), width, height, bodies);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(message, InferenceJsonContext.Default.DetectionsMessage);
        while (bytes.Length > _options.MaxMessageBytes && bodies.Count > 0)
        {
            bodies = bodies[..(bodies.Count / 2)];
            message = message with { Detections = bodies, Truncated = true };
            bytes = JsonSerializer.SerializeToUtf8Bytes(message, InferenceJsonContext.Default.DetectionsMessage);
        }

        var edge = new EdgeMessage
        {
            Body = bytes,
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            CreationTime = message.InferredAt,
            Properties = ResultProperties(frame, model),
        };
        await SendAsync(DetectionsOutput, edge, frame, ct).ConfigureAwait(false);
    }

    private async Task SendAnnotatedAsync(QueuedFrame frame, Mat image, List<Detection> kept, CancellationToken ct)
    {
        var jpeg = Annotator.DrawAndEncode(image, kept, _options.AnnotatedJpegQuality);
        if (jpeg.Length > _options.MaxMessageBytes)
        {
            using var half = new Mat();
            Cv2.Resize(image, half, new OpenCvSharp.Size(image.Width / 2, image.Height / 2), 0, 0, InterpolationFlags.Area);
            Cv2.ImEncode(".jpg", half, out jpeg, new ImageEncodingParam(ImwriteFlags.JpegQuality, 60));
            if (jpeg.Length > _options.MaxMessageBytes)
            {
                return;
            }
        }

        var edge = new EdgeMessage
        {
            Body = jpeg,
            ContentType = "image/jpeg",
            CreationTime = _time.GetUtcNow(),
            Properties = ResultProperties(frame, null),
        };
        await SendAsync(AnnotatedOutput, edge, frame, ct).ConfigureAwait(false);
    }

    private async Task SendAsync(string output, EdgeMessage message, QueuedFrame frame, CancellationToken ct)
    {
        var result = await _client.SendAsync(output, message, ct).ConfigureAwait(false);
        if (result.IsAccepted)
        {
            Interlocked.Increment(ref _sent);
            Interlocked.Increment(ref output == DetectionsOutput ? ref _sentDetections : ref _sentAnnotated);
            _metrics.Messages.Add(1, new KeyValuePair<string, object?>("output", output));
        }
        else
        {
            Log.SendRefused(_log, output, frame.CameraId, frame.Seq, result.Status.ToString());
        }
    }

    private static Dictionary<string, string> ResultProperties(QueuedFrame frame, LoadedModel? model)
    {
        var p = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [FrameProperties.CameraId] = frame.CameraId,
            [FrameProperties.Seq] = frame.Seq.ToString(CultureInfo.InvariantCulture),
        };
        if (frame.CapturedAt is { } at)
        {
            p[FrameProperties.CapturedAt] = at;
        }

        if (model is not null)
        {
            p[FrameProperties.Model] = model.Settings.Name;
        }

        return p;
    }

    private static float R(float v) => MathF.Round(v, 4);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public override void Dispose()
    {
        _models.StatusChanged -= OnModelStatus;
        _stopping.Dispose();
        base.Dispose();
    }
}
