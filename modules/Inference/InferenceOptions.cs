using System.ComponentModel.DataAnnotations;

namespace Inference;

/// <summary>Inference module settings: env <c>Inference__*</c> (appsettings section <c>Inference</c>). See docs/configuration.md.</summary>
public sealed class InferenceOptions
{
    /// <summary>cpu, cuda, tensorrt or openvino; falls back to cpu with a reported error when the runtime lacks it. Default <c>cpu</c>.</summary>
    [Required, RegularExpression("^(?i)(cpu|cuda|tensorrt|openvino)$")]
    public string ExecutionProvider { get; set; } = "cpu";

    /// <summary>ONNX Runtime intra-op threads; 0 = one per core. Default 1 (steadier p99, leaves a core for decode on small devices).</summary>
    [Range(0, 64)]
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>
    /// Inference workers: frames of different cameras are processed concurrently, a camera's frames never are (its results
    /// keep their order). 1 = strictly serial; 0 = one per core (at most 16). Default 2.
    /// </summary>
    [Range(0, 16)]
    public int Workers { get; set; } = 2;

    /// <summary>Frames kept per camera while inference is busy; older ones are dropped (counted). Default 2.</summary>
    [Range(1, 64)]
    public int QueueCapacityPerCamera { get; set; } = 2;

    /// <summary>Send an empty detections message per camera at least this often (seconds); 0 = only when something is detected. Default 10.</summary>
    [Range(0, 86400)]
    public double HeartbeatSeconds { get; set; } = 10;

    /// <summary>Annotated JPEG frames per second per camera on output <c>annotated</c>; 0 = off. Default 2.</summary>
    [Range(0, 30)]
    public double AnnotatedFps { get; set; } = 2;

    /// <summary>JPEG quality of annotated frames. Default 75.</summary>
    [Range(10, 100)]
    public int AnnotatedJpegQuality { get; set; } = 75;

    /// <summary>How often statistics (latency p50/p99, frames processed/dropped) are reported (seconds). Default 30.</summary>
    [Range(1, 86400)]
    public double ReportIntervalSeconds { get; set; } = 30;

    /// <summary>Per-attempt timeout of a model/labels download (seconds). Default 120.</summary>
    [Range(1, 3600)]
    public double DownloadTimeoutSeconds { get; set; } = 120;

    /// <summary>Retries of a failed model/labels download (exponential backoff with jitter). Default 4.</summary>
    [Range(0, 20)]
    public int DownloadRetries { get; set; } = 4;

    /// <summary>First retry delay (seconds); doubles each retry, capped at 60 s. Default 2.</summary>
    [Range(0.001, 600)]
    public double DownloadRetryDelaySeconds { get; set; } = 2;

    /// <summary>Largest model file accepted (MB). Default 1024.</summary>
    [Range(1, 65536)]
    public int MaxModelSizeMb { get; set; } = 1024;

    /// <summary>
    /// Decode JPEGs at 1/2, 1/4 or 1/8 scale (libjpeg DCT scaling) when the frame's <c>width</c>/<c>height</c> properties show the
    /// reduced image still covers the model input; full size whenever an annotated frame is due. Default true.
    /// </summary>
    public bool ReducedDecode { get; set; } = true;

    /// <summary>
    /// When set, frames by reference (<c>frameRef</c>) must lie under this folder (the volume shared with the capture module);
    /// others are counted invalid and skipped. Default: empty (any absolute path).
    /// </summary>
    public string FrameRefRoot { get; set; } = "";

    /// <summary>Largest detections message (bytes); lower-scored detections are cut to fit edgeHub's 256 KB limit. Default 250000.</summary>
    [Range(1024, 262144)]
    public int MaxMessageBytes { get; set; } = 250_000;
}
