using System.ComponentModel.DataAnnotations;

namespace Inference.Models;

/// <summary>The post-processing family a model belongs to.</summary>
public enum ModelProfile
{
    /// <summary>MediaPipe BlazeFace (front 128 / back 256): anchors, sigmoid scores, box + 6 keypoints, weighted NMS.</summary>
    Blazeface,

    /// <summary>YOLOv5 <c>[1,N,5+C]</c> or YOLOv8 <c>[1,4+C,N]</c> export layouts, class-wise NMS.</summary>
    Yolo,

    /// <summary>SSD-style exports with separate boxes/classes/scores (and optional count) outputs.</summary>
    Ssd,

    /// <summary>Image classification: softmax (when needed) and top-k over a labels file.</summary>
    Classification,
}

/// <summary>Tensor layout of the image input.</summary>
public enum TensorLayout
{
    /// <summary>Read from the input metadata (a dimension of 1 or 3 at index 1 means NCHW, at index 3 NHWC).</summary>
    Auto,

    /// <summary>Batch, channels, height, width.</summary>
    Nchw,

    /// <summary>Batch, height, width, channels.</summary>
    Nhwc,
}

/// <summary>Channel order the model expects.</summary>
public enum ColorOrder
{
    /// <summary>Red, green, blue (most exports).</summary>
    Rgb,

    /// <summary>Blue, green, red (OpenCV-trained models).</summary>
    Bgr,
}

/// <summary>How the frame is fitted to the model input.</summary>
public enum ResizeMode
{
    /// <summary>Keep the aspect ratio and pad (centred); boxes are mapped back to the frame.</summary>
    Letterbox,

    /// <summary>Stretch to the input size.</summary>
    Stretch,
}

/// <summary>YOLO output layout.</summary>
public enum YoloLayout
{
    /// <summary>From the output shape: <c>[1,N,5+C]</c> with N &gt; 5+C is v5, <c>[1,4+C,N]</c> is v8.</summary>
    Auto,

    /// <summary><c>[1,N,5+C]</c>: cx, cy, w, h, objectness, class scores.</summary>
    V5,

    /// <summary><c>[1,4+C,N]</c>: cx, cy, w, h, class scores (no objectness).</summary>
    V8,
}

/// <summary>SSD box coordinate order.</summary>
public enum BoxFormat
{
    /// <summary>ymin, xmin, ymax, xmax (TensorFlow object detection API).</summary>
    Yxyx,

    /// <summary>xmin, ymin, xmax, ymax.</summary>
    Xyxy,
}

/// <summary>
/// The model to serve and how to feed it: twin desired <c>model</c>, env <c>Model__*</c>. Everything about the input
/// (layout, size, colour order, normalisation, element type) is a setting; unset values come from the model's input
/// metadata and the profile's defaults.
/// </summary>
public sealed class ModelSettings
{
    /// <summary>A display name reported and stamped on every detections message. Default <c>blazeface-front</c>.</summary>
    [Required, StringLength(128, MinimumLength = 1)]
    public string Name { get; set; } = "blazeface-front";

    /// <summary>A version string reported and stamped on every detections message. Default <c>1.2.0</c>.</summary>
    [StringLength(64)]
    public string Version { get; set; } = "1.2.0";

    /// <summary>Where to get the model: <c>https://</c>, <c>http://</c>, <c>file://</c> or an absolute path. Default: the cached BlazeFace front 128 asset.</summary>
    [Required, StringLength(2048, MinimumLength = 1)]
    public string Url { get; set; } = DefaultModelUrl;

    /// <summary>Expected SHA-256 of the model file (hex). Required for http(s) URLs; optional for local files (then computed and reported).</summary>
    [RegularExpression("^[0-9a-fA-F]{64}$", ErrorMessage = "sha256 must be 64 hex digits")]
    public string? Sha256 { get; set; }

    /// <summary>Post-processing family. Default <c>blazeface</c>.</summary>
    public ModelProfile Profile { get; set; } = ModelProfile.Blazeface;

