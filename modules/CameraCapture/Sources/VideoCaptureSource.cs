using OpenCvSharp;

namespace CameraCapture;

/// <summary>
/// OpenCV <see cref="VideoCapture"/>: V4L2 devices, network streams and video files through the bundled FFmpeg.
/// Files are pulled at their native rate relative to the media clock (frames in between are grabbed, not decoded);
/// devices and streams are live. Motion-JPEG files are read as compressed packets and decoded with libjpeg-turbo (SIMD), which
/// costs about half of FFmpeg's MJPEG decoder and colour conversion in the bundled build, and makes skipped frames free.
/// </summary>
internal sealed class VideoCaptureSource : IFrameSource
{
    // cv::CAP_PROP_OPEN_TIMEOUT_MSEC and cv::CAP_PROP_READ_TIMEOUT_MSEC (not in OpenCvSharp's enum).
    private const int OpenTimeoutProperty = 53;
    private const int ReadTimeoutProperty = 54;

    // cv::CAP_PROP_FORMAT = -1: VideoCapture returns the demuxed packet instead of decoding it.
    private const double RawPackets = -1;

    private readonly VideoCapture _capture;
    private readonly Mat? _packet;
    private readonly bool _loop;
    private readonly double _nativeFps;
    private long _position;   // index of the next frame the decoder returns
    private long _loopBase;   // media-frame index at which the current pass of a looping file started
    private long _delivered = -1;

    private VideoCaptureSource(VideoCapture capture, bool isLive, bool loop, Mat? packet = null)
    {
        _capture = capture;
        _packet = packet;
        IsLive = isLive;
        _loop = loop;
        var fps = capture.Get(VideoCaptureProperties.Fps);
        _nativeFps = double.IsFinite(fps) && fps is > 0.5 and < 1000 ? fps : 25;
    }

    public bool IsLive { get; }

    public long SkippedFrames { get; private set; }

    public string? LastError { get; private set; }

    /// <summary>Packets that did not decode (corrupt frames of a Motion-JPEG file); the file keeps playing.</summary>
    public long ReadErrors { get; private set; }

    /// <summary>True when frames are decoded from Motion-JPEG packets with libjpeg-turbo rather than by FFmpeg.</summary>
    public bool DecodesPackets => _packet is not null;

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
                var packet = TryPacketMode(capture, out var unusable);
                if (unusable)
                {
                    // Packet mode cannot be switched off again: reopen the file and let FFmpeg decode it.
                    capture.Dispose();
                    capture = OpenPath(spec.Location, VideoCaptureAPIs.FFMPEG, timeoutMs);
                }

                return new VideoCaptureSource(capture, isLive: false, loop: camera.Loop, packet);
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

        // Files: the frame for this media time is frame t * fps. The next frame is due from half a frame early (a pacer ticking at
        // the file's own rate, with an arbitrary phase and timer jitter, must not alternate between "nothing new" and a skip) until a
        // whole frame late; beyond that the reader catches up to floor(t * fps), grabbing the frames in between without decoding.
        var exact = (mediaTime.TotalSeconds * _nativeFps) - _loopBase;
        var next = _delivered + 1;
        if (exact < next - 0.5)
        {
            return ReadStatus.NoNewFrame;
        }

        var target = exact < next + 1 ? next : (long)Math.Floor(exact);

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

            if (_position == target && _packet is not null)
            {
                if (_capture.Read(_packet) && !_packet.Empty())
                {
                    _position++;
                    _delivered = target;
                    if (Decode(_packet, destination))
                    {
                        return ReadStatus.Frame;
                    }

                    ReadErrors++;
                    LastError = $"frame {target} of the Motion-JPEG file could not be decoded";
                    return ReadStatus.NoNewFrame;
                }
            }
            else if (_position == target && _capture.Grab() && _capture.Retrieve(destination) && !destination.Empty())
            {
                // Grab, then retrieve: at the end of the file Read would release the destination, which holds the last frame.
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

    public void Dispose()
    {
        _capture.Dispose();
        _packet?.Dispose();
    }

    /// <summary>
    /// Switches a Motion-JPEG file (at its first frame) to packet mode when the first packet decodes to a frame of the stream's
    /// size; returns the packet buffer, or null (FFmpeg keeps decoding) for other codecs or when the switch does not work
    /// (<paramref name="unusable"/>: the capture was switched and must be reopened).
    /// </summary>
    private static Mat? TryPacketMode(VideoCapture capture, out bool unusable)
    {
        unusable = false;
        var fourcc = (int)capture.Get(VideoCaptureProperties.FourCC);
        if (fourcc != VideoWriter.FourCC('M', 'J', 'P', 'G') || !capture.Set(VideoCaptureProperties.Format, RawPackets))
        {
            return null;
        }

        var packet = new Mat();
        using var frame = new Mat();
        var ok = capture.Read(packet) && !packet.Empty() && packet.Type() == MatType.CV_8UC1 && Decode(packet, frame) &&
            frame.Cols == (int)capture.Get(VideoCaptureProperties.FrameWidth) && frame.Rows == (int)capture.Get(VideoCaptureProperties.FrameHeight);
        capture.Set(VideoCaptureProperties.PosFrames, 0);
        if (!ok)
        {
            // Rare: a file that says MJPG but holds something else.
            packet.Dispose();
            unusable = true;
            return null;
        }

        return packet;
    }

    private static bool Decode(Mat packet, Mat destination)
    {
        using var decoded = Cv2.ImDecode(packet, ImreadModes.Color);
        if (decoded.Empty())
        {
            return false;
        }

        decoded.CopyTo(destination);
        return true;
    }

    private static VideoCapture OpenPath(string path, VideoCaptureAPIs api, int timeoutMs) =>
        new(path, api, [OpenTimeoutProperty, timeoutMs, ReadTimeoutProperty, timeoutMs]);
}
