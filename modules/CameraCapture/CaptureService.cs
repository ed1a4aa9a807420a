using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Edge.Runtime;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CameraCapture;

/// <summary>
/// Wires the cameras to edgeHub: frames to the <c>frames</c> output, debounced health changes to <c>health</c>, the twin's
/// desired properties applied live (cameras added, changed or removed individually), per-camera state and counters in
/// reported properties, and the <c>snapshot</c> and <c>getStatus</c> direct methods.
/// </summary>
internal sealed class CaptureService : BackgroundService
{
    public const string FramesOutput = "frames";
    public const string HealthOutput = "health";

    /// <summary>Direct-method payloads are limited to 128 KB; base64 adds a third.</summary>
    public const int MaxSnapshotBytes = 90 * 1024;

    private readonly IModuleClient _client;
    private readonly IFrameSourceFactory _sourceFactory;
    private readonly CaptureMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<CaptureService> _logger;
    private readonly CaptureDefaults _defaults;
    private readonly string _stateDirectory;
    private readonly SemaphoreSlim _applyGate = new(1, 1);
    private readonly TaskCompletionSource _startupSettingsDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, CameraPipeline> _cameras = new(StringComparer.Ordinal);
    private CaptureSettings _settings = new();
    private FrameStore _frameStore;
    private string? _settingsError;
    private bool _applied;

    public CaptureService(
        IModuleClient client,
        IFrameSourceFactory sourceFactory,
        CaptureMetrics metrics,
        TimeProvider timeProvider,
        IOptions<EdgeModuleOptions> moduleOptions,
        CaptureDefaults defaults,
        ILogger<CaptureService> logger)
    {
        _client = client;
        _sourceFactory = sourceFactory;
        _metrics = metrics;
        _time = timeProvider;
        _logger = logger;
        _defaults = defaults;
        _stateDirectory = moduleOptions.Value.StateDirectory is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".edge-state", "CameraCapture");
        _frameStore = new FrameStore(FrameStoreRoot(_settings), timeProvider);

