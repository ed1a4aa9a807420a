using Inference.Processing;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Inference.Models;

/// <summary>
/// Downloads (Polly pipeline <c>model-load</c>: retry with exponential backoff + jitter, per-attempt timeout innermost), verifies
/// the SHA-256, caches by hash under <c>{StateDirectory}/models</c>, loads, validates and warms up a model, then swaps it in
/// atomically. Frames keep flowing on the old model meanwhile; on any failure the old model stays and <see cref="Status"/>
/// says why. The last good model is recorded in <c>active.json</c> and served on an offline boot.
/// </summary>
internal sealed class ModelManager : IDisposable
{
    public const string PipelineName = "model-load";
    private readonly string _cacheDir;
    private readonly HttpClient _http;
    private readonly ResiliencePipeline _pipeline;
    private readonly SessionConfig _session;
    private readonly long _maxBytes;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private LoadedModel? _active;
    private ModelSettings? _requested;
    private volatile ModelStatus _status = ModelStatus.None;

    public ModelManager(string stateDirectory, InferenceOptions options, HttpClient http, TimeProvider time, ILogger<ModelManager> log)
    {
        _cacheDir = Path.Combine(stateDirectory, "models");
        Directory.CreateDirectory(_cacheDir);
        _http = http;
        _time = time;
        _log = log;
        _session = new SessionConfig(options.ExecutionProvider, options.IntraOpThreads);
        _maxBytes = options.MaxModelSizeMb * 1024L * 1024L;
        _pipeline = new ResiliencePipelineBuilder { Name = PipelineName, TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>().Handle<TimeoutRejectedException>().Handle<IOException>(),
                MaxRetryAttempts = Math.Max(1, options.DownloadRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(options.DownloadRetryDelaySeconds),
                MaxDelay = TimeSpan.FromSeconds(60),
            })
            .AddTimeout(TimeSpan.FromSeconds(options.DownloadTimeoutSeconds))
            .Build();
        if (options.DownloadRetries == 0)
        {
            _pipeline = new ResiliencePipelineBuilder { Name = PipelineName, TimeProvider = time }
                .AddTimeout(TimeSpan.FromSeconds(options.DownloadTimeoutSeconds)).Build();
        }
    }

    /// <summary>The current status (what serves, what was last attempted and why it failed).</summary>
    public ModelStatus Status => _status;

    /// <summary>Raised after every status change (loading, ready, failed).</summary>
    public event Action<ModelStatus>? StatusChanged;

    /// <summary>The model in service, or null before the first successful load.</summary>
    public LoadedModel? Active => Volatile.Read(ref _active);

    /// <summary>Takes a reference on the model in service for one frame; release it with <see cref="LoadedModel.Release"/>.</summary>
    public LoadedModel? Acquire()
    {
        while (true)
        {
            var m = Volatile.Read(ref _active);
            if (m is null || m.TryAcquire())
            {
                return m;
            }
        }
    }

