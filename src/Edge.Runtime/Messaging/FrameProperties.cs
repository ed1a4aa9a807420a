namespace Edge.Runtime;

/// <summary>
/// Application property names of a frame message (CameraCapture's <c>frames</c> output, Inference's <c>frames</c> input) and
/// of the result messages that carry a frame's identity on (<see cref="CameraId"/>, <see cref="Seq"/>, <see cref="CapturedAt"/>).
/// One definition for the sender and the receiver; routes query them as <c>cameraId = 'cam1'</c>, etc. (docs/routes.md).
/// </summary>
public static class FrameProperties
{
    /// <summary>The camera's id (the <c>cameras</c> key in CameraCapture's settings).</summary>
    public const string CameraId = "cameraId";

    /// <summary>The frame's sequence number per camera (decimal; survives restarts).</summary>
    public const string Seq = "seq";

    /// <summary>When the frame was captured (ISO 8601, UTC): end-to-end latency is measured from it.</summary>
    public const string CapturedAt = "capturedAt";

    /// <summary>The encoded image's width in pixels (decimal).</summary>
    public const string Width = "width";

    /// <summary>The encoded image's height in pixels (decimal).</summary>
    public const string Height = "height";

    /// <summary><c>true</c> on a frame sent only to show the camera is alive (the motion gate held the others back).</summary>
    public const string KeepAlive = "keepAlive";

    /// <summary>The motion gate's score for this frame (invariant decimal), when the gate is on.</summary>
    public const string MotionScore = "motionScore";

    /// <summary>Path of the frame on the shared volume when frames travel by reference (the body is then a small JSON).</summary>
    public const string FrameRef = "frameRef";

    /// <summary>Size in bytes of the frame file named by <see cref="FrameRef"/> (decimal).</summary>
    public const string FrameSize = "frameSize";

    /// <summary>SHA-256 (hex) of the frame file named by <see cref="FrameRef"/>: the receiver checks it before decoding.</summary>
    public const string FrameSha256 = "frameSha256";

    /// <summary>On result messages: the name of the model that produced them.</summary>
    public const string Model = "model";
}
