using OpenCvSharp;

namespace CameraCapture;

/// <summary>
/// A cheap exact fingerprint for frozen-frame detection: a 64x48 nearest-neighbour sample of the frame's own pixels.
/// Nearest-neighbour keeps sensor noise (no averaging), so a live but static scene still changes while a frozen
/// stream, which repeats the same decoded frame, gives identical fingerprints.
/// </summary>
internal sealed class FrameFingerprint : IDisposable
{
    private readonly Mat _thumb = new();
    private byte[] _previous = [];
    private byte[] _current = [];

    /// <summary>Fingerprints <paramref name="frame"/> and says whether it is identical to the previous one.</summary>
    public bool SameAsPrevious(Mat frame)
    {
        Cv2.Resize(frame, _thumb, new Size(64, 48), 0, 0, InterpolationFlags.Nearest);
        var length = (int)(_thumb.Total() * _thumb.ElemSize());
        if (_current.Length != length)
        {
            _current = new byte[length];
        }

        System.Runtime.InteropServices.Marshal.Copy(_thumb.Data, _current, 0, length);
        var same = _previous.AsSpan().SequenceEqual(_current);
        (_previous, _current) = (_current, _previous);
        return same;
    }

    public void Reset() => _previous = [];

    public void Dispose() => _thumb.Dispose();
}
