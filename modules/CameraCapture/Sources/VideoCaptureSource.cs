using OpenCvSharp;

namespace CameraCapture;

/// <summary>
/// OpenCV <see cref="VideoCapture"/>: V4L2 devices, network streams and video files through the bundled FFmpeg.
/// Files are pulled at their native rate relative to the media clock (frames in between are grabbed, not decoded);
/// devices and streams are live.
/// </summary>
internal sealed class VideoCaptureSource : IFrameSource
{
    // cv::CAP_PROP_OPEN_TIMEOUT_MSEC and cv::CAP_PROP_READ_TIMEOUT_MSEC (not in OpenCvSharp's enum).
    private const int OpenTimeoutProperty = 53;
    private const int ReadTimeoutProperty = 54;

    private readonly VideoCapture _capture;
    private readonly bool _loop;
    private readonly double _nativeFps;
    private long _position;   // index of the next frame the decoder returns
    private long _loopBase;   // media-frame index at which the current pass of a looping file started
    private long _delivered = -1;

    private VideoCaptureSource(VideoCapture capture, bool isLive, bool loop)
    {
        _capture = capture;
        IsLive = isLive;
        _loop = loop;
        var fps = capture.Get(VideoCaptureProperties.Fps);
        _nativeFps = double.IsFinite(fps) && fps is > 0.5 and < 1000 ? fps : 25;
    }

    public bool IsLive { get; }

    public long SkippedFrames { get; private set; }

    public string? LastError { get; private set; }

    /// <summary>The file's or stream's frame rate as reported by the container (25 when unknown).</summary>
    public double NativeFps => _nativeFps;

    public static VideoCaptureSource Open(SourceSpec spec, CameraSettings camera)
    {
        var timeoutMs = (int)Math.Clamp(camera.StallTimeoutSeconds * 1000, 1000, 60_000);
        VideoCapture capture;
        switch (spec.Kind)
        {
            case SourceKind.Device:
                capture = spec.DeviceIndex >= 0
                    ? new VideoCapture(spec.DeviceIndex, VideoCaptureAPIs.V4L2)
                    : OpenPath(spec.Location, VideoCaptureAPIs.V4L2, timeoutMs);
                if (!capture.IsOpened())
                {
                    capture.Dispose();
                    throw new SourceOpenException($"cannot open video device '{spec.Location}' (missing, busy or not a capture device)", permanent: false);
                }

                // Keep the driver's queue short so the reader always sees the newest frame.
                capture.Set(VideoCaptureProperties.BufferSize, 1);
                return new VideoCaptureSource(capture, isLive: true, loop: false);

            case SourceKind.Stream:
                capture = OpenPath(spec.Location, VideoCaptureAPIs.FFMPEG, timeoutMs);
                if (!capture.IsOpened())
                {
                    capture.Dispose();
                    throw new SourceOpenException($"cannot open stream '{spec}' (unreachable, refused, wrong credentials or unsupported codec)", permanent: false);
                }

                return new VideoCaptureSource(capture, isLive: true, loop: false);

            default:
                if (!File.Exists(spec.Location))
                {
                    throw new SourceOpenException($"video file '{spec.Location}' does not exist", permanent: true);
                }

                capture = OpenPath(spec.Location, VideoCaptureAPIs.FFMPEG, timeoutMs);
                if (!capture.IsOpened())
                {
                    capture.Dispose();
                    throw new SourceOpenException($"cannot decode video file '{spec.Location}' (unsupported container or codec)", permanent: true);
                }

                using (var probe = new Mat())
                {
                    if (!capture.Read(probe) || probe.Empty())
                    {
                        capture.Dispose();
                        throw new SourceOpenException($"video file '{spec.Location}' has no decodable frames (unsupported codec or corrupt file)", permanent: true);
                    }
                }

                capture.Set(VideoCaptureProperties.PosFrames, 0);
                return new VideoCaptureSource(capture, isLive: false, loop: camera.Loop);
        }
    }

    public ReadStatus Read(TimeSpan mediaTime, Mat destination)
    {
        if (IsLive)
        {
            if (_capture.Read(destination) && !destination.Empty())
            {
                return ReadStatus.Frame;
            }

            LastError = "the source returned no frame (disconnected or read timeout)";
            return ReadStatus.Failed;
        }

        // Files: the frame for this media time is floor(t * fps); frames before it are grabbed without decoding.
        var target = (long)Math.Floor(mediaTime.TotalSeconds * _nativeFps) - _loopBase;
        if (target <= _delivered)
        {
            return ReadStatus.NoNewFrame;
        }

        for (var rewound = false; ;)
        {
            while (_position < target)
            {
                if (!_capture.Grab())
                {
                    break;
                }

                _position++;
                SkippedFrames++;
            }

            if (_position == target && _capture.Read(destination) && !destination.Empty())
            {
                _position++;
                _delivered = target;
                return ReadStatus.Frame;
            }

            // End of file.
            if (!_loop || rewound || _position == 0)
            {
                LastError = _position == 0 ? "the file returned no frames" : null;
                return _position == 0 ? ReadStatus.Failed : ReadStatus.EndOfStream;
            }

            _capture.Set(VideoCaptureProperties.PosFrames, 0);
            _loopBase += _position;
            target -= _position;
            _position = 0;
            _delivered = -1;
            rewound = true;
        }
    }

    public void Dispose() => _capture.Dispose();

    private static VideoCapture OpenPath(string path, VideoCaptureAPIs api, int timeoutMs) =>
        new(path, api, [OpenTimeoutProperty, timeoutMs, ReadTimeoutProperty, timeoutMs]);
}
