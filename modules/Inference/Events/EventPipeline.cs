using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Edge.Runtime;
using Inference.Processing;
using Microsoft.Extensions.Logging;
using OpenCvSharp;

namespace Inference.Events;

/// <summary>
/// Turns per-frame detections into durable object events: one <see cref="EventEngine"/> per camera; events go out on output
/// <c>events</c> through the module client (the runtime's durable SQLite outbox: they survive a cloud outage, a hub restart and
/// <c>kill -9</c>), and a periodic <c>summary</c>. What must outlive the process — events whose <c>end</c> is still due, the
/// summary's counts — is written to <c>{stateDirectory}/events/state.json</c> (atomically: temporary file, then rename) before a
/// <c>new</c> is sent and after <c>new</c>/<c>end</c> were accepted. On start,
/// <see cref="RecoverAsync"/> ends every object left open with reason <c>restart</c> (re-sending its <c>new</c> first when the
/// process died before that was accepted), so an <c>end</c> never goes without its <c>new</c>. Tracks themselves are not
/// persisted: an object still in view after a restart is a new event.
/// </summary>
internal sealed class EventPipeline : IDisposable
{
    public const string EventsOutput = "events";
    public const string SummaryOutput = "summary";

    private readonly IModuleClient _client;
    private readonly string _statePath;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, EventEngine> _engines = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, OpenEvent> _open = new(StringComparer.Ordinal);
    private readonly string _runId;
    private Dictionary<string, CameraSummary> _counts = new(StringComparer.Ordinal);
    private DateTimeOffset _periodStart;
    private volatile EventSettings _settings;
    private long _new;
    private long _updates;
    private long _ends;
    private long _summaries;
    private long _refused;

