using System.Globalization;
using OpenCvSharp;

namespace CameraCapture;

/// <summary>
/// A deterministic test pattern: a fixed gradient background, a circle and a square moving with the frame number
/// (unless static), and the camera id, frame number and capture time drawn in. Frame n is the frame at media time n/fps.
/// </summary>
internal sealed class SyntheticSource : IFrameSource
{
    private readonly SourceSpec _spec;
    private readonly string _cameraId;
    private readonly TimeProvider _timeProvider;
    private readonly Mat _background;
    private long _last = -1;

    public SyntheticSource(SourceSpec spec, string cameraId, TimeProvider timeProvider)
    {
        _spec = spec;
        _cameraId = cameraId;
        _timeProvider = timeProvider;
        _background = MakeBackground(spec.Width, spec.Height);
    }

    public bool IsLive => false;

    public long SkippedFrames { get; private set; }

    public string? LastError => null;

    public ReadStatus Read(TimeSpan mediaTime, Mat destination)
    {
        var n = (long)Math.Floor(mediaTime.TotalSeconds * _spec.Fps);
        if (n <= _last)
        {
            return ReadStatus.NoNewFrame;
        }

        if (_last >= 0)
        {
            SkippedFrames += n - _last - 1;
        }

        _last = n;
        Render(n, destination);
        return ReadStatus.Frame;
    }

    /// <summary>Draws frame <paramref name="n"/> into <paramref name="destination"/>.</summary>
    public void Render(long n, Mat destination)
    {
        _background.CopyTo(destination);
        int w = _spec.Width, h = _spec.Height;
        var scale = Math.Max(0.4, h / 480.0);
        if (!_spec.Static)
        {
            var r = Math.Max(4, h / 10);
            var period = 2.0 * (w - (2 * r));
            var x = r + (int)PingPong(n * w / 60.0, period);
            var y = (h / 2) + (int)((h / 4) * Math.Sin(n / 15.0));
            Cv2.Circle(destination, new Point(x, y), r, new Scalar(40, 200, 255), -1, LineTypes.AntiAlias);
            var s = Math.Max(4, h / 8);
            var sx = (int)PingPong(n * w / 90.0, 2.0 * (w - s));
            Cv2.Rectangle(destination, new Rect(sx, h - s - (h / 12), s, s), new Scalar(255, 80, 60), -1);
        }

        var now = _timeProvider.GetUtcNow().ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);
        Cv2.PutText(destination, $"{_cameraId} #{n}", new Point(8, (int)(28 * scale)), HersheyFonts.HersheySimplex, 0.8 * scale, Scalar.White, Math.Max(1, (int)(2 * scale)), LineTypes.AntiAlias);
        Cv2.PutText(destination, now, new Point(8, (int)(56 * scale)), HersheyFonts.HersheySimplex, 0.5 * scale, Scalar.White, 1, LineTypes.AntiAlias);
    }

    public void Dispose() => _background.Dispose();

    private static double PingPong(double value, double period)
    {
        var p = value % period;
        return p <= period / 2 ? p : period - p;
    }

    private static Mat MakeBackground(int w, int h)
    {
        // A smooth gradient with a fine checker texture, so JPEG sizes are realistic rather than trivially small.
        using var xs = new Mat(1, w, MatType.CV_8UC1);
        using var ys = new Mat(h, 1, MatType.CV_8UC1);
        for (var x = 0; x < w; x++)
        {
            xs.At<byte>(0, x) = (byte)(x * 255 / Math.Max(1, w - 1));
        }

        for (var y = 0; y < h; y++)
        {
            ys.At<byte>(y, 0) = (byte)(y * 255 / Math.Max(1, h - 1));
        }

        using var blue = new Mat();
        using var green = new Mat();
        Cv2.Repeat(xs, h, 1, blue);
        Cv2.Repeat(ys, 1, w, green);
        using var red = new Mat(h, w, MatType.CV_8UC1);
        using var noise = new Mat(h, w, MatType.CV_8UC1);
        var grain = new byte[w * h];
        new Random(4242).NextBytes(grain);
        for (var i = 0; i < grain.Length; i++)
        {
            grain[i] = (byte)(grain[i] % 48);
        }

        System.Runtime.InteropServices.Marshal.Copy(grain, 0, noise.Data, grain.Length);
        Cv2.AddWeighted(blue, 0.5, green, 0.5, 0, red);
        Cv2.Add(red, noise, red);
        var background = new Mat();
        Cv2.Merge([blue, green, red], background);
        return background;
    }
}
