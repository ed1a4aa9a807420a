using OpenCvSharp;

namespace CameraCapture;

/// <summary>A JPEG and what it took to make it.</summary>
internal sealed record EncodedJpeg(byte[] Bytes, int Width, int Height, int Quality, int Reductions);

/// <summary>Resizes and JPEG-encodes frames, reducing quality and then size until the result fits a byte budget.</summary>
internal sealed class FrameEncoder : IDisposable
{
    private const int MinQuality = 30;
    private const int MinSide = 32;

    private readonly Mat _resized = new();
    private readonly Mat _shrunk = new();

    /// <summary>The output size for a <paramref name="source"/> size and requested width/height (0 = keep or follow aspect).</summary>
    public static Size TargetSize(Size source, int width, int height)
    {
        if (width <= 0 && height <= 0)
        {
            return source;
        }

        if (width > 0 && height > 0)
        {
            return new Size(width, height);
        }

        return width > 0
            ? new Size(width, Math.Max(1, (int)Math.Round(source.Height * (double)width / source.Width)))
            : new Size(Math.Max(1, (int)Math.Round(source.Width * (double)height / source.Height)), height);
    }

    /// <summary>
    /// Encodes <paramref name="frame"/> at <paramref name="size"/> and <paramref name="quality"/>; while the JPEG exceeds
    /// <paramref name="maxBytes"/>, lowers the quality in steps to 30 and then scales the image down by 0.75 per step.
    /// Returns null when not even a tiny image fits.
    /// </summary>
    public EncodedJpeg? Encode(Mat frame, Size size, int quality, int maxBytes)
    {
        var source = frame;
        if (size != frame.Size())
        {
            Cv2.Resize(frame, _resized, size, 0, 0, size.Width < frame.Cols ? InterpolationFlags.Area : InterpolationFlags.Linear);
            source = _resized;
        }

        var q = Math.Clamp(quality, 1, 100);
        var reductions = 0;
        var current = source;
        while (true)
        {
            Cv2.ImEncode(".jpg", current, out var bytes, [(int)ImwriteFlags.JpegQuality, q]);
            if (bytes.Length <= maxBytes)
            {
                return new EncodedJpeg(bytes, current.Cols, current.Rows, q, reductions);
            }

            reductions++;
            if (q > MinQuality)
            {
                // Aim at the budget: JPEG size falls roughly linearly with quality in this range.
                var ratio = maxBytes / (double)bytes.Length;
                q = Math.Max(MinQuality, Math.Min(q - 5, (int)(q * ratio)));
                continue;
            }

            var next = new Size((int)(current.Cols * 0.75), (int)(current.Rows * 0.75));
            if (next.Width < MinSide || next.Height < MinSide)
            {
                return null;
            }

            Cv2.Resize(current, _shrunk, next, 0, 0, InterpolationFlags.Area);
            current = _shrunk;
            q = Math.Min(Math.Clamp(quality, 1, 100), 70);
        }
    }

    public void Dispose()
    {
        _resized.Dispose();
        _shrunk.Dispose();
    }
}