        // Handlers are registered when the service is constructed, which the host does before it starts any hosted
        // service, so they are in place before the module client first connects.
        client.SetDesiredPropertiesHandler(OnDesiredPropertiesAsync);
        client.SetMethodHandler("snapshot", OnSnapshotAsync);
        client.SetMethodHandler("getStatus", OnGetStatusAsync);
    }

    /// <summary>
    /// Completes once start-up has settled which settings run: the configuration defaults, or the twin's when the twin handler
    /// applied them first (tests wait on it instead of sleeping).
    /// </summary>
    internal Task StartupSettingsDone => _startupSettingsDone.Task;

    /// <summary>The settings in force.</summary>
    public CaptureSettings Settings => Volatile.Read(ref _settings);

    /// <summary>The running cameras (a copy).</summary>
    public IReadOnlyDictionary<string, CameraPipeline> Cameras
    {
        get
        {
            lock (_cameras)
            {
                return new Dictionary<string, CameraPipeline>(_cameras, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Validates the desired document over the configuration defaults and applies it; the twin handler.</summary>
    public async Task<DesiredPropertiesResult> OnDesiredPropertiesAsync(DesiredPropertiesArguments args, CancellationToken ct)
    {
        if (!TryBind(args.Desired, out var settings, out var errors))
        {
            var error = string.Join("; ", errors);
            _settingsError = error;
            Log.SettingsRejected(_logger, error);
            return DesiredPropertiesResult.Rejected(error, new JsonObject { ["settingsError"] = error });
        }

        _settingsError = null;
        await ApplyAsync(settings, ct).ConfigureAwait(false);
        var reported = DesiredSettings.ToJson(settings, CaptureSettingsJson.Default.CaptureSettings)!.AsObject();
        reported["settingsError"] = null;
        return DesiredPropertiesResult.Applied(reported);
    }

    /// <summary>Binds and validates a desired document (null = defaults only).</summary>
    public bool TryBind(JsonObject? desired, out CaptureSettings settings, out IReadOnlyList<string> errors)
    {
        var section = desired?.DeepClone().AsObject();
        if (section is not null)
        {
            // Not ours: metadata the hub may leave in the document.
            foreach (var key in section.Select(p => p.Key).Where(k => k.StartsWith('$')).ToList())
            {
                section.Remove(key);
            }
        }

        var mapErrors = new List<string>();
        var cameraKeys = section is null ? null : CaptureConfiguration.NormalizeCameraMap(section, mapErrors);
        if (mapErrors.Count > 0)
        {
            settings = _defaults.Settings;
            errors = mapErrors;
            return false;
        }

        if (!DesiredSettings.TryBind(section, Clone(_defaults.Settings), CaptureSettingsJson.Default.CaptureSettings, out settings, out errors))
        {
            errors = [.. errors.Select(e => CaptureConfiguration.MapPath(e, cameraKeys))];
            return false;
        }

        var cross = CaptureConfiguration.CrossChecks(settings).ToList();
        if (cross.Count > 0)
        {
            errors = [.. cross.Select(e => CaptureConfiguration.MapPath(e, cameraKeys))];
            settings = _defaults.Settings;
            return false;
        }

        return true;
    }

    /// <summary>Applies settings: removed cameras stop, new ones start, changed ones update live or reopen their source.</summary>
    public Task ApplyAsync(CaptureSettings next, CancellationToken ct) => ApplyAsync(next, onlyIfFirst: false, ct);

    private async Task ApplyAsync(CaptureSettings next, bool onlyIfFirst, CancellationToken ct)
    {
        await _applyGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (onlyIfFirst && _applied)
            {
                // The twin (or its cached copy) was applied first: it wins over the environment defaults.
                return;
            }

            _applied = true;
            var previous = Settings;
            Volatile.Write(ref _settings, next);
            if (FrameStoreRoot(next) != _frameStore.Root)
            {
                _frameStore = new FrameStore(FrameStoreRoot(next), _time);
            }

            var wanted = next.Cameras.ToDictionary(c => c.Id, StringComparer.Ordinal);
            int added = 0, changed = 0, removed = 0;
            List<CameraPipeline> stop;
            lock (_cameras)
            {
                stop = _cameras.Values.Where(p => !wanted.TryGetValue(p.Id, out var w) || CameraPipeline.RequiresRestart(p.Settings, w) ||
                    previous.FrameStore != next.FrameStore).ToList();
                foreach (var p in stop)
                {
                    _cameras.Remove(p.Id);
                }
            }

            foreach (var p in stop)
            {
                await p.DisposeAsync().ConfigureAwait(false);
                if (wanted.ContainsKey(p.Id))
                {
                    changed++;
                }
                else
                {
                    removed++;
                    await ReportAsync(new JsonObject { ["cameraStatus"] = new JsonObject { [p.Id] = null } }, ct).ConfigureAwait(false);
                }
            }

            var debounce = TimeSpan.FromSeconds(next.HealthDebounceSeconds);
            foreach (var camera in next.Cameras)
            {
                CameraPipeline? running;
                lock (_cameras)
                {
                    _cameras.TryGetValue(camera.Id, out running);
                }

                if (running is not null)
                {
                    running.SetDebounce(debounce);
                    if (running.Settings != camera)
                    {
                        running.Update(camera);
                        changed++;
                    }

                    continue;
                }

                var pipeline = new CameraPipeline(camera, NewContext(debounce));
                lock (_cameras)
                {
                    _cameras[camera.Id] = pipeline;
                }

                pipeline.Start();
                if (stop.All(p => p.Id != camera.Id))
                {
                    added++;
                }
            }

            Log.SettingsApplied(_logger, next.Cameras.Count, added, changed, removed);
            if (next.Cameras.Count == 0)
            {
                Log.NoCameras(_logger);
            }
        }
        finally
        {
            _applyGate.Release();
        }
    }

    /// <summary>Everything <c>getStatus</c> returns.</summary>
    public JsonObject StatusJson()
    {
        var cameras = new JsonObject();
        foreach (var (id, pipeline) in Cameras.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            cameras[id] = pipeline.StatusJson();
        }

        return new JsonObject
        {
            ["cameras"] = cameras,
            ["settingsError"] = _settingsError,
            ["frameStore"] = _frameStore.Root,
            ["at"] = _time.GetUtcNow().UtcDateTime.ToString("o", CultureInfo.InvariantCulture),
        };
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        List<CameraPipeline> all;
        lock (_cameras)
        {
            all = [.. _cameras.Values];
            _cameras.Clear();
        }

        foreach (var p in all)
        {
            await p.DisposeAsync().ConfigureAwait(false);
        }
    }

    public override void Dispose()
    {
        _applyGate.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_defaults.Errors.Count > 0)
        {
            _settingsError = string.Join("; ", _defaults.Errors);
            Log.SettingsRejected(_logger, _settingsError);
        }

        // Start from the configuration defaults unless the twin handler has already applied settings.
        if (TryBind(null, out var defaults, out var errors))
        {
            await ApplyAsync(defaults, onlyIfFirst: true, stoppingToken).ConfigureAwait(false);
        }
        else
        {
            _settingsError = string.Join("; ", errors);
            Log.SettingsRejected(_logger, _settingsError);
        }

        _startupSettingsDone.TrySetResult();

        await HousekeepingAsync(stoppingToken).ConfigureAwait(false);
    }

    private static CaptureSettings Clone(CaptureSettings s) => DesiredSettings.Clone(s, CaptureSettingsJson.Default.CaptureSettings);

    private string FrameStoreRoot(CaptureSettings s) => s.FrameStore is { Length: > 0 } root ? root : Path.Combine(_stateDirectory, "frames");

    private PipelineContext NewContext(TimeSpan debounce) => new(
        _time,
        _sourceFactory,
        _logger,
        _metrics,
        Path.Combine(_stateDirectory, "capture"),
        _frameStore,
        (message, ct) => _client.SendAsync(FramesOutput, message, ct),
        OnHealthChangedAsync)
    {
        HealthDebounce = debounce,
    };

    private async Task OnHealthChangedAsync(HealthEvent change, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["cameraId"] = change.CameraId,
            ["state"] = change.State.ToString().ToLowerInvariant(),
            ["previousState"] = change.PreviousState.ToString().ToLowerInvariant(),
            ["at"] = change.At.UtcDateTime.ToString("o", CultureInfo.InvariantCulture),
            ["lastFrameAt"] = change.LastFrameAt?.UtcDateTime.ToString("o", CultureInfo.InvariantCulture),
            ["reason"] = change.Reason,
        };
        var message = new EdgeMessage
        {
            Body = Encoding.UTF8.GetBytes(body.ToJsonString()),
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            CreationTime = change.At,
            Properties = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["cameraId"] = change.CameraId,
                ["state"] = change.State.ToString().ToLowerInvariant(),
            },
        };
        await _client.SendAsync(HealthOutput, message, ct).ConfigureAwait(false);
        if (Cameras.TryGetValue(change.CameraId, out var pipeline))
        {
            await ReportAsync(new JsonObject { ["cameraStatus"] = new JsonObject { [change.CameraId] = pipeline.StatusJson() } }, ct).ConfigureAwait(false);
        }
    }

    private async Task HousekeepingAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5), _time);
        var lastReport = _time.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                var settings = Settings;
                if (settings.Cameras.Any(c => c.Transport == FrameTransport.Reference) || Directory.Exists(_frameStore.Root))
                {
                    try
                    {
                        var deleted = _frameStore.Cleanup(TimeSpan.FromSeconds(settings.FrameStoreMaxAgeSeconds), settings.FrameStoreMaxMegabytes * 1024L * 1024L);
                        if (deleted > 0)
                        {
                            Log.FrameStoreCleaned(_logger, _frameStore.Root, deleted);
                        }
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        Log.FrameStoreCleanupFailed(_logger, ex);
                    }
                }

                if (_time.GetElapsedTime(lastReport) >= TimeSpan.FromSeconds(settings.StatusReportSeconds))
                {
                    lastReport = _time.GetTimestamp();
                    var status = StatusJson();
                    await ReportAsync(new JsonObject { ["cameraStatus"] = status["cameras"]!.DeepClone() }, ct).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private async Task ReportAsync(JsonObject patch, CancellationToken ct)
    {
        try
        {
            await _client.ReportPropertiesAsync(patch, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.ReportFailed(_logger, ex);
        }
    }

    private Task<MethodResponse> OnGetStatusAsync(MethodRequestArguments request, CancellationToken ct) =>
        Task.FromResult(MethodResponse.Ok(StatusJson()));

    private Task<MethodResponse> OnSnapshotAsync(MethodRequestArguments request, CancellationToken ct)
    {
        JsonNode? payload;
        try
        {
            payload = request.PayloadJson();
        }
        catch (System.Text.Json.JsonException ex)
        {
            return Task.FromResult(MethodResponse.Error(400, $"payload is not JSON: {ex.Message}"));
        }

        var cameras = Cameras;
        string? cameraId = null;
        var maxBytes = 65536;
        try
        {
            cameraId = payload?["cameraId"]?.GetValue<string>();
            maxBytes = payload?["maxBytes"]?.GetValue<int>() ?? maxBytes;
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException)
        {
            return Task.FromResult(MethodResponse.Error(400, "expected {\"cameraId\": string, \"maxBytes\": integer}"));
        }

        if (cameraId is null && cameras.Count == 1)
        {
            cameraId = cameras.Keys.Single();
        }

        if (cameraId is null || !cameras.TryGetValue(cameraId, out var pipeline))
        {
            return Task.FromResult(MethodResponse.Error(404, $"unknown camera '{cameraId}'; cameras: {string.Join(", ", cameras.Keys)}"));
        }

        if (maxBytes is < 1024 or > MaxSnapshotBytes)
        {
            return Task.FromResult(MethodResponse.Error(400, $"maxBytes must be between 1024 and {MaxSnapshotBytes} (method payloads are limited to 128 KB)"));
        }

        var snapshot = pipeline.Snapshot(maxBytes);
        if (snapshot is not { } s)
        {
            return Task.FromResult(MethodResponse.Error(503, $"camera '{cameraId}' has no frame yet (state {pipeline.Health.State.ToString().ToLowerInvariant()})"));
        }

        return Task.FromResult(MethodResponse.Ok(new JsonObject
        {
            ["cameraId"] = cameraId,
            ["contentType"] = "image/jpeg",
            ["width"] = s.Jpeg.Width,
            ["height"] = s.Jpeg.Height,
            ["quality"] = s.Jpeg.Quality,
            ["bytes"] = s.Jpeg.Bytes.Length,
            ["capturedAt"] = s.CapturedAt.UtcDateTime.ToString("o", CultureInfo.InvariantCulture),
            ["image"] = Convert.ToBase64String(s.Jpeg.Bytes),
        }));
    }
}
