using System.Globalization;
using System.Runtime.InteropServices;
using OpenCvSharp;

namespace CameraCapture;

/// <summary>
/// A deterministic test pattern: a fixed gradient background, a circle and a square moving with the frame number
/// (unless static), and the camera id, frame number and capture time drawn in. Frame n is the frame at media time n/fps.
/// </summary>
internal sealed class SyntheticSource : IFrameSource
{
    private const int GrainSeed = 4242;
    private const int GrainRange = 48;

    private readonly SourceSpec _spec;
    private readonly string _cameraId;
    private readonly TimeProvider _timeProvider;

    // The background is drawn row by row into the destination each frame instead of being kept as a second full-size BGR
    // frame (2.7 MB at 1280x720): it keeps the red plane (0.9 MB) and one row of pixels whose blue never changes.
    private readonly byte[] _row;
    private readonly Mat _red;
    private readonly byte[] _redRow;
    private long _last = -1;

    public SyntheticSource(SourceSpec spec, string cameraId, TimeProvider timeProvider)
    {
        _spec = spec;
        _cameraId = cameraId;
        _timeProvider = timeProvider;
        _row = new byte[spec.Width * 3];
        _red = MakeRedPlane(spec.Width, spec.Height);
        _redRow = new byte[spec.Width];
        for (var x = 0; x < spec.Width; x++)
        {
            _row[x * 3] = (byte)Gradient(x, spec.Width);
        }
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
        int w = _spec.Width, h = _spec.Height;
        DrawBackground(destination, w, h);
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

    public void Dispose() => _red.Dispose();

    private static double PingPong(double value, double period)
    {
        var p = value % period;
        return p <= period / 2 ? p : period - p;
    }

    /// <summary>
    /// A smooth gradient with a fine grain, so JPEG sizes are realistic rather than trivially small: blue follows x, green
    /// follows y, red is their mean (rounded half to even, as OpenCV's <c>AddWeighted</c>) plus a seeded grain of 0-47,
    /// saturated. Only the red plane is kept (a third of a frame, native like the frames); blue and green are drawn from their
    /// gradients each frame.
    /// </summary>
    private static Mat MakeRedPlane(int w, int h)
    {
        var random = new Random(GrainSeed);
        var row = new byte[w];
        var plane = new Mat(h, w, MatType.CV_8UC1);
        for (var y = 0; y < h; y++)
        {
            // One NextBytes per row draws the same sequence as one call for the whole plane.
            random.NextBytes(row);
            var green = Gradient(y, h);
            for (var x = 0; x < row.Length; x++)
            {
                int sum = Gradient(x, w) + green;
                var value = (sum >> 1) + (sum & (sum >> 1) & 1) + (row[x] % GrainRange);
                row[x] = (byte)Math.Min(255, value);
            }

            Marshal.Copy(row, 0, plane.Ptr(y), w);
        }

        return plane;
    }

    private static int Gradient(int i, int length) => i * 255 / Math.Max(1, length - 1);

    private void DrawBackground(Mat destination, int w, int h)
    {
        destination.Create(h, w, MatType.CV_8UC3);
        var row = _row.AsSpan(0, w * 3);
        var red = _redRow.AsSpan(0, w);
        for (var y = 0; y < h; y++)
        {
            var green = (byte)Gradient(y, h);
            Marshal.Copy(_red.Ptr(y), _redRow, 0, w);
            for (int x = 0, i = 0; x < red.Length && i + 2 < row.Length; x++, i += 3)
            {
                row[i + 1] = green;
                row[i + 2] = red[x];
            }

            Marshal.Copy(_row, 0, destination.Ptr(y), w * 3);
        }
    }
}
