using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using Edge.Runtime;

namespace CameraCapture;

/// <summary>
/// The module's settings: environment defaults (section <c>Capture</c> or the <c>CAMERA_*</c> shorthand) overlaid by the
/// twin's desired properties. Every key is documented in docs/configuration.md (## CameraCapture).
/// </summary>
public sealed class CaptureSettings
{
    /// <summary>The cameras this module instance captures from. The default is none.</summary>
    public List<CameraSettings> Cameras { get; set; } = [];

    /// <summary>
    /// Folder shared with consumers for <see cref="FrameTransport.Reference"/> cameras (a volume in production).
    /// Env <c>FRAME_STORE</c>. The default is <c>null</c>: reference transport then falls back to <c>{StateDirectory}/frames</c>.
    /// </summary>
    public string? FrameStore { get; set; }

    /// <summary>Files in the frame store older than this are deleted. The default is 300 seconds.</summary>
    [Range(5, 86_400)]
    public int FrameStoreMaxAgeSeconds { get; set; } = 300;

    /// <summary>The frame store is kept under this size, oldest files deleted first. The default is 512 MB.</summary>
    [Range(1, 1_048_576)]
    public int FrameStoreMaxMegabytes { get; set; } = 512;

    /// <summary>A camera's health state must hold this long before a state-change event is sent. The default is 2 seconds.</summary>
    [Range(0, 600)]
    public double HealthDebounceSeconds { get; set; } = 2;

    /// <summary>How often per-camera state and counters are written to reported properties. The default is 30 seconds.</summary>
    [Range(1, 3600)]
    public int StatusReportSeconds { get; set; } = 30;
}

/// <summary>One camera. Ids are unique within a module; changing any field restarts only that camera.</summary>
public sealed record CameraSettings
{
    /// <summary>Camera id: the <c>cameraId</c> message property and the key in reported status. Required.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", ErrorMessage = "id must be 1-64 characters of letters, digits, '_', '.', '-'")]
    public string Id { get; set; } = "";

    /// <summary>
    /// The source: <c>synthetic</c>, <c>synthetic:1280x720</c>, <c>synthetic:640x480@30,static</c>, <c>/dev/video0</c>, <c>device:0</c>,
    /// <c>rtsp://…</c>, <c>http(s)://…</c>, <c>file:///path/x.avi</c> or a plain file path, <c>folder:/path</c> or a directory path.
    /// </summary>
    [Required]
    [SourceString]
    public string Source { get; set; } = "";

    /// <summary>Target frames per second sent to <c>frames</c>. The default is 5.</summary>
    [Range(0.1, 60)]
    public double Fps { get; set; } = 5;

    /// <summary>Output width in pixels; 0 keeps the source width (or scales with <see cref="Height"/>). The default is 0.</summary>
    [Range(0, 7680)]
    public int Width { get; set; }

    /// <summary>Output height in pixels; 0 keeps the source height (or scales with <see cref="Width"/>). The default is 0.</summary>
    [Range(0, 4320)]
    public int Height { get; set; }

    /// <summary>JPEG quality (1-100); reduced automatically when a frame would exceed the hub's 256 KB limit. The default is 85.</summary>
    [Range(1, 100)]
    public int JpegQuality { get; set; } = 85;

    /// <summary>Video files rewind at the end. The default is true.</summary>
    public bool Loop { get; set; } = true;

    /// <summary><c>inline</c> (JPEG in the message) or <c>reference</c> (JPEG in the frame store, path + SHA-256 in the message). The default is inline.</summary>
    public FrameTransport Transport { get; set; } = FrameTransport.Inline;

    /// <summary>Optional motion gate. The default is disabled.</summary>
    [Required]
    public MotionSettings Motion { get; set; } = new();

    /// <summary>No new frame for this long means <c>stalled</c>. The default is 10 seconds.</summary>
    [Range(1, 3600)]
    public double StallTimeoutSeconds { get; set; } = 10;

    /// <summary>Identical frames for this long mean <c>frozen</c>. The default is 30 seconds.</summary>
    [Range(1, 86_400)]
    public double FrozenTimeoutSeconds { get; set; } = 30;

    /// <summary>The longest wait between reconnect attempts (exponential backoff with jitter from 1 s). The default is 30 seconds.</summary>
    [Range(1, 3600)]
    public double ReconnectMaxDelaySeconds { get; set; } = 30;
}

/// <summary>Validates a source string with <see cref="SourceSpec.TryParse"/>.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class SourceStringAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        value is not string { Length: > 0 } text || SourceSpec.TryParse(text, out _, out var error)
            ? ValidationResult.Success
            : new ValidationResult(error, [validationContext.MemberName ?? "Source"]);
}

/// <summary>The motion gate: frames whose change against a running background is below <see cref="Threshold"/> are not sent.</summary>
public sealed record MotionSettings
{
    /// <summary>Gate frames on motion. The default is false.</summary>
    public bool Enabled { get; set; }

    /// <summary>Fraction of pixels (0-1) that must differ from the background by more than <see cref="PixelDelta"/>. The default is 0.01.</summary>
    [Range(0.0, 1.0)]
    public double Threshold { get; set; } = 0.01;

    /// <summary>Grey-level difference (1-255) for a pixel to count as changed. The default is 25.</summary>
    [Range(1, 255)]
    public int PixelDelta { get; set; } = 25;

    /// <summary>Without motion, one frame is still sent this often (property <c>keepAlive=true</c>). The default is 60 seconds.</summary>
    [Range(1, 86_400)]
    public double KeepAliveSeconds { get; set; } = 60;
}

/// <summary>How a frame travels.</summary>
public enum FrameTransport
{
    /// <summary>The JPEG is the message body.</summary>
    Inline,

    /// <summary>The JPEG is written to the frame store; the message carries its path, size and SHA-256.</summary>
    Reference,
}

/// <summary>Source-generated JSON metadata for the settings (twin desired/reported form: camelCase, unknown keys rejected).</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    Converters = [typeof(CamelCaseEnumConverter<FrameTransport>)])]
[JsonSerializable(typeof(CaptureSettings))]
internal sealed partial class CaptureSettingsJson : JsonSerializerContext;