    public EventPipeline(IModuleClient client, string stateDirectory, EventSettings settings, TimeProvider time, ILogger log)
    {
        _client = client;
        _statePath = Path.Combine(stateDirectory, "events", "state.json");
        _settings = settings;
        Defaults = settings;
        _time = time;
        _log = log;
        _periodStart = time.GetUtcNow();
        // Start time plus 32 random bits: ids stay unique across restarts even when two starts share a millisecond (or a clock).
        _runId = time.GetUtcNow().ToUnixTimeMilliseconds().ToString("x", CultureInfo.InvariantCulture) + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));
    }

    public EventSettings Settings => _settings;

    /// <summary>The settings from the environment/appsettings, under the twin's <c>events</c> section.</summary>
    public EventSettings Defaults { get; }

    public long NewSent => Interlocked.Read(ref _new);

    public long UpdatesSent => Interlocked.Read(ref _updates);

    public long EndsSent => Interlocked.Read(ref _ends);

    /// <summary>Validates the desired <c>events</c> section over the defaults (the whole section is the unit: invalid means none of it).</summary>
    public static bool TryBind(JsonNode? section, EventSettings defaults, out EventSettings settings, out IReadOnlyList<string> errors) =>
        DesiredSettings.TryBind(section, defaults, EventSettingsJson.Default.EventSettings, out settings, out errors);

    public static JsonNode? ToJson(EventSettings s) => DesiredSettings.ToJson(s, EventSettingsJson.Default.EventSettings);

    /// <summary>Applies validated settings from the next frame of each camera.</summary>
    public void Apply(EventSettings settings)
    {
        _settings = settings;
        Log.EventSettingsApplied(_log, ToJson(settings)?.ToJsonString() ?? "{}");
    }

    /// <summary>The live objects of a camera (for status and the dashboard): id, label, box, confirmed, stationary, zones.</summary>
    public JsonArray LiveObjects(string camera)
    {
        var list = new JsonArray();
        if (_engines.TryGetValue(camera, out var engine))
        {
            lock (engine)
            {
                foreach (var t in engine.Tracks)
                {
                    var zones = new JsonArray();
                    for (var i = 0; i < t.Zones.Length && i < engine.Zones.Count; i++)
                    {
                        if (t.Zones[i].Present)
                        {
                            zones.Add((JsonNode)engine.Zones[i].Name);
                        }
                    }

                    var b = t.Box;
                    list.Add((JsonNode)new JsonObject
                    {
                        ["id"] = t.Id, ["label"] = t.Label, ["confirmed"] = t.Confirmed, ["stationary"] = t.Stationary,
                        ["score"] = MathF.Round(t.Score, 3), ["box"] = new JsonArray(MathF.Round(b.X, 4), MathF.Round(b.Y, 4), MathF.Round(b.W, 4), MathF.Round(b.H, 4)),
                        ["zones"] = zones,
                    });
                }
            }
        }

        return list;
    }

    public JsonObject StatusJson()
    {
        var cameras = new JsonObject();
        foreach (var camera in _engines.Keys.Order(StringComparer.Ordinal))
        {
            cameras[camera] = LiveObjects(camera);
        }

        return new JsonObject
        {
            ["settings"] = ToJson(_settings),
            ["newSent"] = NewSent,
            ["updatesSent"] = UpdatesSent,
            ["endsSent"] = EndsSent,
            ["summariesSent"] = Interlocked.Read(ref _summaries),
            ["refused"] = Interlocked.Read(ref _refused),
            ["objects"] = cameras,
        };
    }

    /// <summary>Ends (reason <c>restart</c>) what a previous run left open; loads the summary period. Call once, before frames.</summary>
    public async Task RecoverAsync(CancellationToken ct)
    {
        EventState? state = null;
        try
        {
            if (File.Exists(_statePath))
            {
                state = JsonSerializer.Deserialize(await File.ReadAllBytesAsync(_statePath, ct).ConfigureAwait(false), EventsJsonContext.Default.EventState);
            }
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            Log.EventStateUnreadable(_log, _statePath, ex.Message);
        }

        if (state is null)
        {
            return;
        }

        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            _periodStart = state.PeriodStart;
            _counts = new Dictionary<string, CameraSummary>(state.Counts, StringComparer.Ordinal);
            foreach (var open in state.Open)
            {
                _open[open.Last.EventId] = open;
            }

            foreach (var open in state.Open)
            {
                if (!open.NewSent)
                {
                    await SendEventAsync(open.Last with { Replayed = true }, ct).ConfigureAwait(false);
                }

                var end = open.Last with { Type = ObjectEvent.End, Changes = null, EndReason = "restart", Replayed = null };
                await SendEventAsync(end, ct).ConfigureAwait(false);
                Log.EventEndedOnRestart(_log, end.CameraId, end.EventId);
            }

            _open.Clear();
            await SaveAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs one inferred frame of a camera through its tracker, zones and rules, and sends what it emits.</summary>
    public async Task OnFrameAsync(string camera, long seq, string? capturedAt, string? frameRef, Mat? image, IReadOnlyList<Detection> detections, CancellationToken ct)
    {
        var settings = _settings;
        if (!settings.Enabled && !_engines.ContainsKey(camera))
        {
            return;
        }

        var engine = _engines.GetOrAdd(camera, c => new EventEngine(c, _runId, settings));
        List<ObjectEvent>? events = null;
        lock (engine)
        {
            var emitted = new List<ObjectEvent>(0);
            if (!settings.Enabled)
            {
                engine.EndAll("disabled", emitted);
                _engines.TryRemove(camera, out _);
            }
            else
            {
                engine.Configure(settings);
                engine.Process(detections, Seconds(capturedAt), seq, capturedAt, frameRef, emitted);
                if (settings.SnapshotMaxBytes > 0 && image is not null)
                {
                    foreach (var t in engine.SnapshotDue)
                    {
                        t.Best = t.Best with { Jpeg = Snapshot(image, t.Best.Box, settings.SnapshotMaxBytes) };
                    }
                }
            }

            if (emitted.Count > 0)
            {
                events = emitted;
            }
        }

        if (events is not null)
        {
            await PublishAsync(events, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Sends a <c>summary</c> every <see cref="EventSettings.SummaryMinutes"/> (re-read each period; 0 = off).</summary>
    public async Task RunSummariesAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var minutes = _settings.SummaryMinutes;
                var due = minutes > 0 ? _periodStart + TimeSpan.FromMinutes(minutes) : _time.GetUtcNow() + TimeSpan.FromMinutes(1);
                var wait = due - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, ct).ConfigureAwait(false);
                }

                if (_settings.SummaryMinutes > 0 && _time.GetUtcNow() >= _periodStart + TimeSpan.FromMinutes(_settings.SummaryMinutes))
                {
                    await SendSummaryAsync(ct).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Sends the summary of the period so far and starts a new period.</summary>
    public async Task SendSummaryAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var summary = new EventSummary(_periodStart, now, _counts);
            var message = new EdgeMessage
            {
                Body = JsonSerializer.SerializeToUtf8Bytes(summary, EventsJsonContext.Default.EventSummary),
                ContentType = "application/json",
                ContentEncoding = "utf-8",
                CreationTime = now,
                MessageId = $"summary-{_periodStart.ToUnixTimeMilliseconds()}",
                Properties = new Dictionary<string, string>(StringComparer.Ordinal) { ["messageType"] = "summary" },
            };
            var result = await _client.SendAsync(SummaryOutput, message, ct).ConfigureAwait(false);
            if (result.IsAccepted)
            {
                Interlocked.Increment(ref _summaries);
            }
            else
            {
                Interlocked.Increment(ref _refused);
                Log.SendRefused(_log, SummaryOutput, "*", -1, result.Status.ToString());
            }

            _counts = new Dictionary<string, CameraSummary>(StringComparer.Ordinal);
            _periodStart = now;
            await SaveAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task PublishAsync(List<ObjectEvent> events, CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            // Record every new object before its 'new' is sent: if the process dies in between, recovery re-sends it, then ends it.
            var anyNew = false;
            foreach (var e in events)
            {
                if (e.Type == ObjectEvent.New)
                {
                    _open[e.EventId] = new OpenEvent(e, NewSent: false);
                    anyNew = true;
                }
            }

            if (anyNew)
            {
                await SaveAsync(ct).ConfigureAwait(false);
            }

            var changed = anyNew;
            foreach (var e in events)
            {
                await SendEventAsync(e, ct).ConfigureAwait(false);
                Count(e);
                if (e.Type == ObjectEvent.End)
                {
                    _open.Remove(e.EventId);
                    changed = true;
                }
                else
                {
                    _open[e.EventId] = new OpenEvent(e, NewSent: true);
                }
            }

            // Updates alone do not rewrite the state: an 'end' after a restart is then built from an older event of the object
            // (its zones and path as of then), which is still the right object, and an 'update' costs no file write.
            if (changed)
            {
                await SaveAsync(ct).ConfigureAwait(false);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Count(ObjectEvent e)
    {
        if (!_counts.TryGetValue(e.CameraId, out var c))
        {
            _counts[e.CameraId] = c = new CameraSummary(new(StringComparer.Ordinal), new(StringComparer.Ordinal), 0);
        }

        _counts[e.CameraId] = c = c with { Events = c.Events + 1 };
        if (e.Type == ObjectEvent.New)
        {
            c.Objects[e.Label] = c.Objects.GetValueOrDefault(e.Label) + 1;
        }

        var entered = e.Type == ObjectEvent.New ? e.Zones : (IEnumerable<string>?)e.Changes?.Where(x => x.StartsWith("entered:", StringComparison.Ordinal)).Select(x => x["entered:".Length..]) ?? [];
        foreach (var zone in entered)
        {
            if (!c.Zones.TryGetValue(zone, out var perLabel))
            {
                c.Zones[zone] = perLabel = new Dictionary<string, int>(StringComparer.Ordinal);
            }

            perLabel[e.Label] = perLabel.GetValueOrDefault(e.Label) + 1;
        }
    }

    private async Task SendEventAsync(ObjectEvent e, CancellationToken ct)
    {
        var id = e.Type switch
        {
            ObjectEvent.New => e.EventId + ":new",
            ObjectEvent.End => e.EventId + ":end",
            _ => $"{e.EventId}:update:{e.LastSeen.ToUnixTimeMilliseconds()}",
        };
        var body = JsonSerializer.SerializeToUtf8Bytes(e, EventsJsonContext.Default.ObjectEvent);
        var message = new EdgeMessage
        {
            Body = body,
            ContentType = "application/json",
            ContentEncoding = "utf-8",
            CreationTime = _time.GetUtcNow(),
            MessageId = id,
            Properties = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["cameraId"] = e.CameraId,
                ["messageType"] = "event",
                ["eventType"] = e.Type,
                ["label"] = e.Label,
            },
        };
        var result = await _client.SendAsync(EventsOutput, message, ct).ConfigureAwait(false);
        if (!result.IsAccepted)
        {
            Interlocked.Increment(ref _refused);
            Log.SendRefused(_log, EventsOutput, e.CameraId, e.ObjectId, result.Status.ToString());
            return;
        }

        switch (e.Type)
        {
            case ObjectEvent.New:
                Interlocked.Increment(ref _new);
                break;
            case ObjectEvent.End:
                Interlocked.Increment(ref _ends);
                break;
            default:
                Interlocked.Increment(ref _updates);
                break;
        }

        Log.EventSent(_log, e.CameraId, e.Type, e.EventId, e.Label);
    }

    private async Task SaveAsync(CancellationToken ct)
    {
        var state = new EventState([.. _open.Values], _periodStart, _counts);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(state, EventsJsonContext.Default.EventState);
        Directory.CreateDirectory(Path.GetDirectoryName(_statePath)!);
        var tmp = _statePath + ".tmp";
        var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 4096, useAsync: true);
        await using (file.ConfigureAwait(false))
        {
            // Written to the OS, not forced to the disk: the rename below makes the switch atomic, so a killed process leaves
            // the old or the new file, never half of one. (A power cut may lose the latest version: then some objects get no
            // 'end'; an 'end' without its 'new' still cannot happen.)
            await file.WriteAsync(bytes, ct).ConfigureAwait(false);
        }

        File.Move(tmp, _statePath, overwrite: true);
    }

    private double Seconds(string? capturedAt) =>
        (capturedAt is not null && DateTimeOffset.TryParse(capturedAt, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at)
            ? at : _time.GetUtcNow()).ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>A small JPEG of the object (its box plus a margin, at most 96 px, then 48 px) when it fits in <paramref name="maxBytes"/>.</summary>
    private static byte[]? Snapshot(Mat image, NormalizedBox box, int maxBytes)
    {
        var margin = 0.15f;
        var x0 = Math.Clamp((int)((box.X - (box.W * margin)) * image.Width), 0, image.Width - 1);
        var y0 = Math.Clamp((int)((box.Y - (box.H * margin)) * image.Height), 0, image.Height - 1);
        var x1 = Math.Clamp((int)((box.X + (box.W * (1 + margin))) * image.Width), x0 + 1, image.Width);
        var y1 = Math.Clamp((int)((box.Y + (box.H * (1 + margin))) * image.Height), y0 + 1, image.Height);
        using var crop = new Mat(image, new Rect(x0, y0, x1 - x0, y1 - y0));
        foreach (var side in (ReadOnlySpan<int>)[96, 48])
        {
            var scale = Math.Min(1.0, side / (double)Math.Max(crop.Width, crop.Height));
            using var small = new Mat();
            Cv2.Resize(crop, small, new Size(Math.Max(1, (int)(crop.Width * scale)), Math.Max(1, (int)(crop.Height * scale))), 0, 0, InterpolationFlags.Area);
            Cv2.ImEncode(".jpg", small, out var jpeg, new ImageEncodingParam(ImwriteFlags.JpegQuality, 70));
            if (jpeg.Length * 4 / 3 <= maxBytes)
            {
                return jpeg;
            }
        }

        return null;
    }

    public void Dispose() => _gate.Dispose();
}