    /// <summary>Optional labels file (one label a line; http(s) or file). Default: none (the profile's labels or class ids).</summary>
    [StringLength(2048)]
    public string? LabelsUrl { get; set; }

    /// <summary>Optional expected SHA-256 of the labels file.</summary>
    [RegularExpression("^[0-9a-fA-F]{64}$", ErrorMessage = "labelsSha256 must be 64 hex digits")]
    public string? LabelsSha256 { get; set; }

    /// <summary>Input tensor layout. Default <c>auto</c> (from metadata).</summary>
    public TensorLayout Layout { get; set; } = TensorLayout.Auto;

    /// <summary>Input width in pixels; 0 = from metadata (required when the model's width is dynamic).</summary>
    [Range(0, 4096)]
    public int InputWidth { get; set; }

    /// <summary>Input height in pixels; 0 = from metadata.</summary>
    [Range(0, 4096)]
    public int InputHeight { get; set; }

    /// <summary>Channel order. Default: the profile's (RGB for all built-in profiles).</summary>
    public ColorOrder? ColorOrder { get; set; }

    /// <summary>How the frame is fitted to the input. Default: the profile's (letterbox).</summary>
    public ResizeMode? Resize { get; set; }

    /// <summary>Per-channel mean subtracted from 0–255 pixel values (float inputs). Default: the profile's.</summary>
    [ExactLength(3)]
    public float[]? Mean { get; set; }

    /// <summary>Per-channel divisor applied after the mean (float inputs). Default: the profile's.</summary>
    [ExactLength(3)]
    public float[]? Std { get; set; }

    /// <summary>YOLO output layout. Default <c>auto</c>.</summary>
    public YoloLayout YoloLayout { get; set; } = YoloLayout.Auto;

    /// <summary>SSD box coordinate order. Default <c>yxyx</c>.</summary>
    public BoxFormat BoxFormat { get; set; } = BoxFormat.Yxyx;

    /// <summary>Added to SSD class ids before the label lookup (e.g. -1 for 1-based TF ids with a 0-based labels file). Default 0.</summary>
    [Range(-1000, 1000)]
    public int ClassIdOffset { get; set; }

    /// <summary>Classification: how many top classes to emit (then filtered by thresholds). Default 5.</summary>
    [Range(1, 1000)]
    public int TopK { get; set; } = 5;

    /// <summary>
    /// The model URL used when nothing else is configured: the BlazeFace front 128 model fetched and verified by
    /// <c>eng/assets.sh</c> (<c>$EDGE_ASSETS_DIR</c>, else <c>~/.cache/edge-assets</c>; <c>/app/models</c> in the image).
    /// </summary>
    public static string DefaultModelUrl
    {
        get
        {
            const string File = "face_detection_front_128x128_barracuda.onnx";
            var dir = Environment.GetEnvironmentVariable("EDGE_ASSETS_DIR") is { Length: > 0 } d
                ? d
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "edge-assets");
            var path = System.IO.File.Exists("/app/models/" + File) ? "/app/models/" + File : Path.Combine(dir, File);
            return new Uri(path).AbsoluteUri;
        }
    }

    /// <summary>A deep copy.</summary>
    public ModelSettings Clone()
    {
        var c = (ModelSettings)MemberwiseClone();
        c.Mean = Mean?.ToArray();
        c.Std = Std?.ToArray();
        return c;
    }
}

/// <summary>
/// An array (when set) has exactly <see cref="Length"/> elements: the trim- and AOT-safe form of
/// <c>[MinLength(n), MaxLength(n)]</c> (which find <c>Count</c> by reflection), with their messages.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class ExactLengthAttribute(int length) : ValidationAttribute
{
    public int Length { get; } = length;

    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        if (value is not Array { Length: var n } || n == Length)
        {
            return ValidationResult.Success;
        }

        var name = validationContext.DisplayName;
        var message = n < Length
            ? $"The field {name} must be a string or array type with a minimum length of '{Length}'."
            : $"The field {name} must be a string or array type with a maximum length of '{Length}'.";
        return new ValidationResult(message, validationContext.MemberName is { } member ? [member] : null);
    }
}
