using OpenCvSharp;

namespace CameraCapture;

/// <summary>
/// Motion against a running background (Frigate-style): the frame is reduced to 160 px wide grey, blurred, compared with
/// an exponentially weighted background, and the score is the fraction of pixels that differ by more than the pixel delta.
/// </summary>
internal sealed class MotionGate : IDisposable
{
    private const int WorkWidth = 160;
    private const double BackgroundAlpha = 0.05;

    private readonly Mat _small = new();
    private readonly Mat _gray = new();
    private readonly Mat _background = new();
    private readonly Mat _background8 = new();
    private readonly Mat _diff = new();

    /// <summary>Scores <paramref name="frame"/> (0 = identical to the background, 1 = everything changed) and updates the background.</summary>
    public double Score(Mat frame, int pixelDelta)
    {
        var h = Math.Max(1, (int)Math.Round(frame.Rows * (double)WorkWidth / frame.Cols));
        Cv2.Resize(frame, _small, new Size(WorkWidth, h), 0, 0, InterpolationFlags.Area);
        if (_small.Channels() == 1)
        {
            _small.CopyTo(_gray);
        }
        else
        {
            Cv2.CvtColor(_small, _gray, ColorConversionCodes.BGR2GRAY);
        }

        Cv2.GaussianBlur(_gray, _gray, new Size(5, 5), 0);
        if (_background.Empty() || _background.Size() != _gray.Size())
        {
            _gray.ConvertTo(_background, MatType.CV_32FC1);
            return 1.0;
        }

        _background.ConvertTo(_background8, MatType.CV_8UC1);
        Cv2.Absdiff(_gray, _background8, _diff);
        Cv2.Threshold(_diff, _diff, pixelDelta, 255, ThresholdTypes.Binary);
        var score = Cv2.CountNonZero(_diff) / (double)(_diff.Rows * _diff.Cols);
        Cv2.AccumulateWeighted(_gray, _background, BackgroundAlpha, null!);
        return score;
    }

    /// <summary>Forgets the background (after a reconnect the scene may have changed).</summary>
    public void Reset() => _background.Release();

    public void Dispose()
    {
        _small.Dispose();
        _gray.Dispose();
        _background.Dispose();
        _background8.Dispose();
        _diff.Dispose();
    }
}
