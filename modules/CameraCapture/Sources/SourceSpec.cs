using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;

namespace CameraCapture;

/// <summary>What kind of source a camera reads.</summary>
internal enum SourceKind
{
    /// <summary>Built-in generator of deterministic moving shapes.</summary>
    Synthetic,

    /// <summary>A V4L2/USB device by index or path.</summary>
    Device,

    /// <summary>A network stream (RTSP, HTTP, MJPEG) through FFmpeg.</summary>
    Stream,

    /// <summary>A video file through FFmpeg, read at its native rate.</summary>
    File,

    /// <summary>A folder of images, one per tick, in name order.</summary>
    Folder,
}

/// <summary>A parsed source string. See <see cref="CameraSettings.Source"/> for the accepted forms.</summary>
internal sealed partial record SourceSpec(SourceKind Kind, string Location, int Width = 0, int Height = 0, double Fps = 0, bool Static = false)
{
    /// <summary>The device index for <c>device:N</c>, or -1 for a device path.</summary>
    public int DeviceIndex => Kind == SourceKind.Device && int.TryParse(Location, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : -1;

    /// <summary>Parses a source string; <paramref name="error"/> says what is wrong with it.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out SourceSpec? spec, [NotNullWhen(false)] out string? error)
    {
        spec = null;
        error = null;
        var s = text?.Trim() ?? "";
        if (s.Length == 0)
        {
            error = "source is empty";
            return false;
        }

        if (s.Equals("synthetic", StringComparison.OrdinalIgnoreCase) || s.StartsWith("synthetic:", StringComparison.OrdinalIgnoreCase))
        {
            return TryParseSynthetic(s.Length > "synthetic".Length ? s["synthetic:".Length..] : "", out spec, out error);
        }

        if (s.StartsWith("device:", StringComparison.OrdinalIgnoreCase))
        {
            var rest = s["device:".Length..];
            if (rest.Length == 0)
            {
                error = "device: needs an index (device:0) or a path (device:/dev/video0)";
                return false;
            }

            spec = new SourceSpec(SourceKind.Device, rest);
            return true;
        }

        if (s.StartsWith("/dev/", StringComparison.Ordinal))
        {
            spec = new SourceSpec(SourceKind.Device, s);
            return true;
        }

        if (s.StartsWith("folder:", StringComparison.OrdinalIgnoreCase))
        {
            var rest = s["folder:".Length..];
            if (rest.Length == 0)
            {
                error = "folder: needs a path";
                return false;
            }

            spec = new SourceSpec(SourceKind.Folder, rest);
            return true;
        }

        if (s.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(s, UriKind.Absolute, out var uri) || !uri.IsFile)
            {
                error = $"'{s}' is not a valid file URI (file:///absolute/path)";
                return false;
            }

            spec = new SourceSpec(SourceKind.File, uri.LocalPath);
            return true;
        }

        var scheme = s.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0)
        {
            var name = s[..scheme].ToLowerInvariant();
            if (name is "rtsp" or "rtsps" or "rtmp" or "http" or "https" or "udp" or "tcp" or "srt")
            {
                if (!Uri.TryCreate(s, UriKind.Absolute, out _))
                {
                    error = $"'{Redact(s)}' is not a valid URL";
                    return false;
                }

                spec = new SourceSpec(SourceKind.Stream, s);
                return true;
            }

            error = $"unsupported URL scheme '{name}' (use rtsp, http, https, rtmp, udp, tcp, srt or file)";
            return false;
        }

        // A plain path: a directory is a folder source, anything else a video file. Existence is checked when opening.
        spec = Directory.Exists(s) ? new SourceSpec(SourceKind.Folder, s) : new SourceSpec(SourceKind.File, s);
        return true;
    }

    /// <summary>The source for logs and reported properties, with URL credentials removed.</summary>
    public override string ToString() => Kind switch
    {
        SourceKind.Synthetic => $"synthetic:{Width}x{Height}@{Fps.ToString(CultureInfo.InvariantCulture)}{(Static ? ",static" : "")}",
        SourceKind.Stream => Redact(Location),
        _ => $"{Kind.ToString().ToLowerInvariant()}:{Location}",
    };

    /// <summary>Removes <c>user:password@</c> from a URL.</summary>
    public static string Redact(string url) => CredentialsRegex().Replace(url, "$1***@");

    private static bool TryParseSynthetic(string args, out SourceSpec? spec, out string? error)
    {
        int w = 640, h = 480;
        double fps = 30;
        var isStatic = false;
        spec = null;
        error = null;
        foreach (var part in args.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part.Equals("static", StringComparison.OrdinalIgnoreCase))
            {
                isStatic = true;
                continue;
            }

            var m = SizeRegex().Match(part);
            if (!m.Success)
            {
                error = $"synthetic option '{part}' is not WIDTHxHEIGHT[@FPS] or 'static'";
                return false;
            }

            w = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            h = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            if (m.Groups[3].Success)
            {
                fps = double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
            }
        }

        if (w is < 16 or > 7680 || h is < 16 or > 4320 || fps is < 0.1 or > 240)
        {
            error = $"synthetic size {w}x{h}@{fps} is out of range (16x16 to 7680x4320, 0.1 to 240 fps)";
            return false;
        }

        spec = new SourceSpec(SourceKind.Synthetic, "synthetic", w, h, fps, isStatic);
        return true;
    }

    [GeneratedRegex(@"^(\d{2,4})x(\d{2,4})(?:@(\d+(?:\.\d+)?))?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SizeRegex();

    [GeneratedRegex(@"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@", RegexOptions.CultureInvariant)]
    private static partial Regex CredentialsRegex();
}
