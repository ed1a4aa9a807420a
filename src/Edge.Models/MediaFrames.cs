using OpenCvSharp;

namespace Edge.Models;

/// <summary>Frames (BGR, as the module receives them) from a video file or a folder of images, spread evenly over the media.</summary>
internal static class MediaFrames
{
    private static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff" };

    /// <summary>
    /// Yields up to <paramref name="max"/> frames; the caller disposes each. A folder gives its images in name order; a video
    /// gives every k-th frame so that the frames cover the whole clip (every frame when <paramref name="max"/> is larger).
    /// </summary>
    public static IEnumerable<Mat> Read(string media, int max, CancellationToken ct)
    {
        if (Directory.Exists(media))
        {
            return ReadFolder(media, max, ct);
        }

        return File.Exists(media)
            ? ReadVideo(media, max, ct)
            : throw new FileNotFoundException($"{media}: no such video file or folder; give a video (e.g. .avi, .mp4) or a folder of images", media);
    }

    private static IEnumerable<Mat> ReadFolder(string folder, int max, CancellationToken ct)
    {
        var files = Directory.EnumerateFiles(folder).Where(f => ImageExtensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            throw new InvalidDataException($"{folder}: no images (.jpg, .png, .bmp, .webp, .tif) in the folder");
        }

        var step = Math.Max(1.0, (double)files.Count / max);
        for (var k = 0; k < max && (int)(k * step) < files.Count; k++)
        {
            ct.ThrowIfCancellationRequested();
            var file = files[(int)(k * step)];
            var mat = Cv2.ImRead(file, ImreadModes.Color);
            if (mat.Empty())
            {
                mat.Dispose();
                throw new InvalidDataException($"{file}: not a readable image");
            }

            yield return mat;
        }
    }

    private static IEnumerable<Mat> ReadVideo(string path, int max, CancellationToken ct)
    {
        using var capture = new VideoCapture(path);
        if (!capture.IsOpened())
        {
            throw new InvalidDataException($"{path}: not a video OpenCV can decode; give a video file or a folder of images");
        }

        var count = (int)capture.Get(VideoCaptureProperties.FrameCount);
        var step = count > max ? (double)count / max : 1.0;
        var next = 0.0;
        var yielded = 0;
        using var frame = new Mat();
        for (var i = 0; yielded < max && capture.Read(frame) && !frame.Empty(); i++)
        {
            ct.ThrowIfCancellationRequested();
            if (i < (int)next)
            {
                continue;
            }

            next += step;
            yielded++;
            yield return frame.Clone();
        }

        if (yielded == 0)
        {
            throw new InvalidDataException($"{path}: no frame could be decoded");
        }
    }
}