    /// <summary>Boot: serve the last good model from the cache when there is one (works offline), else load <paramref name="defaults"/>.</summary>
    public async Task<ModelStatus> StartAsync(ModelSettings defaults, CancellationToken ct)
    {
        var record = Path.Combine(_cacheDir, "active.json");
        if (File.Exists(record))
        {
            try
            {
                var last = JsonSerializer.Deserialize(await File.ReadAllBytesAsync(record, ct).ConfigureAwait(false), InferenceJsonContext.Default.ModelSettings);
                if (last?.Sha256 is { } sha && File.Exists(CachePath(sha)))
                {
                    var status = await ApplyAsync(last, force: false, ct).ConfigureAwait(false);
                    if (Active is not null)
                    {
                        return status;
                    }
                }
            }
            catch (JsonException ex)
            {
                Log.ModelRecordUnreadable(_log, record, ex.Message);
            }
        }

        return await ApplyAsync(defaults, force: false, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Makes <paramref name="desired"/> the model in service unless it already is (or <paramref name="force"/>). Never throws for a
    /// bad model: the returned status carries the reason and the previous model keeps serving.
    /// </summary>
    public async Task<ModelStatus> ApplyAsync(ModelSettings desired, bool force, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _requested = desired.Clone();
            var current = Active;
            if (!force && current is not null && SameModel(current.Settings, desired))
            {
                return _status;
            }

            var label = $"{desired.Name} {desired.Version}".Trim();
            SetStatus(_status with { Status = "loading", Error = null, Requested = label });
            var started = Stopwatch.GetTimestamp();
            try
            {
                var (path, sha) = await FetchModelAsync(desired, ct).ConfigureAwait(false);
                var labels = desired.LabelsUrl is { Length: > 0 } ? await FetchLabelsAsync(desired, ct).ConfigureAwait(false) : null;
                var settings = desired.Clone();
                settings.Sha256 = sha;
                var model = await Task.Run(() => LoadedModel.Load(path, sha, settings, labels, _session), ct).ConfigureAwait(false);
                var loadMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                var old = Interlocked.Exchange(ref _active, model);
                old?.Dispose();
                await File.WriteAllBytesAsync(Path.Combine(_cacheDir, "active.json"), JsonSerializer.SerializeToUtf8Bytes(settings, InferenceJsonContext.Default.ModelSettings), ct).ConfigureAwait(false);
                Log.ModelLoaded(_log, settings.Name, settings.Version, sha, loadMs, model.Provider);
                if (model.ProviderError is { } pe)
                {
                    Log.ExecutionProviderFallback(_log, pe);
                }

                SetStatus(new ModelStatus("ready", null, settings.Name, settings.Version, sha, settings.Profile.ToString().ToLowerInvariant(), loadMs,
                    _time.GetUtcNow(), model.Provider, model.ProviderError, label));
            }
            catch (Exception ex) when (ex is ModelValidationException or ModelFetchException or HttpRequestException or IOException or TimeoutRejectedException
                or UnauthorizedAccessException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
            {
                var reason = ex switch
                {
                    HttpRequestException h => $"download failed: {h.Message}",
                    TimeoutRejectedException or OperationCanceledException => "download timed out",
                    IOException io => $"file error: {io.Message}",
                    _ => ex.Message,
                };
                var serving = Active is { } a ? $"; still serving {a.Settings.Name} {a.Settings.Version}" : "; no model in service";
                Log.ModelLoadFailed(_log, label, reason + serving);
                SetStatus(_status with { Status = "failed", Error = reason + serving, Requested = label });
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                SetStatus(_status with { Status = Active is null ? "none" : "ready", Error = "load cancelled (shutting down)", Requested = label });
            }

            return _status;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Reloads the last requested model (re-verified, re-warmed) even if it is the one in service.</summary>
    public Task<ModelStatus> ReloadAsync(CancellationToken ct) =>
        _requested is { } r ? ApplyAsync(r, force: true, ct) : Task.FromResult(_status);

    public void Dispose()
    {
        Interlocked.Exchange(ref _active, null)?.Dispose();
        _gate.Dispose();
    }

    internal string CachePath(string sha) => Path.Combine(_cacheDir, sha.ToLowerInvariant() + ".onnx");

    private static bool SameModel(ModelSettings active, ModelSettings desired)
    {
        if (desired.Sha256 is { } sha && !string.Equals(sha, active.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var x = active.Clone();
        var y = desired.Clone();
        x.Sha256 = y.Sha256 = null;
        return JsonSerializer.Serialize(x, InferenceJsonContext.Default.ModelSettings) == JsonSerializer.Serialize(y, InferenceJsonContext.Default.ModelSettings);
    }

    private void SetStatus(ModelStatus status)
    {
        _status = status;
        StatusChanged?.Invoke(status);
    }

    private async Task<(string Path, string Sha)> FetchModelAsync(ModelSettings desired, CancellationToken ct)
    {
        var expected = desired.Sha256?.ToLowerInvariant();
        if (expected is not null && File.Exists(CachePath(expected)))
        {
            return (CachePath(expected), expected);
        }

        var temp = Path.Combine(_cacheDir, $"download-{Guid.NewGuid():N}.tmp");
        try
        {
            var sha = await FetchAsync(desired.Url, temp, expected, requireHash: true, ct).ConfigureAwait(false);
            var path = CachePath(sha);
            File.Move(temp, path, overwrite: true);
            return (path, sha);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private async Task<List<string>> FetchLabelsAsync(ModelSettings desired, CancellationToken ct)
    {
        var temp = Path.Combine(_cacheDir, $"labels-{Guid.NewGuid():N}.tmp");
        try
        {
            await FetchAsync(desired.LabelsUrl!, temp, desired.LabelsSha256?.ToLowerInvariant(), requireHash: false, ct).ConfigureAwait(false);
            var lines = (await File.ReadAllLinesAsync(temp, ct).ConfigureAwait(false)).Select(l => l.Trim()).ToList();
            while (lines.Count > 0 && lines[^1].Length == 0)
            {
                lines.RemoveAt(lines.Count - 1);
            }

            return lines.Count > 0 ? lines : throw new ModelFetchException($"labels file {desired.LabelsUrl} is empty");
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Copies a file or downloads a URL into <paramref name="target"/>, hashing as it goes; returns the SHA-256 (hex).</summary>
    private async Task<string> FetchAsync(string url, string target, string? expected, bool requireHash, CancellationToken ct)
    {
        string sha;
        if (TryLocalPath(url, out var local))
        {
            if (!File.Exists(local))
            {
                throw new ModelFetchException($"model file not found: {local}");
            }

            var src = File.OpenRead(local);
            await using (src.ConfigureAwait(false))
            {
                sha = await CopyHashedAsync(src, target, ct).ConfigureAwait(false);
            }
        }
        else if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
        {
            if (requireHash && expected is null)
            {
                throw new ModelFetchException("model.sha256 is required for http(s) model URLs");
            }

            sha = await _pipeline.ExecuteAsync(async token =>
            {
                using var response = await _http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
                if ((int)response.StatusCode is >= 400 and < 500 and not 408 and not 429)
                {
                    throw new ModelFetchException($"download of {Redact(uri)} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
                }

                response.EnsureSuccessStatusCode();
                var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false);
                await using var bodyScope = body.ConfigureAwait(false);
                return await CopyHashedAsync(body, target, token).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        else
        {
            throw new ModelFetchException($"unsupported model URL '{url}': use https://, http://, file:// or an absolute path");
        }

        if (expected is not null && sha != expected)
        {
            throw new ModelFetchException($"sha256 mismatch for {RedactText(url)}: expected {expected}, got {sha}");
        }

        return sha;
    }

    private async Task<string> CopyHashedAsync(Stream src, string target, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var dst = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 81920, useAsync: true);
        await using var dstScope = dst.ConfigureAwait(false);
        var buffer = new byte[81920];
        long total = 0;
        int n;
        while ((n = await src.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            total += n;
            if (total > _maxBytes)
            {
                throw new ModelFetchException($"model is larger than MaxModelSizeMb ({_maxBytes / 1024 / 1024} MB)");
            }

            hash.AppendData(buffer, 0, n);
            await dst.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static bool TryLocalPath(string url, out string path)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.IsFile)
        {
            path = uri.LocalPath;
            return true;
        }

        path = url;
        return Path.IsPathFullyQualified(url);
    }

    // SAS tokens and credentials in query strings never reach logs or reported properties.
    private static string Redact(Uri uri) => uri.GetLeftPart(UriPartial.Path);

    private static string RedactText(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) && !u.IsFile ? Redact(u) : url;
}

/// <summary>A model or labels file that could not be fetched or verified; the message says why.</summary>
internal sealed class ModelFetchException(string message) : Exception(message);
