using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;

namespace CameraCapture;

/// <summary>
/// Settings defaults from configuration, for a module with no twin: the <c>Capture</c> section
/// (<c>Capture__Cameras__0__Source</c>, <c>Capture__FrameStore</c>, ...) and, on top, the single-camera shorthand
/// <c>CAMERA_SOURCE</c>, <c>CAMERA_ID</c>, <c>CAMERA_FPS</c>, <c>CAMERA_WIDTH</c>, <c>CAMERA_HEIGHT</c>, <c>CAMERA_JPEG_QUALITY</c>,
/// <c>CAMERA_LOOP</c>, <c>CAMERA_TRANSPORT</c>, <c>CAMERA_MOTION</c>, <c>CAMERA_MOTION_THRESHOLD</c> and <c>FRAME_STORE</c>.
/// </summary>
internal static class CaptureConfiguration
{
    /// <summary>Reads the defaults; <paramref name="errors"/> lists values that could not be parsed (they keep their defaults).</summary>
    public static CaptureSettings FromConfiguration(IConfiguration configuration, out List<string> errors)
    {
        errors = [];
        var settings = new CaptureSettings();
        try
        {
            configuration.GetSection("Capture").Bind(settings);
        }
        catch (InvalidOperationException ex)
        {
            errors.Add($"Capture: {ex.Message}");
        }

        if (configuration["FRAME_STORE"] is { Length: > 0 } store)
        {
            settings.FrameStore = store;
        }

        if (configuration["CAMERA_SOURCE"] is not { Length: > 0 } source)
        {
            return settings;
        }

        var id = configuration["CAMERA_ID"] is { Length: > 0 } i ? i : "cam1";
        var camera = settings.Cameras.FirstOrDefault(c => c.Id == id);
        if (camera is null)
        {
            camera = new CameraSettings { Id = id };
            settings.Cameras.Add(camera);
        }

        camera.Source = source;
        var problems = errors;
        Parse("CAMERA_FPS", v => camera.Fps = double.Parse(v, CultureInfo.InvariantCulture));
        Parse("CAMERA_WIDTH", v => camera.Width = int.Parse(v, CultureInfo.InvariantCulture));
        Parse("CAMERA_HEIGHT", v => camera.Height = int.Parse(v, CultureInfo.InvariantCulture));
        Parse("CAMERA_JPEG_QUALITY", v => camera.JpegQuality = int.Parse(v, CultureInfo.InvariantCulture));
        Parse("CAMERA_LOOP", v => camera.Loop = bool.Parse(v));
        Parse("CAMERA_TRANSPORT", v => camera.Transport = Enum.Parse<FrameTransport>(v, ignoreCase: true));
        Parse("CAMERA_MOTION", v => camera.Motion.Enabled = bool.Parse(v));
        Parse("CAMERA_MOTION_THRESHOLD", v => camera.Motion.Threshold = double.Parse(v, CultureInfo.InvariantCulture));
        return settings;

        void Parse(string key, Action<string> apply)
        {
            if (configuration[key] is not { Length: > 0 } value)
            {
                return;
            }

            try
            {
                apply(value.Trim());
            }
            catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
            {
                problems.Add($"{key}: '{value}' is not valid ({ex.Message})");
            }
        }
    }

    /// <summary>
    /// The twin's <c>cameras</c> may be a map keyed by camera id (<c>{"cam1": {"source": …}, "cam2": {…}}</c>), the idiomatic
    /// shape for IoT Hub's desired properties: a merge patch then changes one camera (<c>{"cameras": {"cam2": {"fps": 2}}}</c>)
    /// or removes it (<c>{"cameras": {"cam2": null}}</c>) and leaves the others as they are. Rewrites the map in
    /// <paramref name="desired"/> into the array form the settings bind (each entry's <c>id</c> is its key, in key order) and
    /// returns the keys in that order, so errors can name <c>cameras.cam2.fps</c> instead of an index; null when
    /// <c>cameras</c> is absent or already an array. An entry that is not an object, or whose <c>id</c> differs from its key,
    /// is a problem in <paramref name="errors"/>.
    /// </summary>
    public static IReadOnlyList<string>? NormalizeCameraMap(JsonObject desired, List<string> errors)
    {
        if (desired["cameras"] is not JsonObject map)
        {
            return null;
        }

        var keys = new List<string>();
        var cameras = new JsonArray();
        foreach (var (key, value) in map)
        {
            switch (value)
            {
                case null:
                    continue; // a merge patch's delete that reached us unmerged: the camera is not configured
                case JsonObject camera:
                    if (camera["id"] is { } id && (id.GetValueKind() != System.Text.Json.JsonValueKind.String || id.GetValue<string>() != key))
                    {
                        errors.Add($"cameras.{key}.id: '{id.ToJsonString()}' differs from its key '{key}'; leave id out of the map form (the key is the id)");
                        continue;
                    }

                    var entry = (JsonObject)camera.DeepClone();
                    entry["id"] = key;
                    cameras.Add((JsonNode)entry);
                    keys.Add(key);
                    break;
                default:
                    errors.Add($"cameras.{key}: must be an object (a camera's settings) or null (remove it), got {value.GetValueKind()}");
                    break;
            }
        }

        desired["cameras"] = cameras;
        return keys;
    }

    /// <summary>Rewrites <c>cameras[i]</c> in <paramref name="error"/> as <c>cameras.{id}</c> when the twin used the map form.</summary>
    public static string MapPath(string error, IReadOnlyList<string>? keys)
    {
        var start = error.StartsWith("$.", StringComparison.Ordinal) ? 2 : 0;
        if (keys is null || string.CompareOrdinal(error, start, "cameras[", 0, 8) != 0)
        {
            return error;
        }

        var open = start + 8;
        var close = error.IndexOf(']', open);
        return close > open && int.TryParse(error.AsSpan(open, close - open), NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < keys.Count
            ? $"{error[..start]}cameras.{keys[i]}{error[(close + 1)..]}"
            : error;
    }

    /// <summary>Checks what DataAnnotations cannot: camera ids are unique.</summary>
    public static IEnumerable<string> CrossChecks(CaptureSettings settings)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < settings.Cameras.Count; i++)
        {
            if (settings.Cameras[i] is null)
            {
                yield return $"cameras[{i}]: must be an object";
            }
            else if (!seen.Add(settings.Cameras[i].Id))
            {
                yield return $"cameras[{i}].id: duplicate camera id '{settings.Cameras[i].Id}'";
            }
        }
    }
}
